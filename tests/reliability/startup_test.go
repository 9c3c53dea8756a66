package reliability

import (
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

	"github.com/pebble-project/pebble/internal/testutil"
)

// startupServices is how many quick services the start-up scenario runs,
// besides the one whose leftovers ignore SIGTERM.
const startupServices = 10

// runScript is each service's command: it appends its name to overlaps if
// the previous run's main process (recorded in <name>.pid) is still alive,
// zombies aside, then records its own PID and sleeps with a child. With a
// second argument "stubborn", the run and its child ignore SIGTERM.
const runScript = `
f="$DIR/$1.pid"
if [ -f "$f" ]; then
    st=$(sed 's/.*) \(.\).*/\1/' /proc/$(cat "$f")/stat 2>/dev/null)
    if [ -n "$st" ] && [ "$st" != Z ]; then echo "$1" >> "$DIR/overlaps"; fi
fi
[ "$2" = stubborn ] && trap "" TERM
echo $$ > "$f"
sleep 1000 &
wait
`

// TestStartUpAfterSIGKILL kills a daemon running 10 services and one whose
// processes ignore SIGTERM, and starts a new daemon on the same directory
// (issue 17: start-up took 1.1–1.8 s under load; the target is 100 ms for
// 10 services). It prints how long the new daemon took, from its exec,
// until GET /v1/health answered and until the 10 services were active,
// with its CPU time at each point. The wall times depend on the machine's
// load, so what it asserts is the order: every old run is gone before its
// service runs again, the API and the 10 services do not wait for the
// stubborn leftovers (which live until their SIGKILL a second after the
// SIGTERM), and the start-up's CPU time stays small.
func TestStartUpAfterSIGKILL(t *testing.T) {
	dir := run.NewDir(t, nil)
	script := filepath.Join(dir, "run.sh")
	require.NoError(t, os.WriteFile(script, []byte(runScript), 0o755))
	var layer strings.Builder
	layer.WriteString("services:\n")
	names := []string{"stubborn"}
	fmt.Fprintf(&layer, "    stubborn:\n        override: replace\n        command: /bin/sh %s stubborn stubborn\n        startup: enabled\n        kill-delay: 100ms\n        environment: {DIR: %s}\n", script, dir)
	for i := range startupServices {
		name := fmt.Sprintf("svc%02d", i)
		names = append(names, name)
		fmt.Fprintf(&layer, "    %s:\n        override: replace\n        command: /bin/sh %s %s\n        startup: enabled\n        environment: {DIR: %s}\n", name, script, name, dir)
	}
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "layers"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "layers", "001-startup.yaml"), []byte(layer.String()), 0o644))

	d1 := run.Start(t, dir)
	old := make(map[string]int)
	testutil.WaitFor(t, 20*time.Second, func() error {
		for _, name := range names {
			pid, err := readPID(dir, name)
			if err != nil {
				return err
			}
			old[name] = pid
		}
		return nil
	})
	// The next daemon must find the old runs: through their cgroups, or
	// through their records in the state file.
	testutil.WaitFor(t, 10*time.Second, func() error {
		if cgroupOf(old["stubborn"]) != "" {
			return nil
		}
		data, err := os.ReadFile(filepath.Join(dir, ".pebble.state"))
		if err != nil {
			return err
		}
		for name, pid := range old {
			if !strings.Contains(string(data), fmt.Sprintf(`"pid":%d,`, pid)) {
				return fmt.Errorf("no record of %s (%d) in the state file yet", name, pid)
			}
		}
		return nil
	})
	d1.Signal(syscall.SIGKILL)
	d1.WaitExit()

	begin := time.Now()
	d2 := run.Launch(t, dir)
	var health, active time.Duration
	var healthCPU, activeCPU time.Duration
	testutil.WaitFor(t, 20*time.Second, func() error {
		status, env, err := d2.Request("GET", "/v1/health", nil)
		if err != nil || status != 200 {
			return fmt.Errorf("health: %d %s %v", status, env.Result, err)
		}
		health, healthCPU = time.Since(begin), schedCPU(t, d2.PID())
		return nil
	})
	testutil.WaitFor(t, 20*time.Second, func() error {
		status, env := d2.MustRequest("GET", "/v1/services?names=svc00,svc01,svc02,svc03,svc04,svc05,svc06,svc07,svc08,svc09", nil)
		if n := strings.Count(string(env.Result), `"current":"active"`); status != 200 || n != startupServices {
			return fmt.Errorf("%d of %d services active: %d %s", n, startupServices, status, env.Result)
		}
		active, activeCPU = time.Since(begin), schedCPU(t, d2.PID())
		return nil
	})
	waitCurrent(t, d2, "stubborn", "active")
	stubborn := time.Since(begin)
	load, _ := os.ReadFile("/proc/loadavg")
	t.Logf("figure: start-up after SIGKILL with %d services (+1 whose leftovers ignore SIGTERM): API answers %v after exec (daemon CPU %v), %d services active %v (CPU %v), the stubborn one %v; race build %v, load %s",
		startupServices, health.Round(time.Millisecond), healthCPU.Round(time.Millisecond), startupServices, active.Round(time.Millisecond),
		activeCPU.Round(time.Millisecond), stubborn.Round(time.Millisecond), run.Race, strings.Join(strings.Fields(string(load))[:3], " "))

	// Each new run records its PID once it has checked for the old one.
	testutil.WaitFor(t, 10*time.Second, func() error {
		for name, pid := range old {
			if now, err := readPID(dir, name); err != nil || now == pid {
				return fmt.Errorf("%s has not run again yet (%v)", name, err)
			}
		}
		return nil
	})
	overlaps, _ := os.ReadFile(filepath.Join(dir, "overlaps"))
	assert.Empty(t, string(overlaps), "services whose new run started beside the old one")
	for name, pid := range old {
		assert.False(t, alive(pid), "the old run of %s (%d) still runs", name, pid)
	}
	// The 10 services and the API did not wait for the stubborn leftovers.
	log := d2.Stderr()
	killed := strings.Index(log, `Killed leftover processes of service "stubborn" from a previous daemon`)
	require.GreaterOrEqual(t, killed, 0, "no word of the stubborn leftovers; log:\n%s", log)
	for _, name := range names[1:] {
		started := strings.Index(log, fmt.Sprintf("Service %q starting: ", name))
		assert.True(t, started >= 0 && started < killed, "%s started only after the stubborn leftovers were gone", name)
	}
	assert.Less(t, health, stubborn, "the API waited for the stubborn leftovers")
	// Loose: the CPU figure of a race build on a loaded machine, where an
	// unbounded scan of /proc per wait would show.
	assert.Less(t, activeCPU, 2*time.Second, "start-up costs the daemon too much CPU")
	d2.Stop()
}

// readPID reads the PID the last run of service name recorded.
func readPID(dir, name string) (int, error) {
	data, err := os.ReadFile(filepath.Join(dir, name+".pid"))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(data)))
}

// alive reports whether pid is a live process other than a zombie.
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] != "Z"
}

// cgroupOf is the per-service cgroup v2 path of pid ("" without one).
func cgroupOf(pid int) string {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	for _, line := range strings.Split(string(data), "\n") {
		if path, ok := strings.CutPrefix(line, "0::"); ok && strings.Contains(path, "/pebble-") {
			return path
		}
	}
	return ""
}

// schedCPU is the CPU time the live threads of process pid have run, from
// their schedstat (nanoseconds, unlike the 10 ms ticks of stat).
func schedCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	require.NoError(t, err)
	var sum time.Duration
	for _, task := range tasks {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, task.Name()))
		if err != nil {
			continue // the thread ended meanwhile
		}
		ns, err := strconv.ParseInt(strings.Fields(string(data))[0], 10, 64)
		require.NoError(t, err)
		sum += time.Duration(ns)
	}
	return sum
}
