package servstate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/logs"
	"github.com/pebble-project/pebble/internal/osutil"
	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/reaper"
	"github.com/pebble-project/pebble/internal/statefile"
	"github.com/pebble-project/pebble/internal/testutil"
)

func sh(name, script string) *plan.Service {
	return &plan.Service{Name: name, Command: "/bin/sh -c '" + script + "'"}
}

func TestStartStop(t *testing.T) {
	svc, _ := helperService(t, "svc", "sleep")
	svc.Startup = plan.StartupEnabled
	f := newFixture(t, newPlan(svc, sh("other", "sleep 10")), nil)
	ctx := context.Background()

	infos := f.m.Services(nil)
	require.Len(t, infos, 2)
	assert.Equal(t, ServiceInfo{Name: "other", Startup: "disabled", Current: "inactive"}, infos[0])
	assert.Equal(t, "enabled", infos[1].Startup)

	start := time.Now()
	tl := &logRecorder{t: t}
	require.NoError(t, f.m.Start(ctx, "svc", tl))
	assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond, "start returned before the okay delay")
	info := f.info(t, "svc")
	assert.Equal(t, "active", info.Current)
	assert.Equal(t, 1, info.StartCount)
	assert.NotZero(t, info.PID)
	assert.False(t, info.CurrentSince.IsZero())
	assert.NoError(t, f.log.has(fmt.Sprintf("Service %q starting: %s", "svc", svc.Command)))

	// AppendServices appends the same snapshots after what it is given,
	// and the roster follows a new plan.
	kept := ServiceInfo{Name: "kept"}
	appended := f.m.AppendServices([]ServiceInfo{kept}, []string{"svc", "unknown"})
	require.Len(t, appended, 2)
	assert.Equal(t, kept, appended[0])
	assert.Equal(t, info, appended[1])
	f.m.SetPlan(newPlan(svc))
	assert.Len(t, f.m.Services(nil), 1, "other left the plan")
	assert.Equal(t, []string{"svc"}, f.m.ActiveServices())

	require.NoError(t, f.m.Start(ctx, "svc", tl))
	assert.NoError(t, tl.has(`Service "svc" already started.`))
	assert.Equal(t, info.CurrentSince, f.info(t, "svc").CurrentSince)

	require.NoError(t, f.m.Stop(ctx, "svc", tl))
	info = f.info(t, "svc")
	assert.Equal(t, "inactive", info.Current)
	assert.Zero(t, info.PID)
	assert.NoError(t, f.log.has(`Service "svc" stopped`))
	require.NoError(t, f.m.Stop(ctx, "svc", tl))
	assert.NoError(t, tl.has(`Service "svc" already stopped.`))
	require.NoError(t, f.m.Stop(ctx, "other", tl))
	assert.NoError(t, tl.has(`Service "other" has never been started.`))

	err := f.m.Start(ctx, "nope", tl)
	assert.EqualError(t, err, `cannot find service "nope" in plan`)
	assert.ErrorIs(t, err, ErrNotFound)
}

func TestExitWithinOkayDelay(t *testing.T) {
	svc := sh("quick", "echo one; echo two >&2; exit 3")
	svc.BackoffDelay = plan.OptionalDuration{Value: time.Hour, IsSet: true}
	// A long okay delay, so that a loaded machine cannot make the quick
	// exit a slow one; the start ends with the exit.
	f := newFixture(t, newPlan(svc), func(o *Options) { o.OkayDelay = 10 * time.Second })
	tl := &logRecorder{t: t}
	err := f.m.Start(context.Background(), "quick", tl)
	assert.EqualError(t, err, "service start attempt: exited quickly with code 3, will restart")
	assert.Equal(t, []string{"Most recent service output:\n    one\n    two"}, tl.all())
	assert.Equal(t, "backoff", f.info(t, "quick").Current)
	assert.NoError(t, f.log.has(`Service "quick" stopped unexpectedly with code 3`))
	assert.NoError(t, f.log.has(`Service "quick" on-failure action is "restart", waiting ~1h0m0s before restart (backoff 1)`))

	require.NoError(t, f.m.Stop(context.Background(), "quick", nil))
	assert.Equal(t, "inactive", f.info(t, "quick").Current)
	assert.NoError(t, f.log.has(`Service "quick" stopped while waiting for backoff`))
}

func TestStartOutputCut(t *testing.T) {
	svc := sh("many", "for i in $(seq 1 30); do echo line $i; done; exit 0")
	svc.OnSuccess = plan.ActionIgnore
	// The okay delay is long so that a loaded machine cannot make the
	// quick exit a slow one; the test ends with the exit.
	f := newFixture(t, newPlan(svc), func(o *Options) { o.OkayDelay = 10 * time.Second })
	tl := &logRecorder{t: t}
	err := f.m.Start(context.Background(), "many", tl)
	assert.EqualError(t, err, "service start attempt: exited quickly with code 0, will ignore")
	require.Len(t, tl.all(), 1)
	lines := strings.Split(tl.all()[0], "\n")
	require.Len(t, lines, 22)
	assert.Equal(t, "    (...)", lines[1])
	assert.Equal(t, "    line 11", lines[2])
	assert.Equal(t, "    line 30", lines[21])
	assert.Equal(t, "inactive", f.info(t, "many").Current)
}

func TestLaunchFailure(t *testing.T) {
	f := newFixture(t, newPlan(&plan.Service{Name: "bad", Command: "no-such-binary-xyz --flag"}), nil)
	err := f.m.Start(context.Background(), "bad", nil)
	assert.EqualError(t, err, `cannot start service: exec: "no-such-binary-xyz": executable file not found in $PATH`)
	assert.Equal(t, "inactive", f.info(t, "bad").Current)
	assert.Zero(t, f.info(t, "bad").StartCount)
}

func TestExitActions(t *testing.T) {
	tests := []struct {
		name      string
		code      int
		onSuccess plan.ServiceAction
		onFailure plan.ServiceAction
		shutdown  int // -1: none
		current   string
		log       string
	}{
		{"shutdown-0", 0, plan.ActionShutdown, "", 0, "error", `on-success action is "shutdown", triggering success shutdown`},
		{"shutdown-3", 3, "", plan.ActionShutdown, 10, "error", `on-failure action is "shutdown", triggering failure shutdown`},
		{"success-shutdown", 3, "", plan.ActionSuccessShutdown, 0, "error", `on-failure action is "success-shutdown", triggering success shutdown`},
		{"failure-shutdown", 0, plan.ActionFailureShutdown, "", 10, "error", `on-success action is "failure-shutdown", triggering failure shutdown`},
		{"ignore-0", 0, plan.ActionIgnore, "", -1, "inactive", `on-success action is "ignore", not doing anything further`},
		{"ignore-3", 3, "", plan.ActionIgnore, -1, "error", `on-failure action is "ignore", not doing anything further`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svc := sh("svc", "sleep 0.3; exit "+strconv.Itoa(tc.code))
			svc.OnSuccess, svc.OnFailure = tc.onSuccess, tc.onFailure
			f := newFixture(t, newPlan(svc), nil)
			require.NoError(t, f.m.Start(context.Background(), "svc", nil))
			f.waitCurrent(t, "svc", tc.current)
			testutil.WaitFor(t, 5*time.Second, func() error { return f.log.has(`Service "svc" ` + tc.log) })
			if tc.shutdown < 0 {
				select {
				case code := <-f.shutdown:
					t.Errorf("shutdown %d requested", code)
				default:
				}
				return
			}
			select {
			case code := <-f.shutdown:
				assert.Equal(t, tc.shutdown, code)
			case <-time.After(5 * time.Second):
				t.Error("no shutdown requested")
			}
		})
	}
}

func TestBackoffRestarts(t *testing.T) {
	svc := sh("flaky", "sleep 0.15; exit 1")
	svc.BackoffDelay = plan.OptionalDuration{Value: 50 * time.Millisecond, IsSet: true}
	f := newFixture(t, newPlan(svc), nil)
	require.NoError(t, f.m.Start(context.Background(), "flaky", nil))
	testutil.WaitFor(t, 10*time.Second, func() error {
		if n := f.info(t, "flaky").StartCount; n < 3 {
			return fmt.Errorf("start count %d", n)
		}
		return nil
	})
	assert.NoError(t, f.log.has(`Service "flaky" on-failure action is "restart", waiting ~50ms before restart (backoff 1)`))
	assert.NoError(t, f.log.has(`Service "flaky" on-failure action is "restart", waiting ~100ms before restart (backoff 2)`))
	// A manual start resets the counters.
	require.NoError(t, f.m.Stop(context.Background(), "flaky", nil))
	require.NoError(t, f.m.Start(context.Background(), "flaky", nil))
	n := len(f.log.all())
	testutil.WaitFor(t, 10*time.Second, func() error {
		for _, l := range f.log.all()[n:] {
			if l == `Service "flaky" on-failure action is "restart", waiting ~50ms before restart (backoff 1)` {
				return nil
			}
		}
		return errors.New("no backoff 1 after the manual start")
	})
}

// startStubborn starts a service "stubborn" that ignores SIGTERM, with
// killDelay, and waits until it has set its signal handling up.
func startStubborn(t *testing.T, killDelay time.Duration) *fixture {
	svc, _ := helperService(t, "stubborn", "ignore-term")
	svc.KillDelay = plan.OptionalDuration{Value: killDelay, IsSet: true}
	f := newFixture(t, newPlan(svc), nil)
	require.NoError(t, f.m.Start(context.Background(), "stubborn", nil))
	testutil.WaitFor(t, 5*time.Second, func() error {
		if lines, _ := f.m.Buffer("stubborn").LastLines(1); len(lines) == 0 {
			return errors.New("helper not ready")
		}
		return nil
	})
	return f
}

func TestKillDelayEscalation(t *testing.T) {
	f := startStubborn(t, 300*time.Millisecond)
	start := time.Now()
	require.NoError(t, f.m.Stop(context.Background(), "stubborn", nil))
	d := time.Since(start)
	assert.GreaterOrEqual(t, d, 300*time.Millisecond)
	assert.Less(t, d, 3*time.Second)
	assert.Equal(t, "inactive", f.info(t, "stubborn").Current)
}

// TestStopWhileStopping: a stop of a service that is already stopping is a
// no-op (behaviour.md §8), but the service counts as active until it has
// stopped, and AwaitStopping, which the daemon's shutdown uses, waits for
// it.
func TestStopWhileStopping(t *testing.T) {
	f := startStubborn(t, 400*time.Millisecond)
	first := make(chan error, 1)
	go func() { first <- f.m.Stop(context.Background(), "stubborn", nil) }()
	testutil.WaitFor(t, 5*time.Second, func() error {
		s := f.m.record("stubborn", false)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.state != stateTerminating {
			return fmt.Errorf("service is %s", s.state)
		}
		return nil
	})
	assert.Equal(t, []string{"stubborn"}, f.m.ActiveServices(), "a stopping service is not active")

	tl := &logRecorder{t: t}
	require.NoError(t, f.m.Stop(context.Background(), "stubborn", tl))
	assert.NoError(t, tl.has(`Service "stubborn" already stopping.`))
	require.NoError(t, f.m.AwaitStopping(context.Background()))
	assert.Equal(t, "inactive", f.info(t, "stubborn").Current, "AwaitStopping returned before the service stopped")
	assert.Empty(t, f.m.ActiveServices())
	require.NoError(t, <-first)
	require.NoError(t, f.m.AwaitStopping(context.Background()), "nothing is stopping")
}

func TestStopBeforeOkayDelay(t *testing.T) {
	svc, _ := helperService(t, "svc", "sleep")
	f := newFixture(t, newPlan(svc), func(o *Options) { o.OkayDelay = 5 * time.Second })
	errc := make(chan error, 1)
	go func() { errc <- f.m.Start(context.Background(), "svc", nil) }()
	f.waitCurrent(t, "svc", "active")
	require.NoError(t, f.m.Stop(context.Background(), "svc", nil))
	assert.EqualError(t, <-errc, "stopped before the 5s okay delay")
	assert.Equal(t, "inactive", f.info(t, "svc").Current)
}

func TestAbortStart(t *testing.T) {
	svc, pidfile := helperService(t, "svc", "sleep")
	f := newFixture(t, newPlan(svc), func(o *Options) { o.OkayDelay = 5 * time.Second })
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- f.m.Start(ctx, "svc", nil) }()
	testutil.WaitFor(t, 5*time.Second, func() error {
		if len(readPIDs(pidfile)) == 0 {
			return errors.New("not started")
		}
		return nil
	})
	cancel()
	assert.EqualError(t, <-errc, "start aborted, sent SIGKILL to process")
	assert.Equal(t, "inactive", f.info(t, "svc").Current)
	pid := readPIDs(pidfile)[0]
	testutil.WaitFor(t, 5*time.Second, func() error {
		if processExists(pid) {
			return fmt.Errorf("process %d still exists", pid)
		}
		return nil
	})
}

func TestTreeGoneAfterStop(t *testing.T) {
	for _, mode := range []string{"cgroup", "proc"} {
		for _, helper := range []string{"setsid-child", "double-fork", "double-fork-setsid"} {
			if mode == "proc" && helper == "double-fork-setsid" {
				continue // not findable without cgroups; see the package doc
			}
			t.Run(mode+"/"+helper, func(t *testing.T) {
				t.Parallel()
				h := helper
				if helper == "double-fork-setsid" {
					h = "double-fork"
				}
				svc, pidfile := helperService(t, "tree", h)
				if helper == "double-fork-setsid" {
					svc.Environment["PEBBLE_TEST_SETSID"] = "1"
				}
				f := newFixture(t, newPlan(svc), func(o *Options) { o.NoCgroups = mode == "proc" })
				if mode == "cgroup" && f.m.cgroups == nil {
					t.Skip("cgroup v2 not writable here")
				}
				require.NoError(t, f.m.Start(context.Background(), "tree", nil))
				var pids []int
				testutil.WaitFor(t, 5*time.Second, func() error {
					if pids = readPIDs(pidfile); len(pids) < 2 {
						return fmt.Errorf("pids %v", pids)
					}
					return nil
				})
				require.NoError(t, f.m.Stop(context.Background(), "tree", nil))
				testutil.WaitFor(t, 5*time.Second, func() error {
					for _, pid := range pids {
						if processExists(pid) {
							stat, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
							return fmt.Errorf("process %d still exists: %s", pid, stat)
						}
					}
					return nil
				})
				if mode == "cgroup" {
					_, err := os.Stat(f.m.cgroups.Path("tree"))
					assert.True(t, os.IsNotExist(err), "service cgroup not removed: %v", err)
				}
			})
		}
	}
}

func TestKillLeftovers(t *testing.T) {
	for _, mode := range []string{"cgroup", "proc"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			statePath := filepath.Join(dir, ".pebble.state")
			noCgroups := mode == "proc"
			svc, pidfile := helperService(t, "svc", "setsid-child")

			// The first daemon starts the service and "dies": its Manager is
			// closed without stopping the service.
			store1, err := statefile.Open(statePath)
			require.NoError(t, err)
			m1, err := New(Options{Dir: dir, Store: store1, OkayDelay: 50 * time.Millisecond, NoCgroups: noCgroups})
			require.NoError(t, err)
			m1.SetPlan(newPlan(svc))
			require.NoError(t, m1.Start(context.Background(), "svc", nil))
			var pids []int
			testutil.WaitFor(t, 5*time.Second, func() error {
				if pids = readPIDs(pidfile); len(pids) < 2 {
					return fmt.Errorf("pids %v", pids)
				}
				return nil
			})
			m1.Close()
			require.NoError(t, store1.Close())

			// A process started outside any manager, recorded by hand as if
			// it were a service of the dead daemon.
			exe, _ := os.Executable()
			stray := spawnReaped(t, exe)
			st := procStartTime(t, stray)
			data, err := os.ReadFile(statePath)
			require.NoError(t, err)
			data = []byte(strings.Replace(string(data), `"services":{`,
				fmt.Sprintf(`"services":{"stray":{"pid":%d,"start-time":%d},`, stray, st), 1))
			require.NoError(t, os.WriteFile(statePath, data, 0o600))

			store2, err := statefile.Open(statePath)
			require.NoError(t, err)
			defer store2.Close()
			log := &logRecorder{t: t}
			m2, err := New(Options{Dir: dir, Store: store2, Logf: log.Logf, NoCgroups: noCgroups})
			require.NoError(t, err)
			defer m2.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			names, err := m2.KillLeftovers()
			require.NoError(t, err)
			assert.Equal(t, []string{"stray", "svc"}, names)
			// A start waits until the leftovers are gone.
			m2.SetPlan(newPlan(svc))
			tl := &logRecorder{t: t}
			require.NoError(t, m2.Start(ctx, "svc", tl))
			assert.NoError(t, tl.has(`Waiting for the processes a previous daemon left of service "svc" to end.`))
			assert.NoError(t, log.has(`Killed leftover processes of service "svc" from a previous daemon`))
			for _, pid := range pids {
				assert.False(t, processExists(pid), "leftover %d alive after the start", pid)
			}
			require.NoError(t, m2.Stop(ctx, "svc", nil))
			testutil.WaitFor(t, 5*time.Second, func() error {
				for _, pid := range append(pids, stray) {
					if processExists(pid) {
						return fmt.Errorf("process %d still exists", pid)
					}
				}
				return nil
			})
			testutil.WaitFor(t, 5*time.Second, func() error {
				return log.has(`Killed leftover processes of service "stray" from a previous daemon`)
			})
			recs, err := m2.loadedRecords()
			require.NoError(t, err)
			assert.Len(t, recs, 2, "records as loaded")
			require.NoError(t, store2.Sync(ctx))
			data, _ = os.ReadFile(statePath)
			assert.Contains(t, string(data), `"services":{}`)

			// Nothing is left for a third daemon.
			names, err = m2.KillLeftovers()
			require.NoError(t, err)
			assert.Empty(t, names)
		})
	}
}

// TestLeftoversHoldOnlyTheirService: the leftovers of one service that
// ignore SIGTERM (and so live through the grace) hold back a start of that
// service only; another service starts meanwhile, and the record of the
// dying leftover stays in the state file until it is gone, for a daemon
// killed in between.
func TestLeftoversHoldOnlyTheirService(t *testing.T) {
	for _, mode := range []string{"cgroup", "proc"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			statePath := filepath.Join(dir, ".pebble.state")
			noCgroups := mode == "proc"
			stubborn, stubbornPIDs := helperService(t, "stubborn", "ignore-term")
			stubborn.KillDelay = plan.OptionalDuration{Value: 100 * time.Millisecond, IsSet: true}
			other, otherPIDs := helperService(t, "other", "sleep")

			store1, err := statefile.Open(statePath)
			require.NoError(t, err)
			m1, err := New(Options{Dir: dir, Store: store1, OkayDelay: 50 * time.Millisecond, NoCgroups: noCgroups})
			require.NoError(t, err)
			m1.SetPlan(newPlan(stubborn, other))
			require.NoError(t, m1.Start(context.Background(), "stubborn", nil))
			require.NoError(t, m1.Start(context.Background(), "other", nil))
			testutil.WaitFor(t, 5*time.Second, func() error {
				if len(readPIDs(stubbornPIDs)) < 1 || len(readPIDs(otherPIDs)) < 1 {
					return errors.New("not started yet")
				}
				return nil
			})
			old := readPIDs(stubbornPIDs)[0]
			m1.Close()
			require.NoError(t, store1.Close())

			store2, err := statefile.Open(statePath)
			require.NoError(t, err)
			defer store2.Close()
			log := &logRecorder{t: t}
			m2, err := New(Options{Dir: dir, Store: store2, Logf: log.Logf, OkayDelay: 50 * time.Millisecond, NoCgroups: noCgroups})
			require.NoError(t, err)
			defer m2.Close()
			m2.SetPlan(newPlan(stubborn, other))
			names, err := m2.KillLeftovers()
			require.NoError(t, err)
			assert.Equal(t, []string{"other", "stubborn"}, names)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()

			// The SIGKILL of stubborn's leftover comes a second after the
			// SIGTERM: until then it lives, and "other" does not wait for it.
			require.NoError(t, m2.Start(ctx, "other", nil))
			assert.True(t, running(old), "stubborn's leftover ended before the other service started")
			require.NoError(t, store2.Sync(ctx))
			data, err := os.ReadFile(statePath)
			require.NoError(t, err)
			assert.Contains(t, string(data), fmt.Sprintf(`"stubborn":{"pid":%d,`, old), "the dying leftover's record")

			require.NoError(t, m2.Start(ctx, "stubborn", nil))
			assert.NoError(t, log.has(`Killed leftover processes of service "stubborn" from a previous daemon`))
			assert.False(t, running(old), "stubborn started beside its leftover")
			testutil.WaitFor(t, 5*time.Second, func() error {
				if pids := readPIDs(stubbornPIDs); len(pids) != 2 {
					return fmt.Errorf("stubborn's runs: %v", pids)
				}
				return nil
			})
			require.NoError(t, m2.Stop(ctx, "stubborn", nil))
			require.NoError(t, m2.Stop(ctx, "other", nil))
		})
	}
}

// running reports whether pid is a live process other than a zombie.
func running(pid int) bool {
	st, err := osutil.ReadProcStat(pid)
	return err == nil && st.State != 'Z'
}

// spawnReaped starts a sleeping helper in its own process group, collected
// by the reaper when it dies.
func spawnReaped(t *testing.T, exe string) int {
	c := execHelper(exe, "sleep")
	require.NoError(t, reaper.StartCommand(c))
	go reaper.WaitCommand(c)
	return c.Process.Pid
}

func procStartTime(t *testing.T, pid int) uint64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	require.NoError(t, err)
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	n, err := strconv.ParseUint(fields[19], 10, 64)
	require.NoError(t, err)
	return n
}

func TestSendSignal(t *testing.T) {
	svc, _ := helperService(t, "sig", "usr1")
	f := newFixture(t, newPlan(svc, sh("idle", "sleep 10")), nil)
	require.NoError(t, f.m.Start(context.Background(), "sig", nil))
	buf := f.m.Buffer("sig")
	testutil.WaitFor(t, 5*time.Second, func() error {
		if lines, _ := buf.LastLines(1); len(lines) == 0 || lines[0] != "ready" {
			return fmt.Errorf("lines %q", lines)
		}
		return nil
	})
	require.NoError(t, f.m.SendSignal([]string{"sig"}, "SIGUSR1"))
	testutil.WaitFor(t, 5*time.Second, func() error {
		if lines, _ := buf.LastLines(1); len(lines) == 0 || lines[0] != "got usr1" {
			return fmt.Errorf("lines %q", lines)
		}
		return nil
	})
	assert.NoError(t, f.log.has(`Sending SIGUSR1 to service "sig"`))
	assert.Equal(t, "active", f.info(t, "sig").Current)

	err := f.m.SendSignal([]string{"idle", "nope", "sig"}, "SIGUSR1")
	assert.EqualError(t, err, `cannot send signal to "idle": service is not running; cannot send signal to "nope": service is not running`)
	err = f.m.SendSignal([]string{"sig"}, "SIGFOO")
	assert.EqualError(t, err, `cannot send signal to "sig": invalid signal name "SIGFOO"`)
}

func TestReplan(t *testing.T) {
	a, b := sh("a", "sleep 10"), sh("b", "sleep 10")
	f := newFixture(t, newPlan(a, b, sh("never", "sleep 10")), nil)
	require.NoError(t, f.m.Start(context.Background(), "a", nil))
	require.NoError(t, f.m.Start(context.Background(), "b", nil))
	require.NoError(t, f.m.Stop(context.Background(), "b", nil))
	assert.Empty(t, f.m.Replan())

	a2, b2 := *a, *b
	a2.Environment = map[string]string{"X": "1"}
	b2.KillDelay = plan.OptionalDuration{Value: time.Second, IsSet: true}
	never2 := sh("never", "sleep 11")
	f.m.SetPlan(newPlan(&a2, &b2, never2))
	assert.Equal(t, []string{"a", "b"}, f.m.Replan())
	assert.Equal(t, []string{"a", "b"}, f.m.Replan(), "Replan adopted a definition")

	// The start tasks adopt them.
	require.NoError(t, f.m.Stop(context.Background(), "a", nil))
	require.NoError(t, f.m.Start(context.Background(), "a", nil))
	require.NoError(t, f.m.Start(context.Background(), "b", nil))
	assert.Empty(t, f.m.Replan())
}

func TestCheckFailed(t *testing.T) {
	svc, _ := helperService(t, "svc", "sleep")
	svc.OnCheckFailure = map[string]plan.ServiceAction{"chk": plan.ActionRestart, "fatal": plan.ActionShutdown}
	svc.BackoffDelay = plan.OptionalDuration{Value: 10 * time.Millisecond, IsSet: true}
	f := newFixture(t, newPlan(svc), nil)
	f.m.CheckFailed("chk") // never started: ignored
	require.NoError(t, f.m.Start(context.Background(), "svc", nil))
	f.m.CheckFailed("other")
	f.m.CheckFailed("chk")
	testutil.WaitFor(t, 10*time.Second, func() error {
		if info := f.info(t, "svc"); info.StartCount != 2 || info.Current != "active" {
			return fmt.Errorf("info %+v", info)
		}
		return nil
	})
	assert.NoError(t, f.log.has(`Service "svc" on-check-failure action is "restart", terminating process before restarting`))
	assert.NoError(t, f.log.has(`Service "svc" exited after check failure, restarting`))
	f.m.CheckFailed("fatal")
	select {
	case code := <-f.shutdown:
		assert.Equal(t, 11, code)
	case <-time.After(5 * time.Second):
		t.Fatal("no shutdown")
	}
}

// TestNoLeaks starts and stops services that flood their output, closes
// the manager and requires goroutines, descriptors and children to be gone.
func TestNoLeaks(t *testing.T) {
	testutil.CheckLeaks(t)
	flood, _ := helperService(t, "flood", "flood")
	flood.OnSuccess = plan.ActionIgnore
	sleeper, _ := helperService(t, "sleeper", "sleep")
	var verbose syncWriter
	log := &logRecorder{t: t}
	m, err := New(Options{Dir: t.TempDir(), OkayDelay: 50 * time.Millisecond, Verbose: &verbose, Logf: log.Logf})
	require.NoError(t, err)
	m.SetPlan(newPlan(flood, sleeper))
	ctx := context.Background()
	for range 3 {
		m.Start(ctx, "flood", nil)
		require.NoError(t, m.Start(ctx, "sleeper", nil))
		require.NoError(t, m.Stop(ctx, "sleeper", nil))
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		if cur := m.Services([]string{"flood"})[0].Current; cur != "inactive" {
			return fmt.Errorf("flood is %s", cur)
		}
		return nil
	})
	lines, _ := m.Buffer("flood").LastLines(1)
	require.Len(t, lines, 1)
	// The 1 MiB line is stored in lines of 64 KiB.
	assert.True(t, strings.HasPrefix(lines[0], logs.ContinuedMarker+"zzzz"), "last line %.40q", lines[0])
	m.Close()
}

// TestExitIntoBackoffWritesNoState checks that a crash loop costs one state
// file write per restart: the exit that leads to backoff forgets the
// process's record without rewriting the file (the relaunch rewrites it),
// while an exit that ends the service rewrites it at once.
func TestExitIntoBackoffWritesNoState(t *testing.T) {
	store, err := statefile.Open(filepath.Join(t.TempDir(), ".pebble.state"))
	require.NoError(t, err)
	defer store.Close()
	svc, _ := helperService(t, "svc", "sleep")
	svc.BackoffDelay = plan.OptionalDuration{Value: time.Hour, IsSet: true}
	f := newFixture(t, newPlan(svc), func(o *Options) { o.Store = store })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// killMain kills the main process and waits for want and for the
	// run's record to be gone (the state shows before the record is
	// cleared), then for the state file to hold everything marked so far;
	// it returns the writes the exit cost.
	killMain := func(want string) uint64 {
		t.Helper()
		pid := f.info(t, "svc").PID
		require.NotZero(t, pid)
		require.NoError(t, store.Sync(ctx))
		before := store.Writes()
		require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
		f.waitCurrent(t, "svc", want)
		testutil.WaitFor(t, 10*time.Second, func() error {
			if _, ok := f.m.recordsSnapshot().(map[string]procRecord)["svc"]; ok {
				return errors.New("the exited run is still recorded")
			}
			return nil
		})
		require.NoError(t, store.Sync(ctx))
		return store.Writes() - before
	}

	require.NoError(t, f.m.Start(ctx, "svc", nil))
	assert.Zero(t, killMain(StatusBackoff), "the exit into backoff rewrote the state file")

	// A new plan, not a change to the published one the service reads.
	ignoring := svc.Copy()
	ignoring.OnFailure = plan.ActionIgnore
	f.m.SetPlan(newPlan(ignoring))
	require.NoError(t, f.m.Start(ctx, "svc", nil))
	assert.Equal(t, uint64(1), killMain(StatusError), "the exit that ends the service did not rewrite the state file once")
}

// TestStopWaitsForLastWords: once a stop is done, what the process wrote
// as it exited is in its buffer, so log forwarding's final flush at daemon
// exit and any reader see it.
func TestStopWaitsForLastWords(t *testing.T) {
	// The last words come after a pipe's worth of output, so that they are
	// still on their way into the buffer when the process is reaped.
	svc := sh("polite", `trap "head -c 60000 /dev/zero | tr '\\0' x; echo; echo goodbye; exit 0" TERM; echo hello; while :; do sleep 0.05; done`)
	f := newFixture(t, newPlan(svc), nil)
	ctx := context.Background()
	for i := range 10 {
		require.NoError(t, f.m.Start(ctx, "polite", nil))
		require.NoError(t, f.m.Stop(ctx, "polite", nil))
		lines, _ := f.m.Buffer("polite").LastLines(1)
		require.Equal(t, []string{"goodbye"}, lines, "round %d", i)
	}
}
