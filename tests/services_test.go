package tests

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/osutil"

	"github.com/pebble-project/pebble/internal/testutil"
)

// longRunning is a service body that records its start and then stays up
// until signalled. The sleep runs in the background so the shell (whose
// command line carries the script path) stays the service's main process.
const longRunning = `
echo "$(basename "$0" .sh) $(date +%s%N)" >> @DIR@/started
echo $$ >> "@DIR@/$(basename "$0" .sh).pid"
sleep 1000 &
wait
`

// writeStubborn writes the script and layer of one service, "stubborn",
// that ignores SIGTERM, writes its PID to @DIR@/stubborn.pid and has the
// given kill-delay.
func writeStubborn(t *testing.T, dir, killDelay string) {
	t.Helper()
	writeScript(t, dir, "stubborn.sh", `
trap "" TERM
echo $$ > @DIR@/stubborn.pid
while :; do sleep 0.1; done
`)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    stubborn:
        override: replace
        command: /bin/sh @DIR@/stubborn.sh
        startup: enabled
        kill-delay: ` + killDelay + `
`})
}

// TestDependenciesStartInOrder: requires + after makes each service wait for
// its requirement's okay delay (behaviour.md §6.3), and requires pulls in
// disabled services on autostart.
func TestDependenciesStartInOrder(t *testing.T) {
	dir := newPebbleDir(t, nil)
	for _, name := range []string{"db", "app", "web"} {
		writeScript(t, dir, name+".sh", longRunning)
	}
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    web:
        override: replace
        command: /bin/sh @DIR@/web.sh
        startup: enabled
        requires: [app]
        after: [app]
    app:
        override: replace
        command: /bin/sh @DIR@/app.sh
        requires: [db]
        after: [db]
    db:
        override: replace
        command: /bin/sh @DIR@/db.sh
`})
	d := startDaemon(t, dir, daemonOptions{})
	chg := d.waitAutostart()
	require.Equal(t, "Done", chg.Status, "autostart change: %+v", chg)

	lines := readLines(filepath.Join(dir, "started"))
	require.Len(t, lines, 3, "started marker: %q", lines)
	var names []string
	for _, line := range lines {
		name, _, ok := strings.Cut(line, " ")
		require.True(t, ok, "bad marker line %q", line)
		names = append(names, name)
	}
	assert.Equal(t, []string{"db", "app", "web"}, names, "start order")
	// The next start waits for the previous one's 1 s okay delay. The gap
	// is taken from the kernel's start times of the processes the daemon
	// forked (clock ticks of 10 ms), so a shell slow to write its marker
	// under load cannot shrink it.
	var starts []uint64
	for _, name := range names {
		pids := readLines(filepath.Join(dir, name+".pid"))
		require.Len(t, pids, 1, "%s.pid", name)
		pid, err := strconv.Atoi(pids[0])
		require.NoError(t, err)
		st, err := osutil.ReadProcStat(pid)
		require.NoError(t, err, "service %s", name)
		starts = append(starts, st.StartTime)
	}
	for i := 1; i < len(starts); i++ {
		gap := time.Duration(starts[i]-starts[i-1]) * 10 * time.Millisecond
		assert.GreaterOrEqual(t, gap, 990*time.Millisecond, "gap between %s and %s", names[i-1], names[i])
	}

	out := d.mustPebble("services")
	rows := tableRows(out)
	require.Len(t, rows, 4, "pebble services output:\n%s", out)
	assert.Equal(t, []string{"Service", "Startup", "Current", "Since"}, rows[0])
	want := map[string]string{"app": "disabled", "db": "disabled", "web": "enabled"}
	for i, name := range []string{"app", "db", "web"} {
		row := rows[i+1]
		require.GreaterOrEqual(t, len(row), 3, "row %q", row)
		assert.Equal(t, name, row[0])
		assert.Equal(t, want[name], row[1], "startup of %s", name)
		assert.Equal(t, "active", row[2], "current of %s", name)
	}

	d.stop()
}

// tableRows splits CLI table output into rows of whitespace-separated cells.
func tableRows(out string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			rows = append(rows, f)
		}
	}
	return rows
}

// TestBackoffSequence: a service that keeps failing is restarted after
// backoff-delay × factor^k, capped at backoff-limit (behaviour.md §5).
func TestBackoffSequence(t *testing.T) {
	dir := newPebbleDir(t, nil)
	writeScript(t, dir, "crash.sh", `
date +%s%N >> @DIR@/starts
exit 3
`)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    crash:
        override: replace
        command: /bin/sh @DIR@/crash.sh
        startup: enabled
        backoff-delay: 100ms
        backoff-factor: 2
        backoff-limit: 1s
`})
	d := startDaemon(t, dir, daemonOptions{})

	// Launch + 6 restarts: 0.1 + 0.2 + 0.4 + 0.8 + 1 + 1 = 3.5 s of backoff.
	wantDelays := []time.Duration{100, 200, 400, 800, 1000, 1000}
	lines := waitLines(t, filepath.Join(dir, "starts"), len(wantDelays)+1, 20*time.Second)
	var starts []time.Time
	for _, line := range lines {
		ns, err := strconv.ParseInt(line, 10, 64)
		require.NoError(t, err)
		starts = append(starts, time.Unix(0, ns))
	}
	for i, ms := range wantDelays {
		want := ms * time.Millisecond
		gap := starts[i+1].Sub(starts[i])
		// Lower bound exact: the timer starts after the exit, which comes
		// after the marker. Upper bound: 10% jitter plus scheduling margin.
		assert.GreaterOrEqual(t, gap, want, "gap before restart %d", i+1)
		assert.Less(t, gap, want+want/10+400*time.Millisecond, "gap before restart %d", i+1)
	}

	log := d.stderr.String()
	assert.Contains(t, log, `Service "crash" stopped unexpectedly with code 3`)
	for i, want := range []string{"100ms", "200ms", "400ms", "800ms", "1s", "1s"} {
		assert.Contains(t, log, fmt.Sprintf(`Service "crash" on-failure action is "restart", waiting ~%s before restart (backoff %d)`, want, i+1))
	}

	// The start during the okay delay failed (behaviour.md §3 step 5).
	chg := d.waitAutostart()
	assert.Equal(t, "Error", chg.Status)
	assert.Contains(t, chg.Err, "exited quickly with code 3, will restart")

	// Stopping a service in backoff stops it at once (behaviour.md §8).
	res := d.pebble("stop", "crash")
	assert.Equal(t, 0, res.code, "pebble stop: %s", res.stderr)
	assert.Less(t, res.elapsed, 5*time.Second)
	assert.Equal(t, "inactive", d.serviceStatus("crash"))
	d.stop()
}

// TestReplanRestartsOnlyChangedServices: after a combined layer changes one
// service's command, replan restarts that service only (behaviour.md §6.5).
func TestReplanRestartsOnlyChangedServices(t *testing.T) {
	dir := newPebbleDir(t, nil)
	writeScript(t, dir, "a.sh", longRunning)
	writeScript(t, dir, "b.sh", longRunning)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    a:
        override: replace
        command: /bin/sh @DIR@/a.sh
        startup: enabled
    b:
        override: replace
        command: /bin/sh @DIR@/b.sh
        startup: enabled
`})
	d := startDaemon(t, dir, daemonOptions{})
	require.Equal(t, "Done", d.waitAutostart().Status)
	aPID := readPID(t, filepath.Join(dir, "a.pid"))
	bPID := readPID(t, filepath.Join(dir, "b.pid"))

	layer := filepath.Join(dir, "change-a.yaml")
	writeFile(t, layer, fmt.Sprintf(`
services:
    a:
        override: merge
        command: /bin/sh %s/a.sh changed
`, dir))
	out := d.mustPebble("add", "--combine", "base", layer)
	assert.Equal(t, fmt.Sprintf("Layer \"base\" added successfully from %q\n", layer), out)
	// Adding a layer restarts nothing (layers.md §8.5).
	assert.Len(t, readLines(filepath.Join(dir, "a.pid")), 1)

	d.mustPebble("replan")
	aPIDs := readLines(filepath.Join(dir, "a.pid"))
	require.Len(t, aPIDs, 2, "a should have been started again")
	newAPID, err := strconv.Atoi(aPIDs[1])
	require.NoError(t, err)
	assert.NotEqual(t, aPID, newAPID)
	assert.True(t, pidAlive(newAPID), "new a process %d not running", newAPID)
	assert.False(t, pidAlive(aPID), "old a process %d still running", aPID)

	assert.Len(t, readLines(filepath.Join(dir, "b.pid")), 1, "b was restarted")
	assert.True(t, pidAlive(bPID), "b process %d not running", bPID)

	chgs := d.changes()
	last := chgs[len(chgs)-1]
	assert.Equal(t, "replan", last.Kind)
	assert.Equal(t, "Done", last.Status)
	assert.True(t, strings.HasPrefix(last.Summary, `Replan service "a"`), "summary %q", last.Summary)
	var kinds []string
	for _, tk := range last.Tasks {
		kinds = append(kinds, tk.Kind+" "+tk.Summary)
	}
	assert.Contains(t, kinds, `stop Stop service "a"`)
	assert.Contains(t, kinds, `start Start service "a"`)
	assert.NotContains(t, kinds, `stop Stop service "b"`)

	// A second replan has nothing to change.
	d.mustPebble("replan")
	assert.Len(t, readLines(filepath.Join(dir, "a.pid")), 2)
	assert.Len(t, readLines(filepath.Join(dir, "b.pid")), 1)
	d.stop()
}

// TestKillDelay: a service that ignores SIGTERM gets SIGKILL after its
// kill-delay (behaviour.md §8).
func TestKillDelay(t *testing.T) {
	dir := newPebbleDir(t, nil)
	writeStubborn(t, dir, "500ms")
	d := startDaemon(t, dir, daemonOptions{})
	require.Equal(t, "Done", d.waitAutostart().Status)
	pid := readPID(t, filepath.Join(dir, "stubborn.pid"))
	require.True(t, pidAlive(pid))

	res := d.pebble("stop", "stubborn")
	require.Equal(t, 0, res.code, "pebble stop: %s", res.stderr)
	assert.GreaterOrEqual(t, res.elapsed, 500*time.Millisecond, "stop returned before kill-delay")
	assert.Less(t, res.elapsed, 5*time.Second, "stop took too long")
	assert.False(t, pidAlive(pid), "process %d survived the stop", pid)
	assert.Equal(t, "inactive", d.serviceStatus("stubborn"))
	d.requireNoServiceProcesses()
	d.stop()
}

// TestStopLeavesNoSessionEscapees: descendants that moved to their own
// session (setsid), directly or through a double fork, are gone after stop.
func TestStopLeavesNoSessionEscapees(t *testing.T) {
	dir := newPebbleDir(t, nil)
	writeScript(t, dir, "child.sh", `
setsid sleep 1000 &
echo $! > @DIR@/child.pid
echo $$ > @DIR@/main.pid
sleep 1000 &
wait
`)
	writeScript(t, dir, "grandchild.sh", `
( setsid sleep 1000 & echo $! > @DIR@/grandchild.pid ) &
wait
echo $$ > @DIR@/main2.pid
sleep 1000 &
wait
`)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    child:
        override: replace
        command: /bin/sh @DIR@/child.sh
        startup: enabled
        kill-delay: 1s
    grandchild:
        override: replace
        command: /bin/sh @DIR@/grandchild.sh
        startup: enabled
        kill-delay: 1s
`})
	d := startDaemon(t, dir, daemonOptions{})
	require.Equal(t, "Done", d.waitAutostart().Status)
	pids := map[string]int{}
	for _, name := range []string{"child", "main", "grandchild", "main2"} {
		pids[name] = readPID(t, filepath.Join(dir, name+".pid"))
		require.True(t, pidAlive(pids[name]), "%s process %d not running", name, pids[name])
	}
	// The escapees really are in another session.
	for _, name := range []string{"child", "grandchild"} {
		sid, err := syscall.Getpgid(pids[name])
		require.NoError(t, err)
		assert.Equal(t, pids[name], sid, "%s should lead its own process group", name)
	}

	d.mustPebble("stop", "child", "grandchild")
	testutil.WaitFor(t, 3*time.Second, func() error {
		for name, pid := range pids {
			if pidAlive(pid) {
				return fmt.Errorf("%s process %d still running after pebble stop", name, pid)
			}
		}
		return nil
	})
	d.requireNoServiceProcesses()
	d.stop()
}

// TestStopSendsOneSIGTERM: pebble stop sends the service SIGTERM once
// (behaviour.md §8); a second one would cut short a graceful shutdown.
func TestStopSendsOneSIGTERM(t *testing.T) {
	dir := newPebbleDir(t, nil)
	writeScript(t, dir, "graceful.sh", `
trap 'echo term >> @DIR@/terms; sleep 0.3; echo done >> @DIR@/terms; exit 0' TERM
echo $$ > @DIR@/graceful.pid
sleep 1000 &
wait
`)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    graceful:
        override: replace
        command: /bin/sh @DIR@/graceful.sh
        startup: enabled
`})
	d := startDaemon(t, dir, daemonOptions{})
	require.Equal(t, "Done", d.waitAutostart().Status)
	pid := readPID(t, filepath.Join(dir, "graceful.pid"))

	res := d.pebble("stop", "graceful")
	require.Equal(t, 0, res.code, "pebble stop: %s", res.stderr)
	assert.Equal(t, []string{"term", "done"}, readLines(filepath.Join(dir, "terms")))
	assert.False(t, pidAlive(pid))
	d.requireNoServiceProcesses()
	d.stop()
}
