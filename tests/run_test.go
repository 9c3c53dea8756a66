package tests

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/testutil"
)

// waitStderr waits until the daemon's log contains text.
func (d *daemon) waitStderr(text string) {
	d.t.Helper()
	testutil.WaitFor(d.t, readyTimeout, func() error {
		if !strings.Contains(d.stderr.String(), text) {
			return fmt.Errorf("no %q in the daemon log", text)
		}
		return nil
	})
}

// TestSecondDaemonLeavesFirstAlone: a second `pebble run` on a $PEBBLE whose
// daemon is alive exits 1 with Pebble's message, and the first daemon's
// services keep running with the same PIDs; its socket still answers.
func TestSecondDaemonLeavesFirstAlone(t *testing.T) {
	dir := newPebbleDir(t, nil)
	writeScript(t, dir, "one.sh", longRunning)
	writeScript(t, dir, "two.sh", longRunning)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    one:
        override: replace
        command: /bin/sh @DIR@/one.sh
        startup: enabled
        on-failure: shutdown
    two:
        override: replace
        command: /bin/sh @DIR@/two.sh
        startup: enabled
`})
	first := startDaemon(t, dir, daemonOptions{})
	require.Equal(t, "Done", first.waitAutostart().Status)
	pids := []int{readPID(t, filepath.Join(dir, "one.pid")), readPID(t, filepath.Join(dir, "two.pid"))}

	for _, args := range [][]string{nil, {"--create-dirs"}} {
		second := startDaemon(t, dir, daemonOptions{args: args, noWait: true})
		assert.Equal(t, 1, second.waitExit(exitTimeout))
		socket := filepath.Join(dir, ".pebble.socket")
		assert.Equal(t, fmt.Sprintf("cannot run daemon: when trying to listen on %s: socket %q already in use\n", socket, socket), second.stderr.String())
	}

	for _, pid := range pids {
		assert.True(t, pidAlive(pid), "service process %d was killed", pid)
	}
	assert.Equal(t, pids, []int{readPID(t, filepath.Join(dir, "one.pid")), readPID(t, filepath.Join(dir, "two.pid"))}, "a service was restarted")
	for _, s := range first.services() {
		assert.Equal(t, "active", s.Current, s.Name)
	}
	first.stop()
}

// waitFileContent waits until a service has written a whole line to path
// (the shell creates the file before echo writes to it) and returns the
// file's content.
func waitFileContent(t *testing.T, path string) string {
	t.Helper()
	var data []byte
	testutil.WaitFor(t, readyTimeout, func() error {
		var err error
		data, err = os.ReadFile(path)
		if err == nil && !bytes.HasSuffix(data, []byte("\n")) {
			err = fmt.Errorf("%s holds %q, not a whole line yet", path, data)
		}
		return err
	})
	return string(data)
}

// TestRunArgs: `pebble run --args` replaces a service's default arguments,
// up to ";" or, without one, to the end of the command line (cli.md §4).
func TestRunArgs(t *testing.T) {
	layer := `
services:
    svc:
        override: replace
        command: /bin/sh -c 'echo "$*"; echo "$*" > @DIR@/args; exec sleep 1000' sh [ default words ]
        startup: enabled
    other:
        override: replace
        command: /bin/sh -c 'echo "$*" > @DIR@/other-args; exec sleep 1000' sh
        startup: enabled
`
	tests := []struct {
		name    string
		args    []string
		svc     string
		other   string
		verbose bool
	}{
		{"none", nil, "default words", "", false},
		{"to the end", []string{"--args", "svc", "--port", "80"}, "--port 80", "", false},
		{"terminated", []string{"--args", "svc", "a b", ";", "--verbose"}, "a b", "", true},
		{"two services", []string{"--args", "svc", ";", "--args", "other", "x"}, "", "x", false},
		{"flags taken as words", []string{"--args", "svc", "--hold", "-v"}, "--hold -v", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := newPebbleDir(t, map[string]string{"001-base.yaml": layer})
			d := startDaemon(t, dir, daemonOptions{args: tt.args})
			require.Equal(t, "Done", d.waitAutostart().Status)
			assert.Equal(t, tt.svc+"\n", waitFileContent(t, filepath.Join(dir, "args")))
			assert.Equal(t, tt.other+"\n", waitFileContent(t, filepath.Join(dir, "other-args")))
			if tt.verbose {
				assert.Contains(t, d.stdout.String(), "[svc] "+tt.svc+"\n")
			} else {
				assert.Empty(t, d.stdout.String())
			}
			d.stop()
		})
	}

	dir := newPebbleDir(t, map[string]string{"001-base.yaml": layer})
	d := startDaemon(t, dir, daemonOptions{args: []string{"--args", "nope", "x"}, noWait: true})
	assert.Equal(t, 1, d.waitExit(exitTimeout))
	assert.True(t, strings.HasSuffix(d.stderr.String(), "\ncannot run daemon: service \"nope\" not found in plan\n"), d.stderr.String())
	requireNoProcesses(t, dir)
}

// TestStateFileAtStartup: .pebble.state is on disk once the daemon has
// started, before its services start, even when nothing happens later; with
// PEBBLE_PERSIST=never there is none.
func TestStateFileAtStartup(t *testing.T) {
	layer := map[string]string{"001-base.yaml": `
services:
    svc:
        override: replace
        command: /bin/sh -c 'if [ -e @DIR@/.pebble.state ]; then echo yes; else echo no; fi > @DIR@/seen; exec sleep 1000'
        startup: enabled
`}
	dir := newPebbleDir(t, layer)
	d := startDaemon(t, dir, daemonOptions{})
	assert.Equal(t, "yes\n", waitFileContent(t, filepath.Join(dir, "seen")))
	d.waitAutostart()
	d.stop()

	dir = newPebbleDir(t, nil)
	d = startDaemon(t, dir, daemonOptions{args: []string{"--hold"}})
	assert.FileExists(t, filepath.Join(dir, ".pebble.state"))
	d.stop()

	dir = newPebbleDir(t, layer)
	d = startDaemon(t, dir, daemonOptions{env: []string{"PEBBLE_PERSIST=never"}})
	assert.Equal(t, "no\n", waitFileContent(t, filepath.Join(dir, "seen")))
	d.waitAutostart()
	d.stop()
	assert.NoFileExists(t, filepath.Join(dir, ".pebble.state"))
}

// TestDebugLog: PEBBLE_DEBUG=1 adds DEBUG lines to the daemon log; without
// it there are none (cli.md §4.2).
func TestDebugLog(t *testing.T) {
	dir := newPebbleDir(t, nil)
	d := startDaemon(t, dir, daemonOptions{env: []string{"PEBBLE_DEBUG=1"}})
	d.stop()
	assert.Contains(t, d.stderr.String(), fmt.Sprintf("[pebble] DEBUG Locked directory %q.\n", dir))
	assert.Contains(t, d.stderr.String(), "[pebble] DEBUG Closed directory lock in ")

	dir = newPebbleDir(t, nil)
	d = startDaemon(t, dir, daemonOptions{env: []string{"PEBBLE_DEBUG=0"}})
	d.stop()
	assert.NotContains(t, d.stderr.String(), " DEBUG ")
}

// TestSIGHUPIgnored: SIGHUP is logged and the daemon carries on with the
// same services, also as PID 1 of a container (where its death would end
// the container).
func TestSIGHUPIgnored(t *testing.T) {
	for _, pid1 := range []bool{false, true} {
		t.Run(fmt.Sprintf("pid1=%v", pid1), func(t *testing.T) {
			var opts daemonOptions
			if pid1 {
				opts.wrap = unshareWrap(t)
			}
			dir := newPebbleDir(t, nil)
			writeScript(t, dir, "svc.sh", longRunning)
			writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    svc:
        override: replace
        command: /bin/sh @DIR@/svc.sh
        startup: enabled
`})
			d := startDaemon(t, dir, opts)
			require.Equal(t, "Done", d.waitAutostart().Status)
			pid := readPID(t, filepath.Join(dir, "svc.pid"))

			d.signal(syscall.SIGHUP)
			d.waitStderr("Received hangup signal; ignoring it.")
			d.signal(syscall.SIGHUP)
			testutil.WaitFor(t, readyTimeout, func() error {
				if n := strings.Count(d.stderr.String(), "Received hangup signal; ignoring it."); n != 2 {
					return fmt.Errorf("%d SIGHUP lines", n)
				}
				return nil
			})
			assert.Equal(t, "active", d.serviceStatus("svc"))
			assert.Equal(t, []string{fmt.Sprint(pid)}, readLines(filepath.Join(dir, "svc.pid")))
			assert.NotContains(t, d.stderr.String(), "Exiting")
			d.stop()
		})
	}
}
