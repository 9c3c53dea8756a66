package tests

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/testutil"
)

// crashLoop is a service body that stamps each run's start (in ns) into
// @DIR@/<script>.starts and exits 3.
const crashLoop = `
date +%s%N >> @DIR@/$(basename "$0" .sh).starts
exit 3
`

// readStamps reads a file of nanosecond stamps, one a line.
func readStamps(t *testing.T, path string) []time.Time {
	t.Helper()
	var out []time.Time
	for _, line := range readLines(path) {
		ns, err := strconv.ParseInt(line, 10, 64)
		require.NoError(t, err)
		out = append(out, time.Unix(0, ns))
	}
	return out
}

// serviceExits is a GET /v1/services entry with the exit fields.
type serviceExits struct {
	Name           string    `json:"name"`
	Current        string    `json:"current"`
	RestartCount   int       `json:"restart-count"`
	LastExitCode   *int      `json:"last-exit-code"`
	LastExitSignal string    `json:"last-exit-signal"`
	LastExitTime   time.Time `json:"last-exit-time"`
	Failure        string    `json:"failure"`
}

func (d *daemon) serviceExits(name string) serviceExits {
	d.t.Helper()
	var infos []serviceExits
	d.sync("GET", "/v1/services?names="+name, nil, &infos)
	require.Len(d.t, infos, 1)
	return infos[0]
}

// waitError waits until the service reads as "error" and returns its entry.
func (d *daemon) waitError(name string) serviceExits {
	d.t.Helper()
	var info serviceExits
	testutil.WaitFor(d.t, changeTimeout, func() error {
		if info = d.serviceExits(name); info.Current != "error" {
			return fmt.Errorf("service %q is %s", name, info.Current)
		}
		return nil
	})
	return info
}

// TestRestartBudgetShutdown: a crash-looping service with restart-limit 3
// runs exactly four times (the start and three restarts, each after its
// backoff), then its on-restart-limit action shuts the daemon down with
// the failure-shutdown exit code 10.
func TestRestartBudgetShutdown(t *testing.T) {
	dir := newPebbleDir(t, nil)
	writeScript(t, dir, "crash.sh", crashLoop)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    crash:
        override: replace
        command: /bin/sh @DIR@/crash.sh
        startup: enabled
        backoff-delay: 100ms
        restart-limit: 3
        restart-window: 1m
        on-restart-limit: failure-shutdown
`})
	d := startDaemon(t, dir, daemonOptions{})
	code := d.waitExit(exitTimeout)
	exited := time.Now()
	assert.Equal(t, 10, code, "daemon exit code")
	starts := readStamps(t, filepath.Join(dir, "crash.starts"))
	require.Len(t, starts, 4, "runs")
	for i, want := range []time.Duration{100, 200, 400} {
		gap := starts[i+1].Sub(starts[i])
		assert.GreaterOrEqual(t, gap, want*time.Millisecond, "gap before restart %d", i+1)
	}
	assert.Less(t, exited.Sub(starts[3]), 5*time.Second, "shutdown after the last run")
	log := d.stderr.String()
	assert.Contains(t, log, `Service "crash" restart limit reached: 3 restarts within 1m0s, not restarting`)
	assert.Contains(t, log, `Service "crash" on-restart-limit action is "failure-shutdown", triggering failure shutdown`)
	assert.Equal(t, 1, strings.Count(log, "restart limit reached"))
	d.requireCleanExit()
}

// TestRestartBudgetStaysFailed: with the default on-restart-limit (ignore)
// the service stays in "error" with its reason, restart count and last exit
// in the API and in `pebble services --exits`; `pebble start` and replan
// clear it and give it its budget again.
func TestRestartBudgetStaysFailed(t *testing.T) {
	dir := newPebbleDir(t, nil)
	writeScript(t, dir, "crash.sh", crashLoop)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    crash:
        override: replace
        command: /bin/sh @DIR@/crash.sh
        startup: enabled
        backoff-delay: 50ms
        restart-limit: 2
`})
	d := startDaemon(t, dir, daemonOptions{})
	starts := filepath.Join(dir, "crash.starts")
	info := d.waitError("crash")
	assert.Len(t, readLines(starts), 3, "runs")
	assert.Equal(t, 2, info.RestartCount)
	require.NotNil(t, info.LastExitCode)
	assert.Equal(t, 3, *info.LastExitCode)
	assert.Empty(t, info.LastExitSignal)
	last := readStamps(t, starts)[2]
	assert.False(t, info.LastExitTime.Before(last.Truncate(time.Second)), "exit time %v before the last start %v", info.LastExitTime, last)
	assert.Equal(t, "restart limit reached: 2 restarts since the last start", info.Failure)

	out := d.mustPebble("services", "--exits")
	rows := tableRows(out)
	require.Len(t, rows, 2, out)
	assert.Equal(t, []string{"Service", "Startup", "Current", "Since", "Restarts", "Exit", "Exited", "Failure"}, rows[0])
	assert.Equal(t, []string{"crash", "enabled", "error"}, rows[1][:3])
	assert.Contains(t, out, "  2  ")
	assert.Contains(t, out, "code 3")
	assert.Contains(t, out, "restart limit reached: 2 restarts since the last start")
	// Without the flag: Pebble's four columns.
	assert.Len(t, tableRows(d.mustPebble("services"))[0], 4)

	// Nothing more runs; a start clears the state and restarts the count.
	// (The start itself fails when the run exits within the okay delay,
	// as it does unless the machine is very loaded.)
	assert.Len(t, readLines(starts), 3, "runs after the failure")
	d.pebble("start", "crash")
	d.waitError("crash")
	assert.Len(t, readLines(starts), 6, "runs after a start")

	// So does a replan (the service is enabled).
	d.pebble("replan")
	info = d.waitError("crash")
	assert.Len(t, readLines(starts), 9, "runs after a replan")
	assert.Equal(t, 2, info.RestartCount)

	// Stop acknowledges the failure.
	out = d.mustPebble("stop", "crash")
	assert.Equal(t, "inactive", d.serviceStatus("crash"), out)
	assert.Empty(t, d.serviceExits("crash").Failure)
	d.stop()
}

// TestSuccessExitCodes: an exit code listed in success-exit-codes takes the
// on-success path: here on-success shutdown, a success shutdown (exit 0),
// where the on-failure action would have ignored it.
func TestSuccessExitCodes(t *testing.T) {
	dir := newPebbleDir(t, nil)
	writeScript(t, dir, "worker.sh", `
echo $$ > @DIR@/worker.pid
while [ ! -e @DIR@/go ]; do sleep 0.05; done
exit 42
`)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    worker:
        override: replace
        command: /bin/sh @DIR@/worker.sh
        startup: enabled
        on-success: shutdown
        on-failure: ignore
        success-exit-codes: [42]
`})
	d := startDaemon(t, dir, daemonOptions{})
	require.Equal(t, "Done", d.waitAutostart().Status)
	writeFile(t, filepath.Join(dir, "go"), "")
	assert.Equal(t, 0, d.waitExit(exitTimeout), "daemon exit code")
	log := d.stderr.String()
	assert.Contains(t, log, `Service "worker" stopped unexpectedly with code 42`)
	assert.Contains(t, log, `Service "worker" on-success action is "shutdown", triggering success shutdown`)
	d.requireCleanExit()
}

// TestServicesPebbleFieldsOnly: a service that never exited has none of
// the new fields in GET /v1/services, as in Pebble.
func TestServicesPebbleFieldsOnly(t *testing.T) {
	dir := newPebbleDir(t, nil)
	writeScript(t, dir, "idle.sh", longRunning)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    idle:
        override: replace
        command: /bin/sh @DIR@/idle.sh
        startup: enabled
`})
	d := startDaemon(t, dir, daemonOptions{})
	require.Equal(t, "Done", d.waitAutostart().Status)
	_, env := d.request("GET", "/v1/services", nil)
	var raw []map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(env.Result, &raw))
	require.Len(t, raw, 1)
	var keys []string
	for k := range raw[0] {
		keys = append(keys, k)
	}
	assert.ElementsMatch(t, []string{"name", "startup", "current", "current-since"}, keys)
	d.stop()
}
