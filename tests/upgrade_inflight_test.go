package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/testutil"
)

// Upgrades while a change is in flight (docs/upgrade.md): the service's
// state machine and its start or stop request go over, and the new daemon
// carries the change on.

// taskLog returns the log of the change's one task of kind.
func taskLog(chg change, kind string) string {
	for _, t := range chg.Tasks {
		if t.Kind == kind {
			return strings.Join(t.Log, "\n")
		}
	}
	return ""
}

// TestUpgradeDuringStart: a start waiting for its service's readiness when
// the daemon is upgraded completes after the upgrade, with the process it
// started and its READY=1 arriving through the handed-over notify socket.
func TestUpgradeDuringStart(t *testing.T) {
	variant := variantBin(t)
	exe, err := os.Executable()
	require.NoError(t, err)
	dir := newPebbleDir(t, nil)
	ready := filepath.Join(dir, "ready")
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    slow:
        override: replace
        command: ` + exe + `
        environment:
            ` + helperEnv + `: notify
            READY_FILE: ` + ready + `
            MARKS: @DIR@/marks
        readiness:
            notify: true
`})
	d := startDaemon(t, dir, daemonOptions{})
	id := d.serviceAction("start", "slow")
	var pid int
	testutil.WaitFor(t, changeTimeout, func() error {
		if _, ok := marks(t, dir)["notifier-start"]; !ok {
			return fmt.Errorf("slow has not started yet")
		}
		infos := d.services()
		if len(infos) != 1 || infos[0].Current != "active" {
			return fmt.Errorf("services: %+v", infos)
		}
		children := childPIDs(d.daemonPID())
		if len(children) != 1 {
			return fmt.Errorf("daemon's children: %v", children)
		}
		pid = children[0]
		return nil
	})
	start := procStartTime(t, pid)

	d.mustPebble("upgrade", "--binary", variant)
	assert.True(t, strings.HasSuffix(d.systemVersion(), "+upgraded"))
	chg := d.change(id)
	require.Equal(t, "Doing", chg.Status, "the start is still waiting for READY=1 after the upgrade")

	require.NoError(t, os.WriteFile(ready, nil, 0o644))
	chg = d.waitChange(id)
	assert.Equal(t, "Done", chg.Status, "start change: %s", chg.Err)
	assert.Contains(t, taskLog(chg, "start"), "Resumed by the upgraded daemon")
	assert.Equal(t, []int{pid}, childPIDs(d.daemonPID()), "the service's process is the one started before the upgrade")
	assert.Equal(t, start, procStartTime(t, pid))
	assert.Equal(t, "ready", d.lifecycleInfo("slow").Readiness)
	d.stop()
}

// TestUpgradeDuringStop: a stop waiting out the kill-delay of a service
// that ignores SIGTERM when the daemon is upgraded sends SIGKILL when the
// delay ends, and the stop change completes.
func TestUpgradeDuringStop(t *testing.T) {
	variant := variantBin(t)
	dir := newPebbleDir(t, map[string]string{"001-stubborn.yaml": `
services:
    stubborn:
        override: replace
        startup: enabled
        command: sh -c 'trap "" TERM; while :; do sleep 0.1; done'
        kill-delay: 8s
`})
	d := startDaemon(t, dir, daemonOptions{})
	d.waitAutostart()
	pid, _ := counterProcess(t, d.daemonPID())
	begin := time.Now()
	id := d.serviceAction("stop", "stubborn")
	testutil.WaitFor(t, changeTimeout, func() error {
		if s := d.serviceStatus("stubborn"); s != "inactive" {
			return fmt.Errorf("stubborn is %s", s)
		}
		return nil
	})
	d.mustPebble("upgrade", "--binary", variant)
	upgraded := time.Since(begin)
	require.Less(t, upgraded, 8*time.Second, "the upgrade ended after the kill-delay: nothing was in flight")
	require.Equal(t, "Doing", d.change(id).Status, "the stop is still waiting after the upgrade")

	chg := d.waitChange(id)
	took := time.Since(begin)
	assert.Equal(t, "Done", chg.Status, "stop change: %s", chg.Err)
	assert.Contains(t, taskLog(chg, "stop"), "Resumed by the upgraded daemon")
	_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	assert.True(t, os.IsNotExist(err), "the service's process is gone")
	t.Logf("figure: stop with an 8s kill-delay across an upgrade (%v into it) done after %v", upgraded.Round(time.Millisecond), took.Round(time.Millisecond))
	assert.GreaterOrEqual(t, took, 8*time.Second)
	assert.Less(t, took, 10*time.Second)
	d.stop()
}
