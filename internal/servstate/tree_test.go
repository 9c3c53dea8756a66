package servstate

import (
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/reaper"
)

// TestWaitExits: without a cgroup, a tree is waited for through the
// pidfds of its processes: the wait ends when the process group's last
// member exits, and a closed stop ends it early.
func TestWaitExits(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	start := func() int {
		c := execHelper(exe, "sleep")
		require.NoError(t, reaper.StartCommand(c))
		pid := c.Process.Pid
		go reaper.WaitCommand(c)
		return pid
	}

	pid := start()
	tree := &procTree{leader: pid, known: map[int]uint64{pid: procStartTime(t, pid)}}
	result := make(chan bool, 1)
	go func() {
		gone, err := tree.waitExits(nil)
		assert.NoError(t, err)
		result <- gone
	}()
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	select {
	case gone := <-result:
		assert.True(t, gone)
	case <-time.After(10 * time.Second):
		t.Fatal("the wait did not end when the process exited")
	}

	pid = start()
	defer syscall.Kill(pid, syscall.SIGKILL)
	tree = &procTree{leader: pid}
	stop := make(chan struct{})
	go func() {
		gone, err := tree.waitExits(stop)
		assert.NoError(t, err)
		result <- gone
	}()
	close(stop)
	select {
	case gone := <-result:
		assert.False(t, gone, "a stopped wait reports the tree as gone")
	case <-time.After(10 * time.Second):
		t.Fatal("closing stop did not end the wait")
	}
	assert.True(t, running(pid))
}
