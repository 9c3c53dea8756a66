package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readmeSection returns the text of README.md from the heading to the next
// heading of the same level.
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(data), "\n"+heading+"\n")
	require.True(t, ok, "README.md has no %q section", heading)
	section, _, _ := strings.Cut(rest, "\n## ")
	return section
}

// shellBlocks returns the ```sh blocks of a piece of Markdown.
func shellBlocks(markdown string) []string {
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(markdown, -1) {
		blocks = append(blocks, m[1])
	}
	return blocks
}

// TestReadmeTour runs every command of the README's tour, as written, from a
// directory laid out like the repository (bin/pebble, examples/) against a
// daemon started the way `make run` starts it, on .run/.
func TestReadmeTour(t *testing.T) {
	blocks := shellBlocks(readmeSection(t, "## A short tour"))
	require.Len(t, blocks, 2, "the tour's shell blocks")
	require.True(t, strings.HasPrefix(blocks[0], "export PEBBLE=$PWD/.run\n"), "the tour starts by pointing at make run's directory:\n%s", blocks[0])

	top, err := os.MkdirTemp(runRoot, "tour-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(top) })
	require.NoError(t, os.Mkdir(filepath.Join(top, "bin"), 0o755))
	require.NoError(t, os.Symlink(pebbleBin, filepath.Join(top, "bin", "pebble")))
	examples, err := filepath.Abs(filepath.Join(repoRoot, "examples"))
	require.NoError(t, err)
	require.NoError(t, os.Symlink(examples, filepath.Join(top, "examples")))

	// make run: a fresh .run seeded with layers/*.yaml, `pebble run --verbose`.
	dir := filepath.Join(top, ".run")
	layers, err := filepath.Glob(filepath.Join(repoRoot, "layers", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, layers)
	files := map[string]string{}
	for _, l := range layers {
		data, err := os.ReadFile(l)
		require.NoError(t, err)
		files[filepath.Base(l)] = string(data)
	}
	require.NoError(t, os.Mkdir(dir, 0o700))
	writeLayers(t, dir, files)
	d := startDaemon(t, dir, daemonOptions{args: []string{"--verbose"}})
	require.Equal(t, "Done", d.waitAutostart().Status)

	if _, err := exec.LookPath("curl"); err != nil {
		t.Logf("curl not found: the API block of the tour is not run")
		blocks = blocks[:1]
	}
	for _, block := range blocks {
		cmd := exec.CommandContext(t.Context(), "/bin/sh", "-e", "-x", "-c", block)
		cmd.Dir = top
		cmd.Env = append(cleanEnv(), "XDG_CONFIG_HOME="+filepath.Join(top, "cli-config"))
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "a tour command failed:\n%s", out)
	}

	status := map[string]string{}
	for _, s := range d.services() {
		status[s.Name] = s.Current
	}
	assert.Equal(t, map[string]string{"db": "active", "web": "active", "cache": "active"}, status)
	want, err := os.ReadFile(filepath.Join(examples, "app.conf"))
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(dir, "copy.conf"))
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got))
	d.stop()
}

// TestReadmeGoVersion: the README names the Go version go.mod requires.
func TestReadmeGoVersion(t *testing.T) {
	mod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
	require.NotNil(t, m, "no go line in go.mod")
	assert.Contains(t, readmeSection(t, "## The two commands"), "Go "+string(m[1])+" or newer")
}
