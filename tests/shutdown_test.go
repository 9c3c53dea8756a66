package tests

import (
	"errors"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/pebble-project/pebble/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestShutdownActions: a service's exit action can end the daemon, with the
// exit code of cli.md §4.1; the other services are stopped on the way out.
func TestShutdownActions(t *testing.T) {
	tests := []struct {
		name     string
		field    string // on-success or on-failure
		action   string
		exit     int // the service's exit code
		wantCode int
		wantLog  string
	}{
		{"on-failure shutdown", "on-failure", "shutdown", 1, 10, `Service "worker" on-failure action is "shutdown", triggering failure shutdown`},
		{"on-success shutdown", "on-success", "shutdown", 0, 0, `Service "worker" on-success action is "shutdown", triggering success shutdown`},
		{"success-shutdown", "on-failure", "success-shutdown", 1, 0, `Service "worker" on-failure action is "success-shutdown", triggering success shutdown`},
		{"failure-shutdown", "on-success", "failure-shutdown", 0, 10, `Service "worker" on-success action is "failure-shutdown", triggering failure shutdown`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := newPebbleDir(t, nil)
			writeScript(t, dir, "bystander.sh", longRunning)
			// The worker runs past its okay delay, then exits when told to.
			writeScript(t, dir, "worker.sh", `
echo $$ > @DIR@/worker.pid
while [ ! -e @DIR@/go ]; do sleep 0.05; done
exit `+strconv.Itoa(tt.exit)+`
`)
			writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    worker:
        override: replace
        command: /bin/sh @DIR@/worker.sh
        startup: enabled
        ` + tt.field + `: ` + tt.action + `
    bystander:
        override: replace
        command: /bin/sh @DIR@/bystander.sh
        startup: enabled
`})
			d := startDaemon(t, dir, daemonOptions{})
			require.Equal(t, "Done", d.waitAutostart().Status)
			bystander := readPID(t, filepath.Join(dir, "bystander.pid"))
			require.True(t, pidAlive(bystander))

			writeFile(t, filepath.Join(dir, "go"), "")
			code := d.waitExit(exitTimeout)
			assert.Equal(t, tt.wantCode, code, "daemon exit code")
			log := d.stderr.String()
			assert.Contains(t, log, `Service "worker" stopped unexpectedly with code `+strconv.Itoa(tt.exit))
			assert.Contains(t, log, tt.wantLog)
			assert.False(t, pidAlive(bystander), "bystander %d still running", bystander)
			d.requireCleanExit()
		})
	}
}

// TestSIGTERMStopsServicesInReverseOrder: SIGTERM stops every running
// service in the plan's stop order (dependents first) and exits 0
// (behaviour.md §11).
func TestSIGTERMStopsServicesInReverseOrder(t *testing.T) {
	dir := newPebbleDir(t, nil)
	for _, name := range []string{"db", "app", "web"} {
		// The handler takes a moment, so a second SIGTERM would run it
		// again: each service must get exactly one.
		writeScript(t, dir, name+".sh", `
trap 'echo `+name+` >> @DIR@/stopped; sleep 0.2; exit 0' TERM
echo $$ > @DIR@/`+name+`.pid
sleep 1000 &
wait
`)
	}
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    db:
        override: replace
        command: /bin/sh @DIR@/db.sh
        startup: enabled
    app:
        override: replace
        command: /bin/sh @DIR@/app.sh
        startup: enabled
        requires: [db]
        after: [db]
    web:
        override: replace
        command: /bin/sh @DIR@/web.sh
        startup: enabled
        requires: [app]
        after: [app]
`})
	d := startDaemon(t, dir, daemonOptions{})
	require.Equal(t, "Done", d.waitAutostart().Status)
	var pids []int
	for _, name := range []string{"db", "app", "web"} {
		pids = append(pids, readPID(t, filepath.Join(dir, name+".pid")))
	}

	d.signal(syscall.SIGTERM)
	code := d.waitExit(exitTimeout)
	assert.Equal(t, 0, code, "daemon exit code after SIGTERM")
	assert.Equal(t, []string{"web", "app", "db"}, readLines(filepath.Join(dir, "stopped")), "stop order (one SIGTERM each)")
	for _, pid := range pids {
		assert.False(t, pidAlive(pid), "service process %d still running", pid)
	}
	log := d.stderr.String()
	assert.Contains(t, log, "Exiting on terminated signal.")
	assert.Contains(t, log, "Stopping all running services.")
	d.requireCleanExit()
}

// TestRestartAfterShutdownActionDoesNotReplay: after a service's
// `on-failure: shutdown` ended the daemon, a new daemon on the same $PEBBLE
// neither re-runs the old start change nor exits again (Pebble v1.32 replays
// the interrupted change). Both the case where the service failed inside
// its okay delay (the start task was still running) and after it are
// covered.
func TestRestartAfterShutdownActionDoesNotReplay(t *testing.T) {
	for _, tt := range []struct {
		name       string
		delay      string // how long the worker lives before failing
		wantStatus string // of the start change, after the restart
	}{
		{"inside okay delay", "0.2", "Error"},
		{"after okay delay", "1.5", "Done"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := newPebbleDir(t, nil)
			writeScript(t, dir, "worker.sh", `
echo run >> @DIR@/runs
sleep `+tt.delay+`
exit 1
`)
			writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    worker:
        override: replace
        command: /bin/sh @DIR@/worker.sh
        on-failure: shutdown
`})
			d := startDaemon(t, dir, daemonOptions{})
			id := d.serviceAction("start", "worker")
			require.Equal(t, 10, d.waitExit(exitTimeout), "the shutdown action ends the daemon with 10")
			d.requireCleanExit()
			require.Equal(t, []string{"run"}, readLines(filepath.Join(dir, "runs")))

			d2 := startDaemon(t, dir, daemonOptions{})
			// The old change is over, whatever state the first daemon
			// left it in, and its start is never re-run.
			old := d2.waitChange(id)
			assert.True(t, old.Ready)
			assert.Equal(t, tt.wantStatus, old.Status, old.Err)
			// Nothing happens during a window longer than the okay delay
			// plus the worker's lifetime: no second run, no exit.
			deadline := time.Now().Add(2500 * time.Millisecond)
			for time.Now().Before(deadline) {
				select {
				case <-d2.exited:
					t.Fatalf("the restarted daemon exited with %d:\n%s", *d2.exitCode, d2.stderr.String())
				case <-time.After(100 * time.Millisecond):
				}
				require.Equal(t, []string{"run"}, readLines(filepath.Join(dir, "runs")), "the worker ran again")
			}
			assert.Equal(t, "inactive", d2.serviceStatus("worker"))
			d2.stop()
		})
	}
}

// TestShutdownWaitsForACheckRestart: SIGTERM to the daemon while a failed
// check's restart is stopping a service that ignores SIGTERM. That stop
// belongs to no change, so the daemon waits for it separately, with SIGKILL
// after kill-delay, before it exits: no process or cgroup is left behind
// and the service is not started again. (The daemon exited at once,
// leaving the service's cgroup behind.)
func TestShutdownWaitsForACheckRestart(t *testing.T) {
	dir := newPebbleDir(t, nil)
	writeScript(t, dir, "stubborn.sh", `
trap 'echo term >> @DIR@/term' TERM
echo $$ >> @DIR@/stubborn.pid
while :; do sleep 0.1; done
`)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    stubborn:
        override: replace
        command: /bin/sh @DIR@/stubborn.sh
        startup: enabled
        kill-delay: 1s
        on-check-failure:
            fails: restart
checks:
    fails:
        override: replace
        period: 100ms
        threshold: 1
        exec:
            command: /bin/sh -c "test ! -e @DIR@/fail"
`})
	d := startDaemon(t, dir, daemonOptions{})
	require.Equal(t, "Done", d.waitAutostart().Status)
	writeFile(t, filepath.Join(dir, "fail"), "")
	testutil.WaitFor(t, 10*time.Second, func() error {
		if len(readLines(filepath.Join(dir, "term"))) == 0 {
			return errors.New("the check has not stopped the service yet")
		}
		return nil
	})

	d.signal(syscall.SIGTERM)
	assert.Equal(t, 0, d.waitExit(exitTimeout), "daemon exit code after SIGTERM")
	pids := readLines(filepath.Join(dir, "stubborn.pid"))
	assert.Len(t, pids, 1, "the service was started again")
	for _, p := range pids {
		pid, err := strconv.Atoi(p)
		require.NoError(t, err)
		assert.False(t, pidAlive(pid), "service process %d still running", pid)
	}
	d.requireCleanExit()
}
