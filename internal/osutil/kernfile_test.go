package osutil

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadKernelFile: a file larger than the first buffer is read whole,
// and a missing one is fs.ErrNotExist.
func TestReadKernelFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	want := bytes.Repeat([]byte("0123456789"), 1000)
	require.NoError(t, os.WriteFile(path, want, 0o600))
	got, err := ReadKernelFile(path)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	_, err = ReadKernelFile(path + ".missing")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.ErrorContains(t, err, path+".missing")
	stat, err := ReadKernelFile("/proc/self/stat")
	require.NoError(t, err)
	assert.Contains(t, string(stat), ") ")
}

// TestCountDirEntries counts a directory's entries without "." and "..".
func TestCountDirEntries(t *testing.T) {
	dir := t.TempDir()
	n, err := CountDirEntries(dir)
	require.NoError(t, err)
	assert.Zero(t, n)
	for _, name := range []string{"a", "b", "c"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), nil, 0o600))
	}
	n, err = CountDirEntries(dir)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	_, err = CountDirEntries(filepath.Join(dir, "missing"))
	assert.ErrorIs(t, err, fs.ErrNotExist)
}
