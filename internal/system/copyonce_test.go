package system

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeTree writes files (relative path → content) under root.
func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(root, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	}
}

func TestCopyOnceCopiesTree(t *testing.T) {
	src := t.TempDir()
	writeTree(t, src, map[string]string{"layers/001-base.yaml": "services: {}\n", "bin/tool": "#!/bin/sh\n"})
	require.NoError(t, os.Chmod(filepath.Join(src, "bin/tool"), 0o751))
	require.NoError(t, os.Chmod(filepath.Join(src, "bin"), 0o710))
	require.NoError(t, os.Symlink("bin/tool", filepath.Join(src, "link")))
	// A lock file in the source (a copied $PEBBLE) is not copied.
	writeTree(t, src, map[string]string{lockFileName: "x"})

	dst := filepath.Join(t.TempDir(), "pebble")
	require.NoError(t, copyOnce(src, dst))
	data, err := os.ReadFile(filepath.Join(dst, "layers/001-base.yaml"))
	require.NoError(t, err)
	assert.Equal(t, "services: {}\n", string(data))
	st, err := os.Stat(filepath.Join(dst, "bin/tool"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o751), st.Mode().Perm())
	st, err = os.Stat(filepath.Join(dst, "bin"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o710), st.Mode().Perm())
	link, err := os.Readlink(filepath.Join(dst, "link"))
	require.NoError(t, err)
	assert.Equal(t, "bin/tool", link)
	assert.NoFileExists(t, filepath.Join(dst, lockFileName))
}

func TestCopyOnceOnlyIntoEmpty(t *testing.T) {
	src := t.TempDir()
	writeTree(t, src, map[string]string{"layers/001-base.yaml": "new\n"})

	// A directory holding only the daemon's lock file counts as empty.
	locked := t.TempDir()
	writeTree(t, locked, map[string]string{lockFileName: ""})
	require.NoError(t, copyOnce(src, locked))
	assert.FileExists(t, filepath.Join(locked, "layers/001-base.yaml"))

	// Anything else makes it non-empty: nothing is copied or overwritten.
	used := t.TempDir()
	writeTree(t, used, map[string]string{"layers/001-base.yaml": "old\n"})
	require.NoError(t, copyOnce(src, used))
	data, err := os.ReadFile(filepath.Join(used, "layers/001-base.yaml"))
	require.NoError(t, err)
	assert.Equal(t, "old\n", string(data))

	// A missing source, a file as source or no source: nothing happens.
	file := filepath.Join(src, "layers/001-base.yaml")
	for _, s := range []string{"", filepath.Join(src, "missing"), file} {
		dst := filepath.Join(t.TempDir(), "pebble")
		require.NoError(t, copyOnce(s, dst), "source %q", s)
		assert.NoDirExists(t, dst, "source %q", s)
	}
}

// TestRunCopyOnce: PEBBLE_COPY_ONCE seeds a missing $PEBBLE, whose layers
// then run; a second daemon on the now non-empty directory copies nothing.
func TestRunCopyOnce(t *testing.T) {
	src := t.TempDir()
	dir := filepath.Join(t.TempDir(), "pebble")
	writeTree(t, src, map[string]string{"layers/001-base.yaml": `
services:
    svc:
        override: replace
        command: /bin/sh -c 'echo $$ > ` + dir + `/svc.pid; exec sleep 1000'
        startup: enabled
`})
	r := startRun(t, Options{Dir: dir, Persist: true, CopyOnce: src})
	r.waitReady(t)
	pid := readPID(t, filepath.Join(dir, "svc.pid"))
	assert.True(t, pidAlive(pid))
	_, err := r.stop(t)
	require.NoError(t, err)
	st, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), st.Mode().Perm())

	writeTree(t, src, map[string]string{"layers/002-more.yaml": "services: {}\n"})
	r = startRun(t, Options{Dir: dir, Persist: true, CopyOnce: src, Hold: true})
	r.waitReady(t)
	_, err = r.stop(t)
	require.NoError(t, err)
	assert.NoFileExists(t, filepath.Join(dir, "layers/002-more.yaml"))
}
