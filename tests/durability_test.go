package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/testutil"
)

// TestToldSurvivesSIGKILL: what a client was told — a notice's ID, an
// identity added, a change started — is on disk before the answer, so a
// daemon killed right after answering (SIGKILL, no shutdown) still has it
// when started again. The route table's durability flag does this in one
// place (internal/daemon).
func TestToldSurvivesSIGKILL(t *testing.T) {
	dir := newPebbleDir(t, map[string]string{"001-base.yaml": `
services:
    svc:
        override: replace
        command: sleep 1000
`})
	d := startDaemon(t, dir, daemonOptions{args: []string{"--hold"}})
	var notice struct {
		ID string `json:"id"`
	}
	d.sync("POST", "/v1/notices", strings.NewReader(`{"action":"add","type":"custom","key":"example.com/told"}`), &notice)
	require.NotEmpty(t, notice.ID)
	d.sync("POST", "/v1/identities", strings.NewReader(`{"action":"add","identities":{"dave":{"access":"read","local":{"user-id":4242}}}}`), nil)
	change := d.serviceAction("start", "svc")
	d.signal(syscall.SIGKILL)
	d.waitExit(exitTimeout)

	d = startDaemon(t, dir, daemonOptions{args: []string{"--hold"}})
	var got struct {
		Key string `json:"key"`
	}
	d.sync("GET", "/v1/notices/"+notice.ID, nil, &got)
	assert.Equal(t, "example.com/told", got.Key)
	var ids map[string]any
	d.sync("GET", "/v1/identities", nil, &ids)
	assert.Contains(t, ids, "dave")
	var chg struct {
		Kind string `json:"kind"`
	}
	d.sync("GET", "/v1/changes/"+change, nil, &chg)
	assert.Equal(t, "start", chg.Kind)
}

// TestAnswerWaitsForStateFile makes the state file unwritable (a directory
// where the file goes, so the atomic rename fails even for root): a
// durable answer is then a 500 naming the failure instead of a promise the
// disk does not hold, while answers that report nothing kept still work.
// Once the file can be written again, so can the answers.
func TestAnswerWaitsForStateFile(t *testing.T) {
	dir := newPebbleDir(t, nil)
	d := startDaemon(t, dir, daemonOptions{args: []string{"--hold"}})
	statePath := filepath.Join(dir, ".pebble.state")
	testutil.WaitFor(t, readyTimeout, func() error {
		_, err := os.Stat(statePath)
		return err
	})
	require.NoError(t, os.Remove(statePath))
	require.NoError(t, os.Mkdir(statePath, 0o700))

	notify := `{"action":"add","type":"custom","key":"example.com/k"}`
	status, env := d.request("POST", "/v1/notices", strings.NewReader(notify))
	require.Equal(t, 500, status, "%s", env.Result)
	assert.Contains(t, apiErrorOf(env).Message, "cannot save state: ")
	status, env = d.request("GET", "/v1/changes?select=all", nil)
	assert.Equal(t, 500, status, "%s", env.Result)
	for _, path := range []string{"/v1/services", "/v1/system-info", "/v1/plan?format=yaml"} {
		status, env = d.request("GET", path, nil)
		assert.Equal(t, 200, status, "%s: %s", path, env.Result)
	}

	require.NoError(t, os.Remove(statePath))
	// The state file reports its last write error until a write succeeds,
	// so the first answer after the repair may still be a 500.
	testutil.WaitFor(t, readyTimeout, func() error {
		if status, env := d.request("POST", "/v1/notices", strings.NewReader(notify)); status != 200 {
			return fmt.Errorf("status %d: %s", status, env.Result)
		}
		return nil
	})
	data, err := os.ReadFile(statePath)
	require.NoError(t, err)
	assert.Contains(t, string(data), "example.com/k")
}
