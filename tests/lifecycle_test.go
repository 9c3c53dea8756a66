package tests

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/client"
)

// End-to-end tests of readiness and one-shot services (docs/readiness.md,
// docs/oneshot.md). Every service records its own moments with
// `date +%s%N` (or, the notifier, Go's clock) into @DIR@/marks, so the order
// is read from the processes themselves.

// helperEnv makes the test binary run a helper instead of the tests
// (TestMain): a service that needs more than a shell.
const helperEnv = "PEBBLE_E2E_HELPER"

// runHelper runs the named helper and returns its exit code.
func runHelper(name string) int {
	switch name {
	case "notify":
		return notifyHelper()
	case "counter":
		return counterHelper()
	}
	fmt.Fprintf(os.Stderr, "unknown helper %q\n", name)
	return 2
}

// notifyHelper is a service speaking sd_notify: it marks its start, waits
// $READY_AFTER (or, with $READY_FILE, until that file exists), sends STATUS=serving and READY=1 to $NOTIFY_SOCKET, marks
// that moment, and runs until killed.
func notifyHelper() int {
	mark("notifier-start")
	delay, _ := time.ParseDuration(os.Getenv("READY_AFTER"))
	time.Sleep(delay)
	for file := os.Getenv("READY_FILE"); file != ""; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(file); err == nil {
			break
		}
	}
	addr := os.Getenv("NOTIFY_SOCKET")
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot dial notify socket:", err)
		return 1
	}
	mark("notifier-ready")
	if _, err := conn.Write([]byte("STATUS=serving\nREADY=1\n")); err != nil {
		fmt.Fprintln(os.Stderr, "cannot notify:", err)
		return 1
	}
	select {}
}

// mark appends "<what> <unix nanoseconds>" to $MARKS.
func mark(what string) {
	f, err := os.OpenFile(os.Getenv("MARKS"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		panic(err)
	}
	fmt.Fprintf(f, "%s %d\n", what, time.Now().UnixNano())
	f.Close()
}

// marker is a shell service body that marks its start, then runs body.
func marker(name, body string) string {
	return `echo "` + name + `-start $(date +%s%N)" >> @DIR@/marks
` + body
}

// marks reads @DIR@/marks: the time of each mark.
func marks(t *testing.T, dir string) map[string]time.Time {
	t.Helper()
	out := map[string]time.Time{}
	for _, line := range readLines(filepath.Join(dir, "marks")) {
		name, ns, ok := strings.Cut(line, " ")
		require.True(t, ok, "bad mark %q", line)
		n, err := strconv.ParseInt(ns, 10, 64)
		require.NoError(t, err, "bad mark %q", line)
		out[name] = time.Unix(0, n)
	}
	return out
}

// serviceInfo returns one service through the Go client.
func (d *daemon) lifecycleInfo(name string) *client.ServiceInfo {
	d.t.Helper()
	infos, err := d.client().Services(context.Background(), &client.ServicesOptions{Names: []string{name}})
	require.NoError(d.t, err)
	require.Len(d.t, infos, 1)
	return infos[0]
}

// TestReadinessCheckGatesDependent: web (requires + after db) starts only
// once db's check has passed, 2 s after db started, not at the 1 s okay
// delay; lone, which depends on nothing, starts at once.
func TestReadinessCheckGatesDependent(t *testing.T) {
	dir := newPebbleDir(t, nil)
	writeScript(t, dir, "db.sh", marker("db", `sleep 2
echo "db-ready $(date +%s%N)" >> @DIR@/marks
touch @DIR@/db.ready
sleep 1000 & wait`))
	writeScript(t, dir, "web.sh", marker("web", "sleep 1000 & wait"))
	writeScript(t, dir, "lone.sh", marker("lone", "sleep 1000 & wait"))
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
checks:
    db-ready:
        override: replace
        period: 100ms
        exec:
            command: test -f @DIR@/db.ready
services:
    db:
        override: replace
        command: /bin/sh @DIR@/db.sh
        readiness:
            check: db-ready
        start-timeout: 30s
    web:
        override: replace
        command: /bin/sh @DIR@/web.sh
        startup: enabled
        requires: [db]
        after: [db]
    lone:
        override: replace
        command: /bin/sh @DIR@/lone.sh
        startup: enabled
`})
	d := startDaemon(t, dir, daemonOptions{})
	chg := d.waitAutostart()
	require.Equal(t, "Done", chg.Status, "autostart: %+v", chg)
	m := marks(t, dir)
	require.Contains(t, m, "web-start")
	assert.True(t, m["web-start"].After(m["db-ready"]), "web started %s, before db was ready %s", m["web-start"], m["db-ready"])
	assert.GreaterOrEqual(t, m["web-start"].Sub(m["db-start"]), 2*time.Second, "web waited for the check, not the okay delay")
	assert.True(t, m["lone-start"].Before(m["db-ready"]), "lone did not wait for db")
	info := d.lifecycleInfo("db")
	assert.Equal(t, client.StatusActive, info.Current)
	assert.Equal(t, "ready", info.Readiness)
	d.stop()
}

// TestNotifyReadiness: a service that sends READY=1 on $NOTIFY_SOCKET after
// 1.5 s gates its dependent until then; its STATUS shows in the API and in
// pebble services.
func TestNotifyReadiness(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	dir := newPebbleDir(t, nil)
	writeScript(t, dir, "web.sh", marker("web", "sleep 1000 & wait"))
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    notifier:
        override: replace
        command: ` + exe + `
        environment:
            ` + helperEnv + `: notify
            READY_AFTER: 1500ms
            MARKS: @DIR@/marks
        readiness:
            notify: true
    web:
        override: replace
        command: /bin/sh @DIR@/web.sh
        requires: [notifier]
        after: [notifier]
`})
	d := startDaemon(t, dir, daemonOptions{})
	res := d.pebble("start", "web")
	require.Equal(t, 0, res.code, "pebble start web: %+v", res)
	m := marks(t, dir)
	require.Contains(t, m, "notifier-ready")
	assert.True(t, m["web-start"].After(m["notifier-ready"]), "web started %s, before READY=1 at %s", m["web-start"], m["notifier-ready"])
	assert.GreaterOrEqual(t, m["web-start"].Sub(m["notifier-start"]), 1500*time.Millisecond)
	info := d.lifecycleInfo("notifier")
	assert.Equal(t, "ready", info.Readiness)
	assert.Equal(t, "serving", info.StatusText)
	rows := tableRows(d.mustPebble("services"))
	assert.Equal(t, []string{"Service", "Startup", "Current", "Since", "Notes"}, rows[0])
	assert.Equal(t, []string{"ready,", `"serving"`}, rows[1][len(rows[1])-2:], "notifier row %q", rows[1])
	d.stop()
}

// TestStartTimeoutLeavesDependentUnstarted: a service never ready within
// its start-timeout is stopped, the start fails saying so, and its
// dependent is never started, its task saying why.
func TestStartTimeoutLeavesDependentUnstarted(t *testing.T) {
	dir := newPebbleDir(t, nil)
	writeScript(t, dir, "db.sh", marker("db", "echo $$ > @DIR@/db.pid\nsleep 1000 & wait"))
	writeScript(t, dir, "web.sh", marker("web", "sleep 1000 & wait"))
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    db:
        override: replace
        command: /bin/sh @DIR@/db.sh
        readiness:
            notify: true
        start-timeout: 1500ms
    web:
        override: replace
        command: /bin/sh @DIR@/web.sh
        requires: [db]
        after: [db]
`})
	d := startDaemon(t, dir, daemonOptions{})
	res := d.pebble("start", "web")
	assert.NotEqual(t, 0, res.code)
	assert.Contains(t, res.stderr, `cannot start service "db": not ready within 1.5s`)
	m := marks(t, dir)
	assert.NotContains(t, m, "web-start", "web must never start")
	chgs := d.changes()
	chg := chgs[len(chgs)-1]
	require.Len(t, chg.Tasks, 2)
	assert.Equal(t, "Error", chg.Tasks[0].Status)
	assert.Equal(t, "Hold", chg.Tasks[1].Status)
	require.Len(t, chg.Tasks[1].Log, 1)
	assert.Contains(t, chg.Tasks[1].Log[0], fmt.Sprintf(`Not run: task %s (Start service "db") failed`, chg.Tasks[0].ID))
	info := d.lifecycleInfo("db")
	assert.Equal(t, client.StatusInactive, info.Current)
	assert.Equal(t, "timed-out", info.Readiness)
	pid, err := strconv.Atoi(readLines(filepath.Join(dir, "db.pid"))[0])
	require.NoError(t, err)
	assert.NoDirExists(t, fmt.Sprintf("/proc/%d", pid), "db was stopped")
	d.stop()
}

// TestOneshotGatesDependent: app (after a one-shot) starts only after the
// one-shot exited 0; a failing one-shot fails `pebble start` with its exit
// code and output, and its dependent never starts.
func TestOneshotGatesDependent(t *testing.T) {
	dir := newPebbleDir(t, nil)
	writeScript(t, dir, "migrate.sh", marker("migrate", `sleep 1.5
echo "migrate-end $(date +%s%N)" >> @DIR@/marks
echo migrated to 42`))
	writeScript(t, dir, "broken.sh", marker("broken", "echo schema locked\nexit 3"))
	for _, name := range []string{"app", "report"} {
		writeScript(t, dir, name+".sh", marker(name, "sleep 1000 & wait"))
	}
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    migrate:
        override: replace
        type: oneshot
        command: /bin/sh @DIR@/migrate.sh
        startup: enabled
    app:
        override: replace
        command: /bin/sh @DIR@/app.sh
        startup: enabled
        after: [migrate]
    broken:
        override: replace
        type: oneshot
        command: /bin/sh @DIR@/broken.sh
    report:
        override: replace
        command: /bin/sh @DIR@/report.sh
        requires: [broken]
        after: [broken]
`})
	d := startDaemon(t, dir, daemonOptions{})
	chg := d.waitAutostart()
	require.Equal(t, "Done", chg.Status, "autostart: %+v", chg)
	m := marks(t, dir)
	assert.True(t, m["app-start"].After(m["migrate-end"]), "app started %s, before migrate ended %s", m["app-start"], m["migrate-end"])
	info := d.lifecycleInfo("migrate")
	assert.Equal(t, client.StatusInactive, info.Current)
	require.NotNil(t, info.Oneshot)
	assert.Equal(t, 0, info.Oneshot.ExitCode)
	assert.Equal(t, "migrated to 42\n", info.Oneshot.Output)

	res := d.pebble("start", "report")
	assert.NotEqual(t, 0, res.code)
	assert.Contains(t, res.stderr, `cannot start service "broken": exited with code 3`)
	assert.Contains(t, res.stderr, "schema locked")
	assert.NotContains(t, marks(t, dir), "report-start", "report must never start")
	info = d.lifecycleInfo("broken")
	assert.Equal(t, client.StatusError, info.Current)
	require.NotNil(t, info.Oneshot)
	assert.Equal(t, 3, info.Oneshot.ExitCode)

	// Replan leaves the succeeded one-shot alone.
	require.Equal(t, 0, d.pebble("replan").code)
	assert.Len(t, readLines(filepath.Join(dir, "marks")), len(m)+1, "only broken's start was added")
	d.stop()
}

// TestGatedSiblingsStartTogether: web and worker both need the one-shot
// migrate and not each other, so both start as soon as migrate has exited 0
// (s6-rc's rule), where Pebble's lane would start worker only after web's
// 1 s okay delay.
func TestGatedSiblingsStartTogether(t *testing.T) {
	dir := newPebbleDir(t, nil)
	writeScript(t, dir, "migrate.sh", marker("migrate", `sleep 0.5
echo "migrate-end $(date +%s%N)" >> @DIR@/marks`))
	for _, name := range []string{"web", "worker"} {
		writeScript(t, dir, name+".sh", marker(name, "sleep 1000 & wait"))
	}
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    migrate:
        override: replace
        type: oneshot
        command: /bin/sh @DIR@/migrate.sh
    web:
        override: replace
        command: /bin/sh @DIR@/web.sh
        requires: [migrate]
        after: [migrate]
    worker:
        override: replace
        command: /bin/sh @DIR@/worker.sh
        requires: [migrate]
        after: [migrate]
`})
	d := startDaemon(t, dir, daemonOptions{})
	chg := d.waitChange(d.serviceAction("start", "web", "worker"))
	require.Equal(t, "Done", chg.Status, "start: %+v", chg)
	m := marks(t, dir)
	for _, name := range []string{"web", "worker"} {
		assert.True(t, m[name+"-start"].After(m["migrate-end"]), "%s started %s, before migrate ended %s", name, m[name+"-start"], m["migrate-end"])
	}
	gap := m["worker-start"].Sub(m["web-start"]).Abs()
	t.Logf("figure: web and worker started %v apart", gap.Round(time.Millisecond))
	// Waiting for the other's okay delay would put them about 1 s apart.
	assert.Less(t, gap, 500*time.Millisecond, "one sibling waited for the other's okay delay")
	d.stop()
}
