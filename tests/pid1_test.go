package tests

import (
	"fmt"
	"math/rand/v2"
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

// namespaceProcs lists the processes in the PID namespace of pid, zombies
// included, with their one-letter states.
func namespaceProcs(pid int) (map[int]string, error) {
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	procs := map[int]string{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", p)); err == nil && link == ns {
			if state := procState(p); state != "" {
				procs[p] = state
			}
		}
	}
	return procs, nil
}

// TestPID1ReapsOrphans: as PID 1 of a PID namespace the daemon reaps the
// orphaned grandchildren of its services (behaviour.md §13).
func TestPID1ReapsOrphans(t *testing.T) {
	wrap := unshareWrap(t)
	const orphans = 20
	dir := newPebbleDir(t, nil)
	writeScript(t, dir, "spawner.sh", `
i=0
while [ $i -lt `+strconv.Itoa(orphans)+` ]; do
    # The subshell exits at once, so its child is orphaned and re-parented
    # to the daemon, which must reap it when it exits.
    ( sh -c 'sleep 0.2; echo x >> @DIR@/orphans' & )
    i=$((i+1))
done
sleep 1000 &
wait
`)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    spawner:
        override: replace
        command: /bin/sh @DIR@/spawner.sh
        startup: enabled
`})
	d := startDaemon(t, dir, daemonOptions{wrap: wrap})
	pid := d.daemonPID()
	require.NotZero(t, pid)
	nspid := strings.Fields(procStatusField(pid, "NSpid"))
	require.NotEmpty(t, nspid)
	require.Equal(t, "1", nspid[len(nspid)-1], "daemon is not PID 1 in its namespace (NSpid %v)", nspid)

	require.Equal(t, "Done", d.waitAutostart().Status)
	waitLines(t, filepath.Join(dir, "orphans"), orphans, 10*time.Second)
	testutil.WaitFor(t, 5*time.Second, func() error {
		procs, err := namespaceProcs(pid)
		if err != nil {
			return err
		}
		var zombies []int
		for p, state := range procs {
			if state == "Z" {
				zombies = append(zombies, p)
			}
		}
		if len(zombies) > 0 {
			return fmt.Errorf("zombies in the daemon's PID namespace: %v (all: %v)", zombies, procs)
		}
		return nil
	})
	d.stop()
}

// TestRestartAfterSIGKILL: a daemon killed with SIGKILL and started again on
// the same $PEBBLE keeps its change history (IDs continue) and runs each
// service exactly once (behaviour.md §10.2). As PID 1 of a PID namespace, as
// in a container, the daemon's death takes its services with it; as a plain
// process it leaves them orphaned, and the next daemon must get rid of them.
func TestRestartAfterSIGKILL(t *testing.T) {
	t.Run("pid1", func(t *testing.T) {
		testRestartAfterSIGKILL(t, unshareWrap(t))
	})
	t.Run("plain", func(t *testing.T) {
		testRestartAfterSIGKILL(t, nil)
	})
}

func testRestartAfterSIGKILL(t *testing.T, wrap []string) {
	marker := fmt.Sprintf("marker-%016x", rand.Uint64())
	dir := newPebbleDir(t, nil)
	writeScript(t, dir, "svc.sh", `
echo $$ >> @DIR@/svc.pids
sleep 1000 &
wait
`)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    svc:
        override: replace
        command: /bin/sh @DIR@/svc.sh ` + marker + `
        startup: enabled
`})
	d1 := startDaemon(t, dir, daemonOptions{wrap: wrap})
	require.Equal(t, "Done", d1.waitAutostart().Status)
	restart := d1.serviceAction("restart", "svc")
	require.Equal(t, "Done", d1.waitChange(restart).Status)
	before := d1.changes()
	require.Len(t, before, 2, "changes before the kill: %+v", before)
	require.Len(t, processesWithArg(marker), 1)

	// Let the state reach the disk before the kill: the state file must
	// have been written after the last change was ready (file times come
	// from the kernel's coarse clock, hence the margin) and then stay put.
	last := before[len(before)-1]
	statePath := filepath.Join(dir, ".pebble.state")
	var seen time.Time
	var seenAt time.Time
	testutil.WaitFor(t, 5*time.Second, func() error {
		st, err := os.Stat(statePath)
		if err != nil {
			return err
		}
		if st.ModTime().Before(last.ReadyTime.Add(-50 * time.Millisecond)) {
			return fmt.Errorf("state file last written %v, before change %s was ready (%v)", st.ModTime(), last.ID, last.ReadyTime)
		}
		if !st.ModTime().Equal(seen) {
			seen, seenAt = st.ModTime(), time.Now()
		}
		if time.Since(seenAt) < 200*time.Millisecond {
			return fmt.Errorf("state file still being written (last at %v)", seen)
		}
		return nil
	})

	orphans := processesWithArg(marker)
	d1.signal(syscall.SIGKILL)
	d1.waitExit(exitTimeout)
	if wrap != nil {
		testutil.WaitFor(t, 5*time.Second, func() error {
			if left := processesWithArg(marker); len(left) > 0 {
				return fmt.Errorf("service processes of the killed PID 1 still running:\n%s", describeProcs(left))
			}
			return nil
		})
	} else {
		require.True(t, pidAlive(orphans[0].pid), "the service should outlive a daemon that is not PID 1")
	}
	_, err := os.Stat(d1.socket)
	require.NoError(t, err, "a SIGKILLed daemon cannot remove its socket; the next one must handle the stale file")

	d2 := startDaemon(t, dir, daemonOptions{wrap: wrap})
	auto := d2.waitAutostart()
	require.Equal(t, "Done", auto.Status)
	after := d2.changes()
	require.GreaterOrEqual(t, len(after), len(before)+1)
	for i, old := range before {
		assert.Equal(t, old.ID, after[i].ID)
		assert.Equal(t, old.Kind, after[i].Kind)
		assert.Equal(t, old.Summary, after[i].Summary)
		assert.Equal(t, old.Status, after[i].Status)
	}
	lastOld, _ := strconv.Atoi(last.ID)
	newID, _ := strconv.Atoi(auto.ID)
	assert.Greater(t, newID, lastOld, "change IDs must continue after a restart")

	out := d2.mustPebble("changes")
	for _, old := range before {
		assert.Regexp(t, `(?m)^`+old.ID+`\s+Done\s`, out)
	}

	// The orphan of the killed daemon is gone, and the service runs once.
	testutil.WaitFor(t, 10*time.Second, func() error {
		if pidAlive(orphans[0].pid) {
			return fmt.Errorf("orphan %d of the killed daemon still running", orphans[0].pid)
		}
		return nil
	})
	procs := processesWithArg(marker)
	require.Len(t, procs, 1, "service processes after restart:\n%s", describeProcs(procs))
	pids := readLines(filepath.Join(dir, "svc.pids"))
	require.Len(t, pids, 3, "svc should have started three times in all")
	// PIDs restart in the new namespace, so compare the start count and
	// the live process's own view of its PID.
	assert.Equal(t, pids[2], innermostPID(procs[0].pid))
	assert.Equal(t, "active", d2.serviceStatus("svc"))
	d2.stop()
	assert.Empty(t, processesWithArg(marker))
}

// innermostPID is pid as seen inside its own PID namespace (the last NSpid
// field), which is what a service's $$ shows.
func innermostPID(pid int) string {
	f := strings.Fields(procStatusField(pid, "NSpid"))
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}
