package tests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/client"
	"github.com/pebble-project/pebble/internal/testutil"
)

// TestUpgradeKeepsPlanAndChecks: the plan after an upgrade is the one
// before it, with a layer added through the API and the --args layer,
// and a check goes on with its counters and its change.
func TestUpgradeKeepsPlanAndChecks(t *testing.T) {
	variant := variantBin(t)
	dir := newPebbleDir(t, map[string]string{"001-base.yaml": `
services:
    svc:
        override: replace
        command: sleep [ 1000 ]
checks:
    up:
        override: replace
        period: 300ms
        threshold: 1000
        exec:
            command: test -f @DIR@/up
`})
	d := startDaemon(t, dir, daemonOptions{args: []string{"--args", "svc", "999", ";"}})
	status, env := d.rawRequest("POST", "/v1/layers", []byte(`{"action": "add", "label": "extra", "format": "yaml", "layer": "services:\n    added:\n        override: replace\n        command: sleep 5\n"}`))
	require.Equal(t, 200, status, "%s", env.Result)
	planBefore := d.mustPebble("plan")
	require.Contains(t, planBefore, "added:")
	require.Contains(t, planBefore, "sleep [ 999 ]")

	before := d.waitCheck("up", func(c checkInfo) error {
		if c.Failures < 8 {
			return fmt.Errorf("up has %d failures", c.Failures)
		}
		return nil
	})
	d.mustPebble("upgrade", "--binary", variant)
	after := d.check("up")
	assert.Equal(t, before.ChangeID, after.ChangeID, "the check's change goes on")
	assert.GreaterOrEqual(t, after.Failures, before.Failures, "failures before %d, after %d", before.Failures, after.Failures)
	assert.Equal(t, before.Threshold, after.Threshold)
	assert.Equal(t, "up", after.Status)
	// It still counts, in the new daemon.
	d.waitCheck("up", func(c checkInfo) error {
		if c.Failures <= after.Failures {
			return fmt.Errorf("up has %d failures", c.Failures)
		}
		return nil
	})
	assert.Equal(t, planBefore, d.mustPebble("plan"))
	d.stop()
}

// TestUpgradeKeepsRestartBudget: a crash-looping service's restart budget
// counts the restarts made before an upgrade: with restart-limit 2 it runs
// three times in all, not more.
func TestUpgradeKeepsRestartBudget(t *testing.T) {
	variant := variantBin(t)
	dir := newPebbleDir(t, map[string]string{"001-crashy.yaml": `
services:
    crashy:
        override: replace
        startup: enabled
        command: sh -c 'date +%s.%N >> @DIR@/runs; exit 1'
        backoff-delay: 1s
        restart-limit: 2
        restart-window: 60s
`})
	d := startDaemon(t, dir, daemonOptions{})
	waitLines(t, filepath.Join(dir, "runs"), 2, changeTimeout)
	testutil.WaitFor(t, changeTimeout, func() error {
		if s := d.serviceStatus("crashy"); s != "backoff" {
			return fmt.Errorf("crashy is %s", s)
		}
		return nil
	})
	d.mustPebble("upgrade", "--binary", variant)
	info := d.waitError("crashy")
	assert.Equal(t, 2, info.RestartCount)
	assert.Contains(t, info.Failure, "restart")
	runs := readLines(filepath.Join(dir, "runs"))
	assert.Len(t, runs, 3, "runs: %s", strings.Join(runs, ", "))
	d.stop()
}

// TestUpgradeEndsFollowsAndExecs: a log follow in progress ends with the
// end of its response (no torn line), and an exec session ends with its
// command killed and its change in Error saying why.
func TestUpgradeEndsFollowsAndExecs(t *testing.T) {
	variant := variantBin(t)
	dir := newPebbleDir(t, map[string]string{"001-talker.yaml": `
services:
    talker:
        override: replace
        startup: enabled
        command: sh -c 'while :; do echo talking; sleep 0.01; done'
`})
	d := startDaemon(t, dir, daemonOptions{})
	d.waitAutostart()

	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dialer net.Dialer
		return dialer.DialContext(ctx, "unix", d.socket)
	}}}
	defer hc.CloseIdleConnections()
	rsp, err := hc.Get("http://localhost/v1/logs?follow=true&n=1")
	require.NoError(t, err)
	defer rsp.Body.Close()
	require.Equal(t, 200, rsp.StatusCode)
	followed := make(chan error, 1)
	lines := 0
	go func() {
		scanner := bufio.NewScanner(rsp.Body)
		for scanner.Scan() {
			var entry map[string]any
			if err := json.Unmarshal(scanner.Bytes(), &entry); err != nil {
				followed <- fmt.Errorf("line %d %q: %w", lines+1, scanner.Text(), err)
				return
			}
			lines++
		}
		followed <- scanner.Err()
	}()

	c := d.client()
	var stdout bytes.Buffer
	p, err := c.Exec(t.Context(), &client.ExecOptions{Command: []string{"sleep", "1000"}, Stdout: &stdout})
	require.NoError(t, err)
	var sleeper int
	testutil.WaitFor(t, changeTimeout, func() error {
		for _, pid := range childPIDs(d.daemonPID()) {
			if data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); strings.HasPrefix(string(data), "sleep\x001000") {
				sleeper = pid
				return nil
			}
		}
		return errors.New("the exec's command has not started")
	})
	waited := make(chan error, 1)
	go func() { waited <- p.Wait(context.Background()) }()

	d.mustPebble("upgrade", "--binary", variant)
	select {
	case err := <-followed:
		assert.NoError(t, err, "the follow ends with the end of its response")
		assert.Positive(t, lines)
		t.Logf("figure: the follow read %d whole lines before the upgrade ended it", lines)
	case <-time.After(changeTimeout):
		t.Fatal("the log follow did not end at the upgrade")
	}
	chg, _ := d.execChange(p.ChangeID())
	assert.Equal(t, "Error", chg.Status)
	assert.Contains(t, chg.Err, "exec aborted: daemon is upgrading")
	select {
	case err := <-waited:
		assert.Error(t, err, "the exec's Wait")
	case <-time.After(changeTimeout):
		t.Fatal("the exec's Wait did not end")
	}
	_, err = os.Stat(fmt.Sprintf("/proc/%d", sleeper))
	assert.True(t, os.IsNotExist(err), "the exec's command was killed and reaped")
	d.stop()
}

// daemonGauges returns the daemon's goroutines and open descriptors from
// /v1/metrics.
func (d *daemon) daemonGauges() (goroutines, fds int) {
	d.t.Helper()
	text := d.metricsText()
	value := func(name string) int {
		m := regexp.MustCompile(`(?m)^` + name + ` (\d+)$`).FindStringSubmatch(text)
		require.NotNil(d.t, m, "no %s sample in:\n%s", name, text)
		n, err := strconv.Atoi(m[1])
		require.NoError(d.t, err)
		return n
	}
	return value("pebble_daemon_goroutines"), value("pebble_daemon_open_fds")
}

// plainBins returns two builds of pebble without -race, with the versions
// "+plain" and "+plain-upgraded", built once per run.
func plainBins(t *testing.T) (string, string) {
	t.Helper()
	variantBin(t) // skips where variants cannot be built
	plainVariants.once.Do(func() {
		plainVariants.a, plainVariants.err = testRun.BuildPlainVariant("pebble-plain", "plain")
		if plainVariants.err == nil {
			plainVariants.b, plainVariants.err = testRun.BuildPlainVariant("pebble-plain-upgraded", "plain-upgraded")
		}
	})
	require.NoError(t, plainVariants.err)
	return plainVariants.a, plainVariants.b
}

var plainVariants struct {
	once sync.Once
	a, b string
	err  error
}

// TestUpgradeHundredTimesLeaksNothing: 100 upgrades in a row, alternating
// two builds, with a service writing output, one waiting for readiness on
// its notify socket and a check running: the daemon's goroutines and open
// descriptors come back to what they were after the first upgrade. The
// builds are without -race, so that the run costs seconds, not a minute;
// the other upgrade tests run the -race ones.
func TestUpgradeHundredTimesLeaksNothing(t *testing.T) {
	first, variant := plainBins(t)
	exe, err := os.Executable()
	require.NoError(t, err)
	dir := newPebbleDir(t, map[string]string{"001-base.yaml": `
services:
    talker:
        override: replace
        startup: enabled
        command: sh -c 'while :; do echo talking; sleep 0.05; done'
    notifier:
        override: replace
        startup: enabled
        command: ` + exe + `
        environment:
            ` + helperEnv + `: notify
            READY_AFTER: 10ms
            MARKS: @DIR@/marks
        readiness:
            notify: true
checks:
    up:
        override: replace
        period: 100ms
        exec:
            command: "true"
`})
	d := startDaemon(t, dir, daemonOptions{bin: first})
	d.waitAutostart()
	pid := d.daemonPID()
	upgrade := func(i int) {
		bin, want := variant, "+plain-upgraded"
		if i%2 == 1 {
			bin, want = first, "+plain"
		}
		d.mustPebble("upgrade", "--binary", bin)
		require.True(t, strings.HasSuffix(d.systemVersion(), want), "version after upgrade %d", i+1)
	}
	goroutinesFresh, fdsFresh := d.daemonGauges()
	upgrade(0)
	var goroutines, fds int
	testutil.WaitFor(t, changeTimeout, func() error {
		// A connection of the last request may still be closing.
		goroutines, fds = d.daemonGauges()
		if fds > fdsFresh {
			return fmt.Errorf("%d descriptors after the first upgrade, %d before", fds, fdsFresh)
		}
		return nil
	})
	t.Logf("figure: before any upgrade %d goroutines, %d descriptors; after the first %d, %d", goroutinesFresh, fdsFresh, goroutines, fds)

	begin := time.Now()
	for i := 1; i < 100; i++ {
		upgrade(i)
	}
	took := time.Since(begin)
	assert.Equal(t, pid, d.daemonPIDNow(pid))
	var after, fdsAfter int
	testutil.WaitFor(t, changeTimeout, func() error {
		after, fdsAfter = d.daemonGauges()
		if after > goroutines || fdsAfter > fds {
			return fmt.Errorf("%d goroutines and %d descriptors after 100 upgrades, %d and %d after the first", after, fdsAfter, goroutines, fds)
		}
		return nil
	})
	t.Logf("figure: 99 more upgrades took %v (%v each); after them %d goroutines, %d descriptors", took.Round(time.Millisecond), (took / 99).Round(time.Millisecond), after, fdsAfter)
	infos := d.services()
	require.Len(t, infos, 2)
	for _, info := range infos {
		assert.Equal(t, "active", info.Current, "service %s", info.Name)
	}
	notifier := d.lifecycleInfo("notifier")
	assert.Equal(t, "ready", notifier.Readiness, "readiness went over")
	assert.Equal(t, "serving", notifier.StatusText, "the notify socket's STATUS= went over")
	assert.Len(t, childPIDs(pid), 2, "the services' processes, no more")
	d.stop()
}

// TestUpgradeKeepsUsage: a service's charge-back counters go on across an
// upgrade from where they were, including the runs that ended before it
// (they restarted from the current run's figures).
func TestUpgradeKeepsUsage(t *testing.T) {
	variant := variantBin(t)
	dir := newPebbleDir(t, map[string]string{"001-worker.yaml": `
services:
    worker:
        override: replace
        command: sh -c 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; echo x >> @DIR@/runs; exec sleep 1000'
`})
	d := startDaemon(t, dir, daemonOptions{})
	for run := 1; run <= 2; run++ {
		d.mustPebble("start", "worker")
		waitLines(t, filepath.Join(dir, "runs"), run, changeTimeout)
		if run == 1 {
			d.mustPebble("stop", "worker")
		}
	}
	before := d.usage()["worker"]
	require.Equal(t, 2, before.Starts)
	require.Greater(t, before.CPUSeconds, 0.05, "the two runs used no CPU")

	d.mustPebble("upgrade", "--binary", variant)
	after := d.usage()["worker"]
	t.Logf("figure: CPU %.3f s before the upgrade, %.3f s after; starts %d, %d", before.CPUSeconds, after.CPUSeconds, before.Starts, after.Starts)
	assert.Equal(t, 2, after.Starts)
	assert.GreaterOrEqual(t, after.CPUSeconds, before.CPUSeconds, "the CPU counter went down across the upgrade")
	assert.Equal(t, before.CPUUserSeconds+before.CPUSystemSeconds > 0, after.CPUUserSeconds+after.CPUSystemSeconds > 0)
	d.stop()
}
