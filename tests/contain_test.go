package tests

import (
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/testutil"
)

// treeService is a layer with one service, svc, whose main process
// (argument <marker>) leaves a child in its own session (argument
// <marker>-child), as daemons do.
func treeService(t *testing.T, dir, marker string) {
	writeScript(t, dir, "svc.sh", `
setsid sh -c 'sleep 1000; :' "$1-child" &
sleep 1000 &
wait
`)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    svc:
        override: replace
        command: /bin/sh @DIR@/svc.sh ` + marker + `
        startup: enabled
        kill-delay: 1s
`})
}

// markerPID waits for the one live process with arg on its command line.
func markerPID(t *testing.T, arg string) int {
	t.Helper()
	var pid int
	testutil.WaitFor(t, changeTimeout, func() error {
		procs := processesWithArg(arg)
		if len(procs) != 1 {
			return fmt.Errorf("%d processes with %q:\n%s", len(procs), arg, describeProcs(procs))
		}
		pid = procs[0].pid
		return nil
	})
	return pid
}

// waitGone waits until none of pids is alive.
func waitGone(t *testing.T, what string, pids ...int) {
	t.Helper()
	testutil.WaitFor(t, changeTimeout, func() error {
		for _, pid := range pids {
			if pidAlive(pid) {
				return fmt.Errorf("%s: process %d still running", what, pid)
			}
		}
		return nil
	})
}

// TestDaemonsNeverShareCgroups: two daemons on two directories that have the
// same path, in one cgroup (two containers sharing the host's cgroup
// hierarchy), with the same service names. Stopping one's service, killing
// the daemon and starting it again (which kills its leftovers) never touches
// the other's processes.
func TestDaemonsNeverShareCgroups(t *testing.T) {
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("skipping: unshare(1) not found")
	}
	if out, err := exec.Command(unshare, "--mount", "true").CombinedOutput(); err != nil {
		t.Skipf("skipping: cannot create a mount namespace here: %v: %s", err, out)
	}
	first, second := fmt.Sprintf("a%x", rand.Uint64()), fmt.Sprintf("b%x", rand.Uint64())
	dirA := newPebbleDir(t, nil)
	dirB := newPebbleDir(t, nil)
	treeService(t, dirA, first)
	treeService(t, dirB, second)

	a := startDaemon(t, dirA, daemonOptions{})
	cg := a.cgroup
	if cg.path == "" {
		t.Skip("skipping: cgroup v2 is not writable here")
	}
	// B sees dirB at dirA's path and runs with PEBBLE=dirA.
	bind := []string{unshare, "--mount", "--propagation", "private", "/bin/sh", "-c",
		`mount --bind "$1" "$2" && shift 2 && exec "$@"`, "sh", dirB, dirA}
	b := startDaemon(t, dirB, daemonOptions{wrap: bind, env: []string{"PEBBLE=" + dirA}, cgroup: cg})
	require.Equal(t, "Done", a.waitAutostart().Status)
	require.Equal(t, "Done", b.waitAutostart().Status)

	mainA, childA := markerPID(t, first), markerPID(t, first+"-child")
	mainB, childB := markerPID(t, second), markerPID(t, second+"-child")
	require.NotEmpty(t, cgroupOf(mainA))
	assert.Equal(t, cgroupOf(mainA), cgroupOf(childA), "the child left the session, not the cgroup")
	assert.NotEqual(t, cgroupOf(mainA), cgroupOf(mainB), "two daemons' services named svc share a cgroup")

	a.mustPebble("stop", "svc")
	waitGone(t, "A's service after stop", mainA, childA)
	require.True(t, pidAlive(mainB) && pidAlive(childB), "stopping A's service killed B's")
	assert.Equal(t, "active", b.serviceStatus("svc"))

	// A is killed, and a new daemon on dirA kills what it left.
	a.mustPebble("start", "svc")
	mainA, childA = markerPID(t, first), markerPID(t, first+"-child")
	a.signal(syscall.SIGKILL)
	a.waitExit(exitTimeout)
	a2 := startDaemon(t, dirA, daemonOptions{cgroup: cg})
	require.Equal(t, "Done", a2.waitAutostart().Status)
	waitGone(t, "A's leftovers after a new daemon started", mainA, childA)
	require.True(t, pidAlive(mainB) && pidAlive(childB), "a new daemon on A's directory killed B's service")
	assert.Equal(t, "active", b.serviceStatus("svc"))
	markerPID(t, first+"-child")

	// B stops cleanly and A2 is untouched.
	b.signal(syscall.SIGTERM)
	require.Equal(t, 0, b.waitExit(exitTimeout))
	waitGone(t, "B's service after B's exit", mainB, childB)
	assert.Equal(t, "active", a2.serviceStatus("svc"))
	markerPID(t, first)
	a2.stop()
}

// overlapCheck is a shell fragment that appends "overlap" to
// @DIR@/overlaps when the child recorded in @DIR@/child.pid (by an earlier
// run) is still alive, zombies aside.
const overlapCheck = `
if [ -f @DIR@/child.pid ]; then
    st=$(sed 's/.*) \(.\).*/\1/' /proc/$(cat @DIR@/child.pid)/stat 2>/dev/null)
    if [ -n "$st" ] && [ "$st" != Z ]; then echo overlap >> @DIR@/overlaps; fi
fi
echo $$ >> @DIR@/main.pids
`

// checkNoOverlap runs script (after overlapCheck; its child records its PID
// in @DIR@/child.pid and names itself "$1-child") as a service restarted on
// failure after backoff, until it has started runs times; then it stops
// the service and checks that no run started while an earlier run's child
// lived, and that no child is left.
func checkNoOverlap(t *testing.T, script, backoff string, runs int) {
	marker := fmt.Sprintf("m%x", rand.Uint64())
	dir := newPebbleDir(t, nil)
	writeScript(t, dir, "svc.sh", overlapCheck+script)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    svc:
        override: replace
        command: /bin/sh @DIR@/svc.sh ` + marker + `
        on-failure: restart
        backoff-delay: ` + backoff + `
        backoff-factor: 1
`})
	d := startDaemon(t, dir, daemonOptions{})
	d.mustPebble("start", "--no-wait", "svc")
	waitLines(t, filepath.Join(dir, "main.pids"), runs, changeTimeout)
	d.mustPebble("stop", "svc")
	assert.Empty(t, readLines(filepath.Join(dir, "overlaps")), "a run started while an earlier run's child lived")
	assert.Empty(t, processesWithArg(marker+"-child"), "children left after stop")
	d.stop()
}

// TestRestartsKillWhatTheLastRunLeft: a service that leaves a child in its
// own session and exits is restarted several times; each run's child is
// gone before the next run starts, and nothing is left after stop.
func TestRestartsKillWhatTheLastRunLeft(t *testing.T) {
	checkNoOverlap(t, `
setsid sh -c 'echo $$ > @DIR@/child.pid; sleep 1000; :' "$1-child" &
sleep 0.3
exit 1
`, "50ms", 5)
}

// TestIgnoredExitKillsTheRest: with on-success and on-failure "ignore", what
// the main process left behind is killed when it exits, cleanly or not.
func TestIgnoredExitKillsTheRest(t *testing.T) {
	for _, code := range []int{0, 3} {
		t.Run(fmt.Sprintf("exit-%d", code), func(t *testing.T) {
			marker := fmt.Sprintf("m%x", rand.Uint64())
			dir := newPebbleDir(t, nil)
			writeScript(t, dir, "svc.sh", fmt.Sprintf(`
setsid sh -c 'sleep 1000; :' "$1-child" &
sh -c 'sleep 1000; :' "$1-sibling" &
echo started > @DIR@/started
while [ ! -f @DIR@/go ]; do sleep 0.05; done
exit %d
`, code))
			writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    svc:
        override: replace
        command: /bin/sh @DIR@/svc.sh ` + marker + `
        on-success: ignore
        on-failure: ignore
`})
			d := startDaemon(t, dir, daemonOptions{})
			d.mustPebble("start", "svc")
			child, sibling := markerPID(t, marker+"-child"), markerPID(t, marker+"-sibling")
			writeFile(t, filepath.Join(dir, "go"), "")
			waitGone(t, "the exited service's leftovers", child, sibling)
			want := map[int]string{0: "inactive", 3: "error"}[code]
			testutil.WaitFor(t, changeTimeout, func() error {
				if got := d.serviceStatus("svc"); got != want {
					return fmt.Errorf("service is %s, want %s", got, want)
				}
				return nil
			})
			d.stop()
		})
	}
}

// TestNoSecondGenerationWhileAChildHoldsTheOutput (issue 17): the main
// process dies while a child that ignores SIGTERM keeps its stdout open;
// the restart waits until that child is gone (SIGKILL after a short grace).
func TestNoSecondGenerationWhileAChildHoldsTheOutput(t *testing.T) {
	checkNoOverlap(t, `
sh -c 'trap "" TERM; echo $$ > @DIR@/child.pid; while :; do echo tick; sleep 0.05; done' "$1-child" &
sleep 0.2
kill -9 $$
`, "10ms", 4)
}

// TestDaemonExitKillsWhatExitedRunsLeft: a service exits cleanly (action
// ignore) leaving a child that ignores SIGTERM, and the daemon is told to
// exit at once: nothing of the service, and none of its cgroups, is left.
func TestDaemonExitKillsWhatExitedRunsLeft(t *testing.T) {
	marker := fmt.Sprintf("m%x", rand.Uint64())
	dir := newPebbleDir(t, nil)
	writeScript(t, dir, "svc.sh", `
setsid sh -c 'trap "" TERM; sleep 1000; :' "$1-child" &
while [ ! -f @DIR@/go ]; do sleep 0.05; done
exit 0
`)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    svc:
        override: replace
        command: /bin/sh @DIR@/svc.sh ` + marker + `
        on-success: ignore
`})
	d := startDaemon(t, dir, daemonOptions{})
	d.mustPebble("start", "svc")
	child := markerPID(t, marker+"-child")
	writeFile(t, filepath.Join(dir, "go"), "")
	testutil.WaitFor(t, changeTimeout, func() error {
		if got := d.serviceStatus("svc"); got != "inactive" {
			return fmt.Errorf("service is %s, want inactive", got)
		}
		return nil
	})
	d.stop()
	assert.False(t, pidAlive(child), "the child of the exited run outlived the daemon")
}
