package reliability

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestDiskFullRecovers runs a daemon on a 1 MiB tmpfs, fills it, and frees
// it again: a notice added while full is refused with a 500, and once space
// returns the very next write succeeds and survives a restart. Before, the
// first failure stuck to the state file and every later write (and every
// read that syncs) answered 500 until the daemon restarted.
func TestDiskFullRecovers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: mounting a small tmpfs to fill needs root")
	}
	dir := run.NewDir(t, nil)
	require.NoError(t, unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m,mode=0755"))
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	d := run.Start(t, dir)
	notice := func(key string) int {
		status, env := d.MustRequest("POST", "/v1/notices", map[string]any{"action": "add", "type": "custom", "key": "example.com/" + key})
		t.Logf("adding notice %q: %d %s", key, status, env.Message())
		return status
	}
	require.Equal(t, 200, notice("before"))

	fill := filepath.Join(dir, "fill")
	f, err := os.Create(fill)
	require.NoError(t, err)
	for chunk := make([]byte, 4096); ; {
		if _, err := f.Write(chunk); err != nil {
			require.True(t, errors.Is(err, syscall.ENOSPC), "filling: %v", err)
			break
		}
	}
	require.NoError(t, f.Close())
	assert.Equal(t, 500, notice("while-full"), "a write that cannot be saved is not reported done")
	status, env := d.MustRequest("GET", "/v1/system-info", nil)
	assert.Equal(t, 200, status, "a read that needs no write works while full: %s", env.Message())

	require.NoError(t, os.Remove(fill))
	start := time.Now()
	require.Equal(t, 200, notice("after"), "the first write after space returns succeeds")
	t.Logf("figure: first write after space returned answered 200 in %v", time.Since(start).Round(time.Millisecond))
	status, env = d.MustRequest("GET", "/v1/changes", nil)
	assert.Equal(t, 200, status, env.Message())
	d.Stop()

	d2 := run.Start(t, dir)
	defer d2.Stop()
	status, env = d2.MustRequest("GET", "/v1/notices?types=custom", nil)
	require.Equal(t, 200, status, env.Message())
	assert.Contains(t, string(env.Result), "example.com/before")
	assert.Contains(t, string(env.Result), "example.com/after")
}
