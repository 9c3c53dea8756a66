package tests

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
