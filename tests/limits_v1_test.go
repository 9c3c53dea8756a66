package tests

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/testutil"
)

// v1OnlyWrap returns the wrapper that runs the daemon on a cgroup v1-only
// host made from this one: in a private mount namespace without the
// cgroup2 mount. It skips the test, naming what is missing, where that
// cannot be done or the host has no v1 memory, pids and cpu hierarchies.
func v1OnlyWrap(t *testing.T) []string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: not root, so cannot unmount cgroup2 in a mount namespace")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("skipping: unshare(1) not found")
	}
	mounted := v1Controllers(t)
	for _, c := range []string{"memory", "pids", "cpu"} {
		if !mounted[c] {
			t.Skipf("skipping: no cgroup v1 %s hierarchy is mounted", c)
		}
	}
	v2 := cgroup2Mount()
	script := `exec "$@"`
	if v2 != "" {
		script = `umount "$0" && exec "$@"`
	}
	wrap := []string{unshare, "--mount", "--propagation", "private", "/bin/sh", "-c", script, v2}
	if out, err := exec.Command(wrap[0], append(wrap[1:], "true")...).CombinedOutput(); err != nil {
		t.Skipf("skipping: cannot unmount cgroup2 in a mount namespace: %v: %s", err, out)
	}
	return wrap
}

// v1Controllers returns the controllers of the cgroup v1 hierarchies
// mounted here.
func v1Controllers(t *testing.T) map[string]bool {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	require.NoError(t, err)
	defer f.Close()
	out := make(map[string]bool)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		_, post, _ := strings.Cut(sc.Text(), " - ")
		fields := strings.Fields(post)
		if len(fields) >= 3 && fields[0] == "cgroup" {
			for _, opt := range strings.Split(fields[2], ",") {
				out[opt] = true
			}
		}
	}
	return out
}

// TestLimitsV1OnlyHost runs the daemon where there is no cgroup v2 tree
// at all, only v1 hierarchies: the memory limit OOM-kills a service and is
// reported, the pids limit refuses forks, the cpu limit is the quota of
// the service's v1 cpu cgroup, and the measures are read, memory from the
// v1 memory cgroup and the rest from /proc, against /proc read by the
// test.
func TestLimitsV1OnlyHost(t *testing.T) {
	wrap := v1OnlyWrap(t)
	dir := newPebbleDir(t, map[string]string{"001-base.yaml": `
services:
    hog:
        override: replace
        command: /usr/bin/perl -e '$| = 1; print "allocating\n"; my $n = 256 << 20; my $x = "a" x $n; print "survived\n"; sleep 1000'
        on-failure: ignore
        limits: {memory: 48MiB}
    forker:
        override: replace
        command: /usr/bin/perl -e '$| = 1; my ($ok, $fail) = (0, 0); for (1..30) { my $p = fork(); if (!defined $p) { $fail++ } elsif ($p == 0) { sleep 1000; exit } else { $ok++ } } print "forks ok=$ok failed=$fail\n"; sleep 1000'
        startup: enabled
        limits: {pids: 10}
    spinner:
        override: replace
        command: /bin/sh -c 'echo $$ > @DIR@/spinner.pid; exec sleep 1000'
        startup: enabled
        limits: {cpu: 0.5}
    worker:
        override: replace
        command: /bin/sh -c 'exec 3</dev/null 4</dev/null; echo $$ >> @DIR@/worker.pid; perl -e "my \$n = 64 << 20; my \$x = q(a) x \$n; my \$i = 0; \$i++ while \$i < 3_000_000; open S, q(/proc/self/status); open H, q(>>), q(@DIR@/worker.hwm); print H grep { /^VmHWM/ } <S>"; dd if=/dev/zero of=@DIR@/out bs=64k count=32 conv=fsync 2>/dev/null; exec sleep 1000'
        startup: enabled
        limits: {memory: 200MiB}
`})
	d := startDaemon(t, dir, daemonOptions{wrap: wrap})
	mountinfo, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", d.daemonPID()))
	require.NoError(t, err)
	require.NotContains(t, string(mountinfo), " - cgroup2 ", "the daemon must see no cgroup v2 hierarchy")
	require.Equal(t, "Done", d.waitAutostart().Status)
	for name, s := range d.limitedServices() {
		assert.Empty(t, s.LimitsNotEnforced, "%s: every limit has a v1 hierarchy", name)
	}

	// Memory: OOM-killed at 48 MiB, and reported.
	d.pebble("start", "hog")
	testutil.WaitFor(t, 20*time.Second, func() error {
		if s := d.limitedServices()["hog"]; s.ExitReason != "oom-killed" {
			return fmt.Errorf("hog is %s, exit reason %q", s.Current, s.ExitReason)
		}
		return nil
	})
	assert.NotContains(t, d.serviceOutput("hog"), "survived")
	assert.Contains(t, d.metricsText(), `pebble_service_oom_kills_total{service="hog"} 1`+"\n")

	// pids: the main process and 9 children make 10.
	m := d.waitOutput("forker", regexp.MustCompile(`^forks ok=(\d+) failed=(\d+)$`))
	assert.Equal(t, []string{"9", "21"}, m[1:])

	// cpu: the quota of the service's v1 cpu cgroup (outside one, the
	// root's -1 would be read).
	assert.Equal(t, 0.5, cpuQuota(t, readPID(t, filepath.Join(dir, "spinner.pid"))))

	// The measures of a service with a v1 memory limit.
	pid := waitSleeping(t, dir, "worker", 1)
	tr := readProcTruth(t, pid)
	hwm := waitLines(t, filepath.Join(dir, "worker.hwm"), 1, 10*time.Second)[0]
	childPeak, err := strconv.ParseUint(strings.Fields(hwm)[1], 10, 64)
	require.NoError(t, err, "%q", hwm)
	childPeak <<= 10
	u := d.usage()["worker"]
	t.Logf("figure: v1-only worker: daemon cpu %.3fs (user %.3f system %.3f) memory %d peak %v fds %v read %v written %v; "+
		"/proc user %.2f system %.2f rss %d child's hwm %d fds %d read %d written %d",
		u.CPUSeconds, u.CPUUserSeconds, u.CPUSystemSeconds, u.MemoryBytes, deref(u.MemoryPeakBytes), deref(u.OpenFDs),
		deref(u.IOReadBytes), deref(u.IOWriteBytes), tr.user, tr.system, tr.rss, childPeak, tr.fds, tr.readBytes, tr.written)
	assert.InDelta(t, tr.user, u.CPUUserSeconds, cpuBand(tr.user+tr.system))
	assert.InDelta(t, tr.system, u.CPUSystemSeconds, cpuBand(tr.user+tr.system))
	require.NotNil(t, u.MemoryPeakBytes)
	assert.GreaterOrEqual(t, *u.MemoryPeakBytes, uint64(64*mib), "the child's 64 MiB, in max_usage_in_bytes")
	assert.InDelta(t, childPeak, *u.MemoryPeakBytes, 16*mib, "against the child's VmHWM")
	// The v1 cgroup also holds the 2 MiB file written, in the page cache.
	assert.InDelta(t, tr.rss, u.MemoryBytes, 16*mib)
	require.NotNil(t, u.OpenFDs)
	assert.Equal(t, tr.fds, *u.OpenFDs)
	require.NotNil(t, u.IOWriteBytes)
	assert.InDelta(t, tr.written, *u.IOWriteBytes, mib)
	assert.GreaterOrEqual(t, *u.IOWriteBytes, uint64(2*mib))
	d.stop()
	requireNoLimitCgroups(t, dir)
}
