package servstate

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDaemonCgroupID: one ID per directory, whatever its spelling, and
// never one ID for two directories or for two daemons without one.
func TestDaemonCgroupID(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	link := filepath.Join(t.TempDir(), "link")
	require.NoError(t, os.Symlink(a, link))
	id := daemonCgroupID(a)
	assert.Len(t, id, 16)
	assert.Equal(t, id, daemonCgroupID(a+"/"))
	assert.Equal(t, id, daemonCgroupID(link))
	assert.NotEqual(t, id, daemonCgroupID(b))
	assert.NotEqual(t, daemonCgroupID(""), daemonCgroupID(""))
	assert.NotEqual(t, daemonCgroupID("/nonexistent/dir"), daemonCgroupID("/nonexistent/dir"))
}

// TestCloseRemovesCgroups: a manager that started and stopped services
// leaves no cgroup behind once closed.
func TestCloseRemovesCgroups(t *testing.T) {
	svc, _ := helperService(t, "svc", "setsid-child")
	m, err := New(Options{Dir: t.TempDir(), OkayDelay: 10 * time.Millisecond})
	require.NoError(t, err)
	if m.cgroups == nil {
		m.Close()
		t.Skip("skipping: cgroup v2 is not writable here")
	}
	root := m.cgroups.root
	m.SetPlan(newPlan(svc))
	require.NoError(t, m.Start(context.Background(), "svc", nil))
	require.NoError(t, m.Stop(context.Background(), "svc", nil))
	m.Close()
	_, err = os.Stat(root)
	assert.True(t, os.IsNotExist(err), "cgroup %s left behind: %v", root, err)
}
