package reliability

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/pebble-project/pebble/internal/testutil"
	"github.com/pebble-project/pebble/tests/harness"
)

// TestDiskFullRecovers runs a daemon on a 1 MiB tmpfs, fills it, and frees
// it again. While the disk is full, a write (a notice, an identity, a stop)
// is refused with a 500 and changes nothing: the service keeps running and
// the refused notice is not there, then or after a restart. Reads keep
// working. Once space returns the very next write succeeds and survives a
// restart. Before, a refused write was applied all the same and saved
// later, durable reads answered 500 while the disk was full, and the first
// failure stuck until the daemon restarted.
func TestDiskFullRecovers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: mounting a small tmpfs to fill needs root")
	}
	dir := run.NewDir(t, nil)
	require.NoError(t, unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m,mode=0755"))
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "layers"), 0o755))
	layer := "services:\n  sleeper:\n    override: replace\n    command: sleep 1000\n    startup: enabled\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "layers", "001-base.yaml"), []byte(layer), 0o644))
	d := run.Start(t, dir)
	notice := func(key string) int {
		status, env := d.MustRequest("POST", "/v1/notices", map[string]any{"action": "add", "type": "custom", "key": "example.com/" + key})
		t.Logf("adding notice %q: %d %s", key, status, env.Message())
		return status
	}
	require.Equal(t, 200, notice("before"))
	pid := servicePID(t, d, dir, "sleeper")

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
	assert.Equal(t, 500, notice("while-full"), "a write that cannot be saved is refused")
	status, env := d.MustRequest("POST", "/v1/identities", map[string]any{"action": "add", "identities": map[string]any{"bob": map[string]any{"access": "read", "local": map[string]any{"user-id": 1000}}}})
	assert.Equal(t, 500, status, "adding an identity while full: %s", env.Message())
	status, env = d.MustRequest("POST", "/v1/services", map[string]any{"action": "stop", "services": []string{"sleeper"}})
	assert.Equal(t, 500, status, "a stop while full: %s", env.Message())
	assert.Contains(t, env.Message(), "nothing was changed")
	assert.Equal(t, pid, servicePID(t, d, dir, "sleeper"), "a refused stop leaves the service running")
	for _, path := range []string{"/v1/system-info", "/v1/changes", "/v1/changes/1", "/v1/notices?types=custom", "/v1/identities"} {
		status, env := d.MustRequest("GET", path, nil)
		assert.Equal(t, 200, status, "GET %s while full: %s", path, env.Message())
		assert.NotContains(t, string(env.Result), "while-full", "GET %s", path)
		assert.NotContains(t, string(env.Result), "bob", "GET %s", path)
	}

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
	assert.NotContains(t, string(env.Result), "example.com/while-full", "a refused write is not saved later")
	status, env = d2.MustRequest("GET", "/v1/identities", nil)
	require.Equal(t, 200, status, env.Message())
	assert.NotContains(t, string(env.Result), "bob", "a refused identity is not saved later")
}

// servicePID returns the PID of a daemon's only service, waiting for the
// service to be active: the service inherits the daemon's $PEBBLE.
func servicePID(t *testing.T, d *harness.Daemon, dir, name string) int {
	t.Helper()
	var pid int
	testutil.WaitFor(t, 10*time.Second, func() error {
		status, env := d.MustRequest("GET", "/v1/services?names="+name, nil)
		if status != 200 || !strings.Contains(string(env.Result), `"current":"active"`) {
			return fmt.Errorf("service %q not active: %d %s", name, status, env.Result)
		}
		var procs []int
		for _, p := range harness.ProcessesWithEnvPrefix("PEBBLE=" + dir) {
			if p.PID != d.PID() {
				procs = append(procs, p.PID)
			}
		}
		if len(procs) != 1 {
			return fmt.Errorf("want one process of service %q, have %v", name, procs)
		}
		pid = procs[0]
		return nil
	})
	return pid
}
