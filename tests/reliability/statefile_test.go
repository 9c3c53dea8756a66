package reliability

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStaleTemporariesRemoved leaves temporaries of the state file behind,
// as a daemon SIGKILLed between creating and renaming one does, and starts
// a daemon: they are gone, and files only named like them are kept.
func TestStaleTemporariesRemoved(t *testing.T) {
	dir := run.NewDir(t, nil)
	stale := []string{"..pebble.state.tmp-12345", "..pebble.state.tmp-4000000000"}
	kept := []string{"..pebble.state.tmp-12345.bak", "..pebble.state.tmp-x1", ".pebble.state.tmp-9", "..other.tmp-1"}
	for _, name := range append(stale, kept...) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(`{"half`), 0o600))
	}
	d := run.Start(t, dir)
	d.Stop()
	for _, name := range stale {
		assert.NoFileExists(t, filepath.Join(dir, name), "a stale temporary is left")
	}
	for _, name := range kept {
		assert.FileExists(t, filepath.Join(dir, name), "a file that is not a temporary of ours is removed")
	}
	assert.Contains(t, d.Stderr(), "Removed temporary state files left by a killed daemon: ")
	left := 0
	for _, name := range stale {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			left++
		}
	}
	t.Logf("figure: %d stale temporaries, %d left after a start (%d files named alike kept)", len(stale), left, len(kept))
}

// TestUnusableStateFileSetAside starts a daemon on state files that hold
// no usable state: each is moved aside, kept as it was, and reported by a
// log line and a warning notice, never loaded as an empty state silently.
func TestUnusableStateFileSetAside(t *testing.T) {
	for _, tc := range []struct{ name, content, reason string }{
		{"null", "null", "the file holds null, not a JSON object"},
		{"empty object", "{}", `no \"data\" object`},
		{"array", "[]", "the file holds an array, not a JSON object"},
		{"empty file", "", "the file is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := run.NewDir(t, nil)
			path := filepath.Join(dir, ".pebble.state")
			require.NoError(t, os.WriteFile(path, []byte(tc.content), 0o600))
			d := run.Start(t, dir)
			defer d.Stop()

			aside, err := filepath.Glob(path + ".corrupt-*")
			require.NoError(t, err)
			require.Len(t, aside, 1, "the unusable file is kept aside")
			content, err := os.ReadFile(aside[0])
			require.NoError(t, err)
			assert.Equal(t, tc.content, string(content))
			assert.Contains(t, d.Stderr(), "Cannot use state file: ")
			assert.Contains(t, strings.ReplaceAll(d.Stderr(), `\"`, `"`), strings.ReplaceAll(tc.reason, `\"`, `"`))

			status, env := d.MustRequest("GET", "/v1/notices?types=warning", nil)
			require.Equal(t, 200, status, env.Message())
			var warnings []struct {
				Key string `json:"key"`
			}
			require.NoError(t, json.Unmarshal(env.Result, &warnings))
			require.Len(t, warnings, 1, "one warning notice: %s", env.Result)
			assert.Contains(t, warnings[0].Key, "cannot use state file: ")
			assert.Contains(t, warnings[0].Key, filepath.Base(aside[0]))
			t.Logf("figure: state file %q set aside with warning %q", tc.content, warnings[0].Key)
		})
	}
}
