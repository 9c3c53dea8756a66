package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/testutil"
	"golang.org/x/sys/unix"
)

// usageStats are the figures of a service's stats or of its group's
// totals in GET /v1/services?stats=true (docs/resource-limits.md).
type usageStats struct {
	CPUSeconds       float64  `json:"cpu-seconds"`
	CPUUserSeconds   float64  `json:"cpu-user-seconds"`
	CPUSystemSeconds float64  `json:"cpu-system-seconds"`
	MemoryBytes      uint64   `json:"memory-bytes"`
	MemoryPeakBytes  *uint64  `json:"memory-peak-bytes"`
	Processes        int      `json:"processes"`
	OpenFDs          *int     `json:"open-fds"`
	IOReadBytes      *uint64  `json:"io-read-bytes"`
	IOWriteBytes     *uint64  `json:"io-write-bytes"`
	Starts           int      `json:"starts"`
	OOMKills         uint64   `json:"oom-kills"`
	Services         []string `json:"services"`
}

// serviceUsage is a service's stats with its group's totals.
type serviceUsage struct {
	usageStats
	GroupTotals *usageStats `json:"group-totals"`
}

// usage returns the stats of every started service, by name, from one
// request.
func (d *daemon) usage() map[string]serviceUsage {
	d.t.Helper()
	var infos []struct {
		Name  string        `json:"name"`
		Stats *serviceUsage `json:"stats"`
	}
	d.sync("GET", "/v1/services?stats=true", nil, &infos)
	out := make(map[string]serviceUsage)
	for _, s := range infos {
		if s.Stats != nil {
			out[s.Name] = *s.Stats
		}
	}
	return out
}

// procTruth is what /proc says of a service's main process and the
// children it waited for, read by the test itself.
type procTruth struct {
	user, system       float64 // seconds
	rss, peakRSS       uint64
	fds                int
	readBytes, written uint64
}

// readProcTruth reads /proc/<pid>/{stat,status,fd,io}.
func readProcTruth(t *testing.T, pid int) procTruth {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	require.NoError(t, err)
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	tick := func(i int) float64 { // fields counted from the state, 3
		n, err := strconv.ParseFloat(f[i-3], 64)
		require.NoError(t, err)
		return n / 100 // USER_HZ
	}
	var tr procTruth
	tr.user = tick(14) + tick(16)
	tr.system = tick(15) + tick(17)
	kB := func(field string) uint64 {
		v := strings.TrimSuffix(procStatusField(pid, field), " kB")
		n, err := strconv.ParseUint(v, 10, 64)
		require.NoError(t, err, "%s of %d", field, pid)
		return n << 10
	}
	tr.rss, tr.peakRSS = kB("VmRSS"), kB("VmHWM")
	tr.fds, err = countFDs(pid)
	require.NoError(t, err)
	data, err = os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	require.NoError(t, err)
	for _, line := range strings.Split(string(data), "\n") {
		key, value, _ := strings.Cut(line, ": ")
		n, _ := strconv.ParseUint(value, 10, 64)
		switch key {
		case "read_bytes":
			tr.readBytes = n
		case "write_bytes":
			tr.written = n
		}
	}
	return tr
}

// waitSleeping waits until the service that wrote its PID into
// @DIR@/<name>.pid for the runs-th time is done with its work and returns
// the PID: the process is blocked in the system call of its sleep (a
// shell has executed sleep, a perl has written the PID and called sleep).
// From then on /proc's figures of the process stay.
func waitSleeping(t *testing.T, dir, name string, runs int) int {
	t.Helper()
	path := filepath.Join(dir, name+".pid")
	lines := waitLines(t, path, runs, 30*time.Second)
	pid, err := strconv.Atoi(lines[runs-1])
	require.NoError(t, err)
	testutil.WaitFor(t, 60*time.Second, func() error {
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		call, err := os.ReadFile(fmt.Sprintf("/proc/%d/syscall", pid))
		nr, _ := strconv.Atoi(strings.Fields(string(call) + " -")[0])
		if c := strings.TrimSpace(string(comm)); err != nil || c != "sleep" && c != "perl" ||
			nr != unix.SYS_CLOCK_NANOSLEEP && nr != unix.SYS_NANOSLEEP {
			return fmt.Errorf("%s (PID %d) is still at work: %q, system call %q, %v", name, pid, comm, call, err)
		}
		return nil
	})
	return pid
}

const mib = 1 << 20

// measuresLayer runs one service per measure, all in charge group "m".
// Each shell writes its PID, has the work done and executes sleep; each
// perl does the work, writes its PID and sleeps. peaklimit has a memory
// limit, so its memory figures come from its memory cgroup where the
// host has a memory controller.
const measuresLayer = `
services:
    user:
        override: replace
        command: /bin/sh -c 'echo $$ >> @DIR@/user.pid; perl -e "my \$i = 0; \$i++ while \$i < 20_000_000"; exec sleep 1000'
        startup: enabled
        charge-group: m
    system:
        override: replace
        command: /bin/sh -c 'echo $$ >> @DIR@/system.pid; dd if=/dev/zero of=/dev/null bs=1M count=6000 2>/dev/null; exec sleep 1000'
        startup: enabled
        charge-group: m
    peak:
        override: replace
        command: /usr/bin/perl -e 'my $n = 96 << 20; my $x = "a" x $n; undef $x; open F, ">>", "@DIR@/peak.pid"; print F "$$\n"; close F; sleep 1000'
        startup: enabled
        charge-group: m
    peaklimit:
        override: replace
        command: /usr/bin/perl -e 'my $n = 96 << 20; my $x = "a" x $n; undef $x; open F, ">>", "@DIR@/peaklimit.pid"; print F "$$\n"; close F; sleep 1000'
        startup: enabled
        charge-group: m
        limits: {memory: 400MiB}
    fds:
        override: replace
        command: /bin/sh -c 'exec 3</dev/null 4</dev/null 5</dev/null 6</dev/null 7</dev/null 8</dev/null 9</dev/null; echo $$ >> @DIR@/fds.pid; exec sleep 1000'
        startup: enabled
        charge-group: m
    plain:
        override: replace
        command: /bin/sh -c 'echo $$ >> @DIR@/plain.pid; exec sleep 1000'
        startup: enabled
        charge-group: m
    io:
        override: replace
        command: /bin/sh -c 'echo $$ >> @DIR@/io.pid; dd if=/dev/zero of=@DIR@/out bs=64k count=64 conv=fsync 2>/dev/null; dd if=@DIR@/in of=/dev/null bs=64k iflag=direct 2>/dev/null; exec sleep 1000'
        startup: enabled
        charge-group: m
`

// TestStatsMeasures checks each measure of GET /v1/services?stats=true
// against /proc, read by the test for the service's main process (which
// waited for the children that did the work):
//
//   - CPU: a service burning CPU in user mode, one making the kernel
//     work (reads of /dev/zero), each split as /proc splits it;
//   - memory: one that allocated 96 MiB and freed it (peak well above
//     current);
//   - open fds: one holding 7 descriptors more than a plain service;
//   - storage I/O: one writing 4 MiB with fsync and reading 2 MiB with
//     O_DIRECT (so the page cache cannot serve it).
//
// Then the group totals are the sums, in JSON and in one scrape of
// /v1/metrics, and after a restart of every service no counter went down
// and each adds the new run.
func TestStatsMeasures(t *testing.T) {
	dir := newPebbleDir(t, map[string]string{"001-base.yaml": measuresLayer})
	writeFile(t, filepath.Join(dir, "in"), strings.Repeat("x", 2*mib))
	d := startDaemon(t, dir, daemonOptions{})
	require.Equal(t, "Done", d.waitAutostart().Status)
	names := []string{"user", "system", "peak", "peaklimit", "fds", "plain", "io"}
	truths := make(map[string]procTruth)
	for _, n := range names {
		truths[n] = readProcTruth(t, waitSleeping(t, dir, n, 1))
	}
	if truths["io"].written == 0 {
		t.Skip("skipping: the file system of the test directory does not account written bytes")
	}
	first := d.usage()
	checkMeasures(t, first, truths)
	checkGroupTotals(t, d, names)

	// A restart of each: every counter keeps what it had and adds the
	// new run, which does the same work again.
	for _, n := range names {
		d.mustPebble("restart", n)
	}
	again := make(map[string]procTruth)
	for _, n := range names {
		again[n] = readProcTruth(t, waitSleeping(t, dir, n, 2))
	}
	second := d.usage()
	for _, n := range names {
		a, b := first[n], second[n]
		assert.GreaterOrEqual(t, b.CPUSeconds, a.CPUSeconds, n)
		assert.GreaterOrEqual(t, b.CPUUserSeconds, a.CPUUserSeconds, n)
		assert.GreaterOrEqual(t, b.CPUSystemSeconds, a.CPUSystemSeconds, n)
		assert.GreaterOrEqual(t, *b.IOReadBytes, *a.IOReadBytes, n)
		assert.GreaterOrEqual(t, *b.IOWriteBytes, *a.IOWriteBytes, n)
		assert.GreaterOrEqual(t, *b.MemoryPeakBytes, *a.MemoryPeakBytes, n)
		assert.Equal(t, a.Starts+1, b.Starts, n)
	}
	io := second["io"]
	t.Logf("figure: io after restart: read %d written %d; /proc, two runs: read %d written %d",
		*io.IOReadBytes, *io.IOWriteBytes, truths["io"].readBytes+again["io"].readBytes, truths["io"].written+again["io"].written)
	assert.InDelta(t, truths["io"].written+again["io"].written, *io.IOWriteBytes, 2*mib, "both runs' writes")
	assert.GreaterOrEqual(t, *io.IOWriteBytes, uint64(2*4*mib))
	assert.InDelta(t, truths["io"].readBytes+again["io"].readBytes, *io.IOReadBytes, 2*mib, "both runs' reads")
	assert.GreaterOrEqual(t, *io.IOReadBytes, uint64(2*2*mib))
	user := second["user"]
	t.Logf("figure: user after restart: %.3fs user; /proc, two runs: %.3fs", user.CPUUserSeconds, truths["user"].user+again["user"].user)
	assert.InDelta(t, truths["user"].user+again["user"].user, user.CPUUserSeconds, cpuBand(truths["user"].user+again["user"].user))
	checkGroupTotals(t, d, names)
	d.stop()
}

// cpuBand is how far a CPU figure of the daemon may be from /proc's:
// /proc counts in ticks of 10 ms for the process and for each child it
// waited for, and the kernel splits user from system time by sampling on
// ticks, scaled to the exact run time separately for each task (in /proc)
// and for the whole cgroup (cpu.stat), so the two splits differ by a few
// ticks and a few percent.
func cpuBand(truth float64) float64 { return 0.05 + 0.05*truth }

// checkMeasures compares the daemon's figures with /proc's.
func checkMeasures(t *testing.T, got map[string]serviceUsage, truths map[string]procTruth) {
	t.Helper()
	for name, tr := range truths {
		u := got[name]
		t.Logf("figure: %s: daemon cpu %.3fs (user %.3f system %.3f) memory %d peak %v fds %v read %v written %v; "+
			"/proc user %.2f system %.2f rss %d hwm %d fds %d read %d written %d",
			name, u.CPUSeconds, u.CPUUserSeconds, u.CPUSystemSeconds, u.MemoryBytes, deref(u.MemoryPeakBytes), deref(u.OpenFDs),
			deref(u.IOReadBytes), deref(u.IOWriteBytes), tr.user, tr.system, tr.rss, tr.peakRSS, tr.fds, tr.readBytes, tr.written)
		require.NotNil(t, u.MemoryPeakBytes, name)
		require.NotNil(t, u.OpenFDs, name)
		require.NotNil(t, u.IOReadBytes, name)
		require.NotNil(t, u.IOWriteBytes, name)
		assert.InDelta(t, tr.user+tr.system, u.CPUSeconds, cpuBand(tr.user+tr.system), "%s: cpu", name)
		assert.InDelta(t, tr.user, u.CPUUserSeconds, cpuBand(tr.user+tr.system), "%s: user cpu", name)
		assert.InDelta(t, tr.system, u.CPUSystemSeconds, cpuBand(tr.user+tr.system), "%s: system cpu", name)
		assert.InDelta(t, u.CPUSeconds, u.CPUUserSeconds+u.CPUSystemSeconds, 0.001, "%s: user and system make the total", name)
		assert.Equal(t, tr.fds, *u.OpenFDs, "%s: one process, whose fds stay while it sleeps", name)
		assert.Equal(t, 1, u.Processes, name)
	}
	user, system := got["user"], got["system"]
	assert.Greater(t, user.CPUUserSeconds, 0.1)
	assert.Greater(t, user.CPUUserSeconds, 4*user.CPUSystemSeconds, "a loop in perl runs in user mode")
	assert.Greater(t, system.CPUSystemSeconds, 0.1)
	assert.Greater(t, system.CPUSystemSeconds, system.CPUUserSeconds, "reading /dev/zero is the kernel's work")

	// Peak above current. A cgroup's figures (peaklimit here) count the
	// page cache and kernel memory charged to it, and not the pages of
	// the perl binary and libraries charged to the cgroup that read them
	// first, which the resident sizes of /proc count: hence 16 MiB either
	// way. Without a cgroup, the peak is the largest VmHWM or sum of
	// resident sizes seen, at least /proc's VmHWM.
	for _, name := range []string{"peak", "peaklimit"} {
		peak, tr := got[name], truths[name]
		assert.GreaterOrEqual(t, *peak.MemoryPeakBytes, uint64(96*mib), name)
		assert.InDelta(t, tr.peakRSS, *peak.MemoryPeakBytes, 16*mib, "%s: peak against VmHWM", name)
		assert.InDelta(t, tr.rss, peak.MemoryBytes, 16*mib, "%s: memory now against VmRSS", name)
		assert.Less(t, peak.MemoryBytes+64*mib, *peak.MemoryPeakBytes, "%s: 96 MiB were freed", name)
	}
	assert.GreaterOrEqual(t, *got["peak"].MemoryPeakBytes, truths["peak"].peakRSS, "without a cgroup, at least VmHWM")

	assert.Equal(t, 7, *got["fds"].OpenFDs-*got["plain"].OpenFDs, "fds 3 to 9 held open")

	// Storage I/O: /proc's read_bytes and write_bytes are the source here;
	// a cgroup's io.stat (other hosts) may add up to 1 MiB of metadata.
	io, iotr := got["io"], truths["io"]
	assert.GreaterOrEqual(t, *io.IOWriteBytes, uint64(4*mib), "4 MiB written and synced")
	assert.InDelta(t, iotr.written, *io.IOWriteBytes, mib)
	assert.GreaterOrEqual(t, *io.IOReadBytes, uint64(2*mib), "2 MiB read past the page cache")
	assert.InDelta(t, iotr.readBytes, *io.IOReadBytes, mib)
}

// deref shows an optional figure.
func deref[T any](p *T) any {
	if p == nil {
		return "absent"
	}
	return *p
}

// checkGroupTotals checks that the totals of group "m" are the sums of
// its services' figures, in JSON and in one scrape of /v1/metrics.
func checkGroupTotals(t *testing.T, d *daemon, names []string) {
	t.Helper()
	got := d.usage()
	var sum usageStats
	var peak, read, written uint64
	var fds int
	for _, n := range names {
		u := got[n]
		sum.CPUSeconds += u.CPUSeconds
		sum.CPUUserSeconds += u.CPUUserSeconds
		sum.CPUSystemSeconds += u.CPUSystemSeconds
		sum.MemoryBytes += u.MemoryBytes
		sum.Processes += u.Processes
		sum.Starts += u.Starts
		peak += *u.MemoryPeakBytes
		fds += *u.OpenFDs
		read += *u.IOReadBytes
		written += *u.IOWriteBytes
	}
	g := got["user"].GroupTotals
	require.NotNil(t, g)
	assert.ElementsMatch(t, names, g.Services)
	assert.InDelta(t, sum.CPUSeconds, g.CPUSeconds, 1e-6)
	assert.InDelta(t, sum.CPUUserSeconds, g.CPUUserSeconds, 1e-6)
	assert.InDelta(t, sum.CPUSystemSeconds, g.CPUSystemSeconds, 1e-6)
	assert.Equal(t, sum.MemoryBytes, g.MemoryBytes)
	assert.Equal(t, sum.Processes, g.Processes)
	assert.Equal(t, sum.Starts, g.Starts)
	assert.Equal(t, peak, *g.MemoryPeakBytes)
	assert.Equal(t, fds, *g.OpenFDs)
	assert.Equal(t, read, *g.IOReadBytes)
	assert.Equal(t, written, *g.IOWriteBytes)

	text := d.metricsText()
	for _, family := range []string{"cpu_seconds_total", "cpu_user_seconds_total", "cpu_system_seconds_total", "memory_bytes",
		"memory_peak_bytes", "processes", "open_fds", "io_read_bytes_total", "io_write_bytes_total"} {
		assert.Regexp(t, `(?m)^# TYPE pebble_service_`+family+` (counter|gauge)$`, text)
		var total float64
		for _, n := range names {
			total += metricSample(t, text, "pebble_service_"+family, `service="`+n+`"`)
		}
		assert.InDelta(t, total, metricSample(t, text, "pebble_group_"+family, `group="m"`), 1e-6*max(1, total), family)
	}
}

// metricSample returns the value of one sample of a scrape.
func metricSample(t *testing.T, text, name, label string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + `\{` + label + `\} (\S+)$`).FindStringSubmatch(text)
	require.NotNil(t, m, "no %s{%s} in:\n%s", name, label, text)
	v, err := strconv.ParseFloat(m[1], 64)
	require.NoError(t, err)
	return v
}

// TestStatsShortRun: a run that ends before any reading is still counted,
// from what wait4 reported for its main process (the children it waited
// for included): twice 2 MiB written and synced, and the CPU time of the
// two runs, although stats are read only after both ended.
func TestStatsShortRun(t *testing.T) {
	dir := newPebbleDir(t, map[string]string{"001-base.yaml": `
services:
    brief:
        override: replace
        command: /bin/sh -c 'dd if=/dev/zero of=@DIR@/brief bs=64k count=32 conv=fsync 2>/dev/null; dd if=/dev/zero of=/dev/null bs=1M count=2000 2>/dev/null'
        on-success: ignore
`})
	d := startDaemon(t, dir, daemonOptions{})
	for run := 1; run <= 2; run++ {
		d.pebble("start", "brief")
		testutil.WaitFor(t, 60*time.Second, func() error {
			if s := d.serviceStatus("brief"); s != "inactive" {
				return fmt.Errorf("run %d of brief is %s", run, s)
			}
			return nil
		})
	}
	u := d.usage()["brief"]
	t.Logf("figure: two short runs: cpu %.3fs (user %.3f system %.3f) read %v written %v",
		u.CPUSeconds, u.CPUUserSeconds, u.CPUSystemSeconds, deref(u.IOReadBytes), deref(u.IOWriteBytes))
	assert.Equal(t, 2, u.Starts)
	assert.Greater(t, u.CPUSystemSeconds, 0.0, "2000 MiB of /dev/zero read, twice")
	require.NotNil(t, u.IOWriteBytes, "the runs' writes are known")
	// Each run dirtied its 2 MiB (a rewrite of the same file counts again
	// once written back by fsync); metadata may add a little.
	assert.GreaterOrEqual(t, *u.IOWriteBytes, uint64(2*2*mib))
	assert.LessOrEqual(t, *u.IOWriteBytes, uint64(2*2*mib+mib))
	d.stop()
}
