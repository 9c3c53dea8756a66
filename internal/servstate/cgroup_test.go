package servstate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/cgroup"
	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/reaper"
	"github.com/pebble-project/pebble/internal/statefile"
	"github.com/pebble-project/pebble/internal/testutil"
)

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
	root := m.cgroups.Root()
	m.SetPlan(newPlan(svc))
	require.NoError(t, m.Start(context.Background(), "svc", nil))
	require.NoError(t, m.Stop(context.Background(), "svc", nil))
	m.Close()
	_, err = os.Stat(root)
	assert.True(t, os.IsNotExist(err), "cgroup %s left behind: %v", root, err)
}

// TestKillLeftoversBounded: a leftover that SIGKILL cannot end (frozen by
// the cgroup v1 freezer, which holds fatal signals until it thaws) does not
// hold start-up, and the service is not launched beside it: a start fails
// while it lives, and succeeds once it is gone.
func TestKillLeftoversBounded(t *testing.T) {
	svc, pidfile := helperService(t, "svc", "sleep")
	log := &logRecorder{t: t}
	const failDelay = 300 * time.Millisecond
	m, err := New(Options{Dir: t.TempDir(), Logf: log.Logf, OkayDelay: 50 * time.Millisecond, KillFailDelay: failDelay})
	require.NoError(t, err)
	defer m.Close()
	if m.cgroups == nil {
		t.Skip("skipping: cgroup v2 is not writable here")
	}
	m.SetPlan(newPlan(svc))
	freezer := filepath.Join("/sys/fs/cgroup/freezer", "pebble-test-"+cgroup.DaemonID(""))
	if err := os.Mkdir(freezer, 0o755); err != nil {
		t.Skipf("skipping: no cgroup v1 freezer here: %v", err)
	}
	defer os.Remove(freezer)

	// The leftover: a process in the service's cgroup, frozen.
	cg := m.cgroups.Path("svc")
	require.NoError(t, os.MkdirAll(cg, 0o755))
	exe, err := os.Executable()
	require.NoError(t, err)
	c := execHelper(exe, "sleep")
	require.NoError(t, reaper.StartCommand(c))
	pid := []byte(strconv.Itoa(c.Process.Pid))
	exited := make(chan struct{})
	go func() { reaper.WaitCommand(c); close(exited) }()
	require.NoError(t, os.WriteFile(filepath.Join(cg, "cgroup.procs"), pid, 0))
	require.NoError(t, os.WriteFile(filepath.Join(freezer, "cgroup.procs"), pid, 0))
	state := filepath.Join(freezer, "freezer.state")
	require.NoError(t, os.WriteFile(state, []byte("FROZEN"), 0))
	thaw := func() { os.WriteFile(state, []byte("THAWED"), 0) }
	defer thaw()

	names, err := m.KillLeftovers()
	require.NoError(t, err)
	assert.Equal(t, []string{"svc"}, names)

	// The start waits through the grace and the fail delay, then fails.
	err = m.Start(context.Background(), "svc", nil)
	assert.EqualError(t, err, "cannot start service: processes of its last run still running after SIGTERM and SIGKILL")
	assert.NoError(t, log.has(`Cannot kill leftover processes of service "svc" from a previous daemon: still running after SIGTERM and SIGKILL`))
	assert.Empty(t, readPIDs(pidfile), "the service ran beside its leftovers")

	thaw()
	<-exited
	require.NoError(t, m.Start(context.Background(), "svc", nil))
	testutil.WaitFor(t, 5*time.Second, func() error {
		if pids := readPIDs(pidfile); len(pids) != 1 {
			return fmt.Errorf("service pids %v", pids)
		}
		return nil
	})
	require.NoError(t, m.Stop(context.Background(), "svc", nil))
}

// TestRestartKeepsCgroup: a service restarted after backoff runs again in
// the cgroup of its last run instead of a new one, which saves the daemon
// a cgroup removal and creation per restart; a stop removes it.
func TestRestartKeepsCgroup(t *testing.T) {
	m, err := New(Options{Dir: t.TempDir(), OkayDelay: 10 * time.Millisecond})
	require.NoError(t, err)
	defer m.Close()
	if m.cgroups == nil {
		t.Skip("skipping: cgroup v2 is not writable here")
	}
	dir := m.cgroups.Path("loop")
	inodes := filepath.Join(t.TempDir(), "inodes")
	svc := sh("loop", `stat -c %i "$CG" >> "$OUT"; sleep 0.05; exit 1`)
	svc.Environment = map[string]string{"CG": dir, "OUT": inodes}
	svc.OnFailure = plan.ActionRestart
	svc.BackoffDelay = plan.OptionalDuration{Value: 10 * time.Millisecond, IsSet: true}
	svc.BackoffFactor = plan.OptionalFloat{Value: 1, IsSet: true}
	m.SetPlan(newPlan(svc))
	require.NoError(t, m.Start(context.Background(), "loop", nil))
	var seen []string
	testutil.WaitFor(t, 10*time.Second, func() error {
		data, _ := os.ReadFile(inodes)
		if seen = strings.Fields(string(data)); len(seen) < 4 {
			return fmt.Errorf("%d runs", len(seen))
		}
		return nil
	})
	for _, ino := range seen[1:] {
		assert.Equal(t, seen[0], ino, "a restart ran in a new cgroup")
	}
	require.NoError(t, m.Stop(context.Background(), "loop", nil))
	testutil.WaitFor(t, 5*time.Second, func() error {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			return fmt.Errorf("cgroup %s still there after the stop: %v", dir, err)
		}
		return nil
	})
}

// TestContainedRecordOnWrite: the record of a run inside its cgroup gets
// its start time when the state file is written, and names the process
// with it.
func TestContainedRecordOnWrite(t *testing.T) {
	dir := t.TempDir()
	store, err := statefile.Open(filepath.Join(dir, ".pebble.state"))
	require.NoError(t, err)
	defer store.Close()
	svc, pidfile := helperService(t, "svc", "sleep")
	m, err := New(Options{Dir: dir, Store: store, OkayDelay: 10 * time.Millisecond})
	require.NoError(t, err)
	defer m.Close()
	if m.cgroups == nil {
		t.Skip("skipping: cgroup v2 is not writable here")
	}
	m.SetPlan(newPlan(svc))
	require.NoError(t, m.Start(context.Background(), "svc", nil))
	defer m.Stop(context.Background(), "svc", nil)
	var pid int
	testutil.WaitFor(t, 5*time.Second, func() error {
		if pids := readPIDs(pidfile); len(pids) == 1 {
			pid = pids[0]
			return nil
		}
		return fmt.Errorf("no PID yet")
	})
	require.NoError(t, store.Sync(context.Background()))
	data, err := os.ReadFile(filepath.Join(dir, ".pebble.state"))
	require.NoError(t, err)
	assert.Contains(t, string(data), fmt.Sprintf(`"svc":{"pid":%d,"start-time":%d}`, pid, procStartTime(t, pid)))
}
