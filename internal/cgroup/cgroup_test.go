package cgroup

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDaemonID: one ID per directory, whatever its spelling, and
// never one ID for two directories or for two daemons without one.
func TestDaemonID(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	link := filepath.Join(t.TempDir(), "link")
	require.NoError(t, os.Symlink(a, link))
	id := DaemonID(a)
	assert.Len(t, id, 16)
	assert.Equal(t, id, DaemonID(a+"/"))
	assert.Equal(t, id, DaemonID(link))
	assert.NotEqual(t, id, DaemonID(b))
	assert.NotEqual(t, DaemonID(""), DaemonID(""))
	assert.NotEqual(t, DaemonID("/nonexistent/dir"), DaemonID("/nonexistent/dir"))
}
