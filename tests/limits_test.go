package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/cgroup"
	"github.com/pebble-project/pebble/internal/testutil"
)

// limitedService is a service's entry of GET /v1/services?stats=true with
// the fields of docs/resource-limits.md.
type limitedService struct {
	Name              string `json:"name"`
	Current           string `json:"current"`
	ExitReason        string `json:"exit-reason"`
	LimitsNotEnforced []struct {
		Limit  string `json:"limit"`
		Reason string `json:"reason"`
	} `json:"limits-not-enforced"`
	Stats *struct {
		CPUSeconds float64 `json:"cpu-seconds"`
	} `json:"stats"`
}

// limitedServices returns GET /v1/services?stats=true by name.
func (d *daemon) limitedServices() map[string]limitedService {
	d.t.Helper()
	var infos []limitedService
	d.sync("GET", "/v1/services?stats=true", nil, &infos)
	out := make(map[string]limitedService, len(infos))
	for _, s := range infos {
		out[s.Name] = s
	}
	return out
}

// notEnforced returns the reason the daemon gives for not enforcing limit
// of service, or "".
func (d *daemon) notEnforced(service, limit string) string {
	d.t.Helper()
	for _, n := range d.limitedServices()[service].LimitsNotEnforced {
		if n.Limit == limit {
			return n.Reason
		}
	}
	return ""
}

// skipWithoutController skips the test when the daemon reports the
// service's limit on controller as not enforced, naming why.
func (d *daemon) skipWithoutController(service, controller string) {
	d.t.Helper()
	if reason := d.notEnforced(service, controller); reason != "" {
		d.stop()
		d.t.Skipf("skipping: no usable %s controller: %s", controller, reason)
	}
}

// requireNoLimitCgroups fails the test if a cgroup v1 or v2 directory of
// the daemon on dir is left.
func requireNoLimitCgroups(t *testing.T, dir string) {
	t.Helper()
	name := "pebble-" + cgroup.DaemonID(dir)
	var left []string
	filepath.WalkDir("/sys/fs/cgroup", func(path string, e os.DirEntry, err error) error {
		if err != nil || !e.IsDir() {
			return nil
		}
		if e.Name() == name {
			left = append(left, path)
			return filepath.SkipDir
		}
		if strings.HasPrefix(e.Name(), "pebble-") || strings.HasPrefix(e.Name(), "svc-") {
			return filepath.SkipDir // another daemon's
		}
		return nil
	})
	assert.Empty(t, left, "cgroup directories left behind")
}

// serviceOutput returns the service's logged lines, without timestamps.
func (d *daemon) serviceOutput(service string) []string {
	d.t.Helper()
	var lines []string
	for _, l := range strings.Split(d.mustPebble("logs", "-n", "all", service), "\n") {
		if _, text, ok := strings.Cut(l, "["+service+"] "); ok {
			lines = append(lines, text)
		}
	}
	return lines
}

// waitOutput waits until the service has logged a line matching re and
// returns its submatches.
func (d *daemon) waitOutput(service string, re *regexp.Regexp) []string {
	d.t.Helper()
	var m []string
	testutil.WaitFor(d.t, 20*time.Second, func() error {
		for _, l := range d.serviceOutput(service) {
			if m = re.FindStringSubmatch(l); m != nil {
				return nil
			}
		}
		return fmt.Errorf("no line matching %s in the output of %q", re, service)
	})
	return m
}

// TestLimitsNofile: rlimits are in place when the service's code runs, for
// root and for a service that runs as another user: `ulimit -n` inside
// prints the nofile limit, soft and hard.
func TestLimitsNofile(t *testing.T) {
	dir := newPebbleDir(t, map[string]string{"001-base.yaml": `
services:
    root:
        override: replace
        command: /bin/sh -c 'echo "nofile $(ulimit -n) $(ulimit -Hn) uid $(id -u)"; exec sleep 1000'
        startup: enabled
        limits: {nofile: 777}
    nobody:
        override: replace
        command: /bin/sh -c 'echo "nofile $(ulimit -n) $(ulimit -Hn) uid $(id -u)"; exec sleep 1000'
        startup: enabled
        user: nobody
        limits: {nofile: 555, core: unlimited}
`})
	d := startDaemon(t, dir, daemonOptions{})
	require.Equal(t, "Done", d.waitAutostart().Status)
	re := regexp.MustCompile(`^nofile (\d+) (\d+) uid (\d+)$`)
	m := d.waitOutput("root", re)
	assert.Equal(t, []string{"777", "777", "0"}, m[1:])
	m = d.waitOutput("nobody", re)
	assert.Equal(t, "555", m[1])
	assert.Equal(t, "555", m[2])
	assert.NotEqual(t, "0", m[3], "the shim must drop to the service's user")
	d.stop()
	requireNoLimitCgroups(t, dir)
}

// TestLimitsMemoryOOM: a service that allocates past its memory limit is
// killed by the kernel's OOM killer, and the daemon reports the exit as
// such: in the service's info, `pebble services`, the OOM-kill counter of
// /v1/metrics and the service-update notice of the exit.
func TestLimitsMemoryOOM(t *testing.T) {
	dir := newPebbleDir(t, map[string]string{"001-base.yaml": `
services:
    hog:
        override: replace
        command: /usr/bin/perl -e 'print "allocating\n"; $| = 1; my $x = "a" x (256 << 20); print "survived\n"; sleep 1000'
        on-failure: ignore
        limits: {memory: 48MiB}
`})
	d := startDaemon(t, dir, daemonOptions{})
	d.pebble("start", "hog")
	d.skipWithoutController("hog", "memory")
	testutil.WaitFor(t, 20*time.Second, func() error {
		if s := d.limitedServices()["hog"]; s.ExitReason != "oom-killed" {
			return fmt.Errorf("hog is %s, exit reason %q", s.Current, s.ExitReason)
		}
		return nil
	})
	assert.NotContains(t, d.serviceOutput("hog"), "survived")
	r := d.pebble("services", "hog")
	assert.Contains(t, r.stderr, `Service "hog": last run ended: oom-killed`)
	assert.Contains(t, d.metricsText(), `pebble_service_oom_kills_total{service="hog"} 1`+"\n")
	var events []struct {
		LastData map[string]string `json:"last-data"`
	}
	d.sync("GET", "/v1/notices?types=service-update&keys=hog", nil, &events)
	require.Len(t, events, 1)
	assert.Equal(t, map[string]string{"event": "exited", "signal": "SIGKILL", "exit-reason": "oom-killed"}, events[0].LastData)
	d.stop()
	requireNoLimitCgroups(t, dir)
}

// TestLimitsPids: a service that forks past its pids limit is refused the
// forks beyond it.
func TestLimitsPids(t *testing.T) {
	dir := newPebbleDir(t, map[string]string{"001-base.yaml": `
services:
    forker:
        override: replace
        command: /usr/bin/perl -e '$| = 1; my ($ok, $fail) = (0, 0); for (1..30) { my $p = fork(); if (!defined $p) { $fail++ } elsif ($p == 0) { sleep 1000; exit } else { $ok++ } } print "forks ok=$ok failed=$fail\n"; sleep 1000'
        limits: {pids: 10}
`})
	d := startDaemon(t, dir, daemonOptions{})
	d.pebble("start", "forker")
	d.skipWithoutController("forker", "pids")
	m := d.waitOutput("forker", regexp.MustCompile(`^forks ok=(\d+) failed=(\d+)$`))
	ok, _ := strconv.Atoi(m[1])
	failed, _ := strconv.Atoi(m[2])
	t.Logf("figure: pids limit 10: %d forks succeeded, %d refused", ok, failed)
	assert.Equal(t, 9, ok, "the main process and 9 children make 10")
	assert.Equal(t, 21, failed)
	d.stop()
	requireNoLimitCgroups(t, dir)
}

// TestLimitsCPU: a service of 16 busy processes capped at 0.5 CPU runs in
// a cgroup with that quota and uses at most about half a core over 2 s.
// The band is generous below: on a loaded machine the service's cgroup
// competes as one scheduling entity and may get less than its cap.
func TestLimitsCPU(t *testing.T) {
	dir := newPebbleDir(t, map[string]string{"001-base.yaml": `
services:
    spinner:
        override: replace
        command: /bin/sh -c 'echo $$ > @DIR@/spinner.pid; exec /usr/bin/perl -e "fork; fork; fork; fork; 1 while 1"'
        limits: {cpu: 0.5}
`})
	d := startDaemon(t, dir, daemonOptions{})
	d.pebble("start", "spinner")
	d.skipWithoutController("spinner", "cpu")
	cpu := func() (float64, time.Time) {
		s := d.limitedServices()["spinner"]
		require.NotNil(t, s.Stats)
		return s.Stats.CPUSeconds, time.Now()
	}
	c0, t0 := cpu()
	time.Sleep(2 * time.Second) // the measurement window, not a wait for an event
	c1, t1 := cpu()
	cores := (c1 - c0) / t1.Sub(t0).Seconds()
	t.Logf("figure: cpu limit 0.5: the service used %.3f cores over %v", cores, t1.Sub(t0).Round(time.Millisecond))
	assert.Equal(t, 0.5, cpuQuota(t, readPID(t, filepath.Join(dir, "spinner.pid"))), "the quota of the service's cgroup")
	assert.Greater(t, cores, 0.05)
	assert.Less(t, cores, 0.65)
	d.stop()
	requireNoLimitCgroups(t, dir)
}

// cpuQuota returns the cpu limit, in cores, of the cgroup pid runs in:
// its v1 cpu hierarchy's CFS quota where it is in one, else its v2
// cgroup's cpu.max.
func cpuQuota(t *testing.T, pid int) float64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	require.NoError(t, err)
	read := func(path string) float64 {
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		v, err := strconv.ParseFloat(strings.Fields(string(data))[0], 64)
		require.NoError(t, err, "%s", path)
		return v
	}
	v2 := ""
	for _, line := range strings.Split(string(data), "\n") {
		parts := strings.SplitN(line, ":", 3)
		switch {
		case len(parts) < 3:
		case slices.Contains(strings.Split(parts[1], ","), "cpu"):
			dir := filepath.Join("/sys/fs/cgroup", parts[1], parts[2])
			return read(filepath.Join(dir, "cpu.cfs_quota_us")) / read(filepath.Join(dir, "cpu.cfs_period_us"))
		case parts[1] == "":
			v2 = filepath.Join(cgroup2Mount(), parts[2], "cpu.max")
		}
	}
	data, err = os.ReadFile(v2)
	require.NoError(t, err)
	f := strings.Fields(string(data))
	q, _ := strconv.ParseFloat(f[0], 64)
	p, _ := strconv.ParseFloat(f[1], 64)
	return q / p
}

// TestLimitsNotEnforcedReported: a limit the host cannot enforce (nofile
// above fs.nr_open; memory with the controller made unavailable through
// the test seam) leaves the service running and is reported in the API,
// by `pebble services` and as a warning notice.
func TestLimitsNotEnforcedReported(t *testing.T) {
	dir := newPebbleDir(t, map[string]string{"001-base.yaml": `
services:
    svc:
        override: replace
        command: /bin/sleep 1000
        startup: enabled
        limits: {nofile: 2000000000, memory: 1GiB, pids: 100}
`})
	d := startDaemon(t, dir, daemonOptions{env: []string{"PEBBLE_TEST_DISABLE_CONTROLLERS=memory"}})
	require.Equal(t, "Done", d.waitAutostart().Status)
	s := d.limitedServices()["svc"]
	assert.Equal(t, "active", s.Current)
	got := map[string]string{}
	for _, n := range s.LimitsNotEnforced {
		got[n.Limit] = n.Reason
	}
	assert.Contains(t, got["nofile"], "fs.nr_open")
	assert.Equal(t, "the memory controller is disabled for this daemon", got["memory"])
	assert.NotContains(t, got, "pids", "pids is enforced")
	assert.Len(t, got, 2)

	r := d.pebble("services")
	assert.Contains(t, r.stderr, `Service "svc": limit nofile not enforced: the kernel allows at most`)
	assert.Contains(t, r.stderr, `Service "svc": limit memory not enforced: the memory controller is disabled for this daemon`)
	var warnings []struct {
		Key string `json:"key"`
	}
	d.sync("GET", "/v1/notices?types=warning", nil, &warnings)
	require.Len(t, warnings, 1)
	assert.Regexp(t, `^limits of service "svc" not enforced: memory: the memory controller is disabled for this daemon; nofile: the kernel allows at most \d+ open files per process \(fs.nr_open\)$`, warnings[0].Key)
	d.stop()
	requireNoLimitCgroups(t, dir)
}

// TestLimitsLeftoversAfterCrash: a daemon killed with SIGKILL leaves its
// limited service in its v1 and v2 cgroups; the next daemon on the same
// $PEBBLE kills it and removes every directory.
func TestLimitsLeftoversAfterCrash(t *testing.T) {
	dir := newPebbleDir(t, map[string]string{"001-base.yaml": `
services:
    svc:
        override: replace
        command: /bin/sh -c 'echo $$ > @DIR@/svc.pid; exec sleep 1000'
        startup: enabled
        limits: {memory: 100MiB, pids: 50, cpu: 1}
`})
	d := startDaemon(t, dir, daemonOptions{})
	require.Equal(t, "Done", d.waitAutostart().Status)
	pid := readPID(t, filepath.Join(dir, "svc.pid"))
	d.signal(syscall.SIGKILL)
	d.waitExit(exitTimeout)
	require.True(t, pidAlive(pid), "the service should outlive a killed daemon")

	d2 := startDaemon(t, dir, daemonOptions{cgroup: d.cgroup})
	require.Equal(t, "Done", d2.waitAutostart().Status)
	waitGone(t, "the leftover service process", pid)
	d2.stop()
	requireNoLimitCgroups(t, dir)
}

// TestLimitsGroupTotals: the totals of a charge group are the sums of its
// services' figures, in GET /v1/services?stats=true, in /v1/metrics and in
// `pebble services --stats`; a service in no group is in no total.
func TestLimitsGroupTotals(t *testing.T) {
	dir := newPebbleDir(t, map[string]string{"001-base.yaml": `
services:
    a:
        override: replace
        command: /bin/sh -c 'sleep 1000 & sleep 1000 & wait'
        startup: enabled
        charge-group: team
    b:
        override: replace
        command: /bin/sleep 1000
        startup: enabled
        charge-group: team
    c:
        override: replace
        command: /bin/sleep 1000
        startup: enabled
        charge-group: other
    d:
        override: replace
        command: /bin/sleep 1000
        startup: enabled
`})
	d := startDaemon(t, dir, daemonOptions{})
	require.Equal(t, "Done", d.waitAutostart().Status)
	d.mustPebble("restart", "b")

	type stats struct {
		CPUSeconds  float64 `json:"cpu-seconds"`
		MemoryBytes uint64  `json:"memory-bytes"`
		Processes   int     `json:"processes"`
		Starts      int     `json:"starts"`
		ChargeGroup string  `json:"charge-group"`
		GroupTotals *struct {
			Services    []string `json:"services"`
			CPUSeconds  float64  `json:"cpu-seconds"`
			MemoryBytes uint64   `json:"memory-bytes"`
			Processes   int      `json:"processes"`
			Starts      int      `json:"starts"`
		} `json:"group-totals"`
	}
	var infos []struct {
		Name  string `json:"name"`
		Stats stats  `json:"stats"`
	}
	d.sync("GET", "/v1/services?stats=true", nil, &infos)
	by := map[string]stats{}
	for _, s := range infos {
		by[s.Name] = s.Stats
	}
	a, b := by["a"], by["b"]
	team := a.GroupTotals
	require.NotNil(t, team)
	assert.Equal(t, []string{"a", "b"}, team.Services)
	assert.InDelta(t, a.CPUSeconds+b.CPUSeconds, team.CPUSeconds, 1e-6)
	assert.Equal(t, a.MemoryBytes+b.MemoryBytes, team.MemoryBytes)
	assert.Equal(t, a.Processes+b.Processes, team.Processes)
	assert.Equal(t, 4, team.Processes, "a's shell and two sleeps, b's sleep")
	assert.Equal(t, 3, team.Starts, "a once, b twice")
	assert.Equal(t, team, b.GroupTotals)
	assert.Equal(t, []string{"c"}, by["c"].GroupTotals.Services)
	assert.Nil(t, by["d"].GroupTotals)
	assert.Equal(t, "", by["d"].ChargeGroup)

	// One scrape reads every figure once: the group samples are the sums
	// of the service samples of the same scrape.
	text := d.metricsText()
	sample := func(name, label string) float64 {
		m := regexp.MustCompile(`(?m)^` + name + `\{` + label + `\} (\S+)$`).FindStringSubmatch(text)
		require.NotNil(t, m, "no %s{%s} in:\n%s", name, label, text)
		v, err := strconv.ParseFloat(m[1], 64)
		require.NoError(t, err)
		return v
	}
	for _, f := range []struct{ service, group string }{
		{"pebble_service_cpu_seconds_total", "pebble_group_cpu_seconds_total"},
		{"pebble_service_memory_bytes", "pebble_group_memory_bytes"},
		{"pebble_service_processes", "pebble_group_processes"},
		{"pebble_service_start_count", "pebble_group_starts_total"},
		{"pebble_service_oom_kills_total", "pebble_group_oom_kills_total"},
	} {
		sum := sample(f.service, `service="a"`) + sample(f.service, `service="b"`)
		assert.InDelta(t, sum, sample(f.group, `group="team"`), 1e-6, f.group)
	}
	assert.NotContains(t, text, `group=""`)

	out := d.mustPebble("services", "--stats")
	assert.Regexp(t, `(?m)^Group\s+Services\s+CPU\s+User\s+System\s+Memory\s+Peak\s+Processes\s+FDs\s+Read\s+Written\n(other\s+c\s+.*\n)team\s+a,b\s+(\S+s\s+){3}\S+\s+\S+\s+4\s+\S+\s+\S+\s+\S+\n`, out)
	d.stop()
}
