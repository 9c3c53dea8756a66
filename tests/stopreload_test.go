package tests

import (
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/client"
)

// signalRecorder is a service body that appends the name of each of the
// signals it traps to @DIR@/<script>.signals (QUIT, TERM and INT end it)
// and its PID to @DIR@/<script>.pid.
const signalRecorder = `
name=$(basename "$0" .sh)
trap 'echo QUIT >> @DIR@/$name.signals; exit 0' QUIT
trap 'echo TERM >> @DIR@/$name.signals; exit 0' TERM
trap 'echo INT >> @DIR@/$name.signals; exit 0' INT
trap 'echo HUP >> @DIR@/$name.signals' HUP
trap 'echo USR2 >> @DIR@/$name.signals' USR2
echo $$ >> @DIR@/$name.pid
while :; do sleep 0.05; done
`

// TestStopSignal: stop-signal is what a stop and the daemon's shutdown send
// first, and a service that exits on it is stopped without waiting for its
// kill-delay; a service without it gets SIGTERM as before.
func TestStopSignal(t *testing.T) {
	dir := newPebbleDir(t, nil)
	writeScript(t, dir, "quitter.sh", signalRecorder)
	writeScript(t, dir, "plain.sh", signalRecorder)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    quitter:
        override: replace
        command: /bin/sh @DIR@/quitter.sh
        startup: enabled
        stop-signal: SIGQUIT
        kill-delay: 20s
    plain:
        override: replace
        command: /bin/sh @DIR@/plain.sh
        startup: enabled
`})
	d := startDaemon(t, dir, daemonOptions{})
	require.Equal(t, "Done", d.waitAutostart().Status)

	begin := time.Now()
	d.mustPebble("stop", "quitter", "plain")
	took := time.Since(begin)
	assert.Equal(t, []string{"QUIT"}, readLines(filepath.Join(dir, "quitter.signals")))
	assert.Equal(t, []string{"TERM"}, readLines(filepath.Join(dir, "plain.signals")))
	assert.Less(t, took, 10*time.Second, "the stop waited for kill-delay: the service did not get its stop-signal")

	// The daemon's own shutdown sends stop-signal too.
	d.mustPebble("start", "quitter")
	d.signal(syscall.SIGTERM)
	assert.Equal(t, 0, d.waitExit(exitTimeout))
	assert.Equal(t, []string{"QUIT", "QUIT"}, readLines(filepath.Join(dir, "quitter.signals")))
	d.requireCleanExit()
}

// TestReload: `pebble reload` (the reload action of POST /v1/services)
// sends reload-signal to a service or runs its reload-command with the
// service's environment, as one change of kind "reload" with a task per
// service; the services keep running with the same PID. A service without
// a reload method, or not running, is a 400 error and makes no change.
func TestReload(t *testing.T) {
	dir := newPebbleDir(t, nil)
	writeScript(t, dir, "sig.sh", signalRecorder)
	writeScript(t, dir, "cmd.sh", signalRecorder)
	writeScript(t, dir, "plain.sh", signalRecorder)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    sig:
        override: replace
        command: /bin/sh @DIR@/sig.sh
        startup: enabled
        reload-signal: SIGHUP
    cmd:
        override: replace
        command: /bin/sh @DIR@/cmd.sh
        startup: enabled
        environment:
            MARK: m1
        reload-command: /bin/sh -c 'echo reloaded $MARK >> @DIR@/reloads'
    plain:
        override: replace
        command: /bin/sh @DIR@/plain.sh
        startup: enabled
    idle:
        override: replace
        command: /bin/sh @DIR@/plain.sh
        reload-signal: SIGHUP
`})
	d := startDaemon(t, dir, daemonOptions{})
	require.Equal(t, "Done", d.waitAutostart().Status)
	sigPID := readPID(t, filepath.Join(dir, "sig.pid"))
	cmdPID := readPID(t, filepath.Join(dir, "cmd.pid"))

	out := d.mustPebble("reload", "sig", "cmd")
	assert.Equal(t, []string{"HUP"}, waitLines(t, filepath.Join(dir, "sig.signals"), 1, changeTimeout))
	assert.Equal(t, []string{"reloaded m1"}, readLines(filepath.Join(dir, "reloads")), out)
	for name, pid := range map[string]int{"sig": sigPID, "cmd": cmdPID} {
		assert.Equal(t, []string{strconv.Itoa(pid)}, readLines(filepath.Join(dir, name+".pid")), "%s was restarted", name)
		assert.True(t, pidAlive(pid), "%s is gone", name)
		assert.Equal(t, "active", d.serviceStatus(name))
	}
	chgs := d.changes()
	chg := chgs[len(chgs)-1]
	assert.Equal(t, "reload", chg.Kind)
	assert.Equal(t, `Reload service "sig" and 1 more`, chg.Summary)
	assert.Equal(t, "Done", chg.Status)
	var summaries []string
	for _, tk := range chg.Tasks {
		assert.Equal(t, "reload", tk.Kind)
		summaries = append(summaries, tk.Summary)
	}
	assert.ElementsMatch(t, []string{`Reload service "sig"`, `Reload service "cmd"`}, summaries)

	// The Go client does the same.
	c := d.client()
	id, err := c.Reload(t.Context(), &client.ServiceOptions{Names: []string{"sig"}})
	require.NoError(t, err)
	_, err = c.WaitChange(t.Context(), id, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"HUP", "HUP"}, waitLines(t, filepath.Join(dir, "sig.signals"), 2, changeTimeout))

	// Errors come before any change.
	before := len(d.changes())
	for _, tc := range []struct {
		names []string
		want  string
	}{
		{[]string{"plain"}, `cannot reload service "plain": no reload-signal or reload-command`},
		{[]string{"sig", "idle"}, `cannot reload service "idle": service is not running`},
		{[]string{"nope"}, `cannot reload services: service "nope" does not exist`},
		{[]string{}, `must specify services for reload action`},
	} {
		status, env := d.requestJSON("POST", "/v1/services", map[string]any{"action": "reload", "services": tc.names})
		assert.Equal(t, 400, status, "%v", tc.names)
		assert.Equal(t, tc.want, apiErrorOf(env).Message, "%v", tc.names)
	}
	res := d.pebble("reload", "plain")
	assert.Equal(t, 1, res.code)
	assert.Equal(t, "error: cannot reload service \"plain\": no reload-signal or reload-command\n", res.stderr)
	assert.Len(t, d.changes(), before, "a refused reload made a change")
	assert.Equal(t, []string{"HUP", "HUP"}, readLines(filepath.Join(dir, "sig.signals")))
	assert.Empty(t, readLines(filepath.Join(dir, "plain.signals")))
	d.stop()
}

// TestReloadCommandFails: a reload-command that fails fails its task with
// the exit code and the output's last line; the service runs on.
func TestReloadCommandFails(t *testing.T) {
	dir := newPebbleDir(t, nil)
	writeScript(t, dir, "svc.sh", signalRecorder)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    svc:
        override: replace
        command: /bin/sh @DIR@/svc.sh
        startup: enabled
        reload-command: /bin/sh -c 'echo checking; echo bad config >&2; exit 3'
`})
	d := startDaemon(t, dir, daemonOptions{})
	require.Equal(t, "Done", d.waitAutostart().Status)
	res := d.pebble("reload", "svc")
	assert.Equal(t, 1, res.code)
	assert.Contains(t, res.stderr, `- Reload service "svc" (cannot reload service "svc": reload-command exited with code 3; its last output line: bad config)`)
	chgs := d.changes()
	chg := chgs[len(chgs)-1]
	assert.Equal(t, "Error", chg.Status)
	require.Len(t, chg.Tasks, 1)
	assert.Contains(t, strings.Join(chg.Tasks[0].Log, "\n"), "Most recent service output:\n    checking\n    bad config")
	assert.Equal(t, "active", d.serviceStatus("svc"))
	d.stop()
}
