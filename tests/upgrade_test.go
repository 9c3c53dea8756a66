package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/client"
	"github.com/pebble-project/pebble/internal/testutil"
	"github.com/pebble-project/pebble/tests/harness"
)

// The in-place upgrade (docs/upgrade.md) against the built binary and a
// second build of it with another version stamp.

var upgradeVariant struct {
	once sync.Once
	bin  string
	err  error
}

// variantBin returns a second pebble binary whose version ends in
// "+upgraded", built once per run.
func variantBin(t *testing.T) string {
	t.Helper()
	if os.Getenv("PEBBLE_E2E_BIN") != "" {
		t.Skip("upgrade tests build a second binary from this source tree")
	}
	upgradeVariant.once.Do(func() {
		upgradeVariant.bin, upgradeVariant.err = testRun.BuildVariant("pebble-upgraded", "upgraded")
	})
	require.NoError(t, upgradeVariant.err)
	return upgradeVariant.bin
}

// systemVersion returns the version the daemon reports.
func (d *daemon) systemVersion() string {
	d.t.Helper()
	var info struct {
		Version string `json:"version"`
	}
	d.sync("GET", "/v1/system-info", nil, &info)
	return info.Version
}

// openFDs lists what the open descriptors of pid point to, sorted, leaving
// out the sockets of connections (a request's connection may still be
// closing): listening sockets, files, pipes and the like stay.
func openFDs(t testing.TB, pid int) []string {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	listening := listeningSockets(pid)
	var fds []string
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		if inode, ok := strings.CutPrefix(target, "socket:["); ok && !listening[strings.TrimSuffix(inode, "]")] {
			continue
		}
		fds = append(fds, target)
	}
	sort.Strings(fds)
	return fds
}

// listeningSockets returns the inodes of the listening UNIX and TCP sockets
// in pid's network namespace.
func listeningSockets(pid int) map[string]bool {
	inodes := make(map[string]bool)
	// /proc/net/unix: Num RefCount Protocol Flags Type St Inode Path; flag
	// 00010000 marks a listening socket.
	if data, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/unix", pid)); err == nil {
		for _, line := range strings.Split(string(data), "\n")[1:] {
			if f := strings.Fields(line); len(f) >= 7 && f[3] == "00010000" {
				inodes[f[6]] = true
			}
		}
	}
	// /proc/net/tcp{,6}: st 0A is LISTEN; the inode is the tenth field.
	for _, name := range []string{"tcp", "tcp6"} {
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, name))
		for _, line := range strings.Split(string(data), "\n")[1:] {
			if f := strings.Fields(line); len(f) >= 10 && f[3] == "0A" {
				inodes[f[9]] = true
			}
		}
	}
	return inodes
}

// poller asks for path every interval over one keep-alive client, as a
// monitoring client would, and counts the requests that failed.
type poller struct {
	client *http.Client
	path   string
	stop   chan struct{}
	done   chan struct{}

	mu       sync.Mutex
	ok       int
	failures []string
}

func startPoller(socket, path string, interval time.Duration) *poller {
	p := &poller{
		client: &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var dialer net.Dialer
				return dialer.DialContext(ctx, "unix", socket)
			},
		}, Timeout: 30 * time.Second},
		path: path,
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go p.loop(interval)
	return p
}

func (p *poller) loop(interval time.Duration) {
	defer close(p.done)
	defer p.client.CloseIdleConnections()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-tick.C:
		}
		status, env, err := harness.Do(context.Background(), p.client, "GET", p.path, nil)
		p.mu.Lock()
		switch {
		case err != nil:
			p.failures = append(p.failures, err.Error())
		case status != http.StatusOK:
			p.failures = append(p.failures, fmt.Sprintf("status %d: %s", status, env.Result))
		default:
			p.ok++
		}
		p.mu.Unlock()
	}
}

// finish stops the poller and returns how many requests succeeded and the
// failures.
func (p *poller) finish() (int, []string) {
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ok, p.failures
}

// TestUpgradeKeepsServing upgrades a daemon ten times, alternating between
// two builds, while a client polls it 100 times a second over the socket:
// no request fails, the PID stays, the version follows the binary, each
// upgrade change is Done, and no descriptor is left behind.
func TestUpgradeKeepsServing(t *testing.T) {
	variant := variantBin(t)
	dir := newPebbleDir(t, nil)
	d := startDaemon(t, dir, daemonOptions{args: []string{"--http", "127.0.0.1:0"}})
	pid := d.daemonPID()
	baseVersion := d.systemVersion()
	fdsBefore := openFDs(t, pid)

	p := startPoller(d.socket, "/v1/services", 10*time.Millisecond)
	for i := range 10 {
		bin, want := variant, "+upgraded"
		if i%2 == 1 {
			bin, want = pebbleBin, baseVersion
		}
		start := time.Now()
		d.mustPebble("upgrade", "--binary", bin)
		t.Logf("upgrade %d to %s: %v", i+1, filepath.Base(bin), time.Since(start).Round(time.Millisecond))
		assert.True(t, strings.HasSuffix(d.systemVersion(), want), "version %q after upgrade %d, want suffix %q", d.systemVersion(), i+1, want)
		assert.Equal(t, pid, d.daemonPID())
	}
	ok, failures := p.finish()
	assert.Empty(t, failures, "requests that failed across the upgrades")
	assert.Greater(t, ok, 50)
	t.Logf("figure: %d polls of /v1/services across 10 upgrades, %d failed", ok, len(failures))

	var chgs []struct {
		Kind   string `json:"kind"`
		Status string `json:"status"`
	}
	d.sync("GET", "/v1/changes?select=all", nil, &chgs)
	upgrades := 0
	for _, c := range chgs {
		if c.Kind == "upgrade" {
			upgrades++
			assert.Equal(t, "Done", c.Status)
		}
	}
	assert.Equal(t, 10, upgrades)
	assert.Equal(t, fdsBefore, openFDs(t, pid), "descriptors of the daemon before and after 10 upgrades")
	assert.Contains(t, d.stderr.String(), "Took over from version")
	d.stop()
}

// TestUpgradeRefusesBinaryThatCannotTakeOver asks for upgrades to binaries
// that cannot take over: one that exits at once, one that is not there.
// Each is refused, the old daemon carries on serving with its version, and
// a warning notice says why.
func TestUpgradeRefusesBinaryThatCannotTakeOver(t *testing.T) {
	dir := newPebbleDir(t, nil)
	d := startDaemon(t, dir, daemonOptions{})
	pid := d.daemonPID()
	version := d.systemVersion()
	quitter := writeScript(t, dir, "quitter", "exit 0\n")

	res := d.pebble("upgrade", "--binary", quitter)
	assert.Equal(t, 1, res.code)
	assert.Contains(t, res.stderr, "did not answer the hand-over check (no output)")
	assert.Equal(t, version, d.systemVersion())
	assert.Equal(t, pid, d.daemonPID())

	res = d.pebble("upgrade", "--binary", filepath.Join(dir, "missing"))
	assert.Equal(t, 1, res.code)
	assert.Contains(t, res.stderr, "no such file or directory")

	res = d.pebble("upgrade", "--binary", "relative/pebble")
	assert.Equal(t, 1, res.code)
	assert.Contains(t, res.stderr, `binary "relative/pebble" is not an absolute path`)

	var notices []struct {
		Key string `json:"key"`
	}
	d.sync("GET", "/v1/notices?types=warning", nil, &notices)
	require.Len(t, notices, 1)
	assert.Contains(t, notices[0].Key, fmt.Sprintf("cannot upgrade daemon from %q: new binary did not answer", quitter))
	// The daemon still serves and can still be upgraded.
	out := d.mustPebble("changes")
	assert.Contains(t, out, "Error")
	d.stop()
}

// TestUpgradeAPI checks the request: admin only, actions, and the change
// it makes.
func TestUpgradeAPI(t *testing.T) {
	dir := newPebbleDir(t, nil)
	d := startDaemon(t, dir, daemonOptions{})
	status, env := d.requestJSON("POST", "/v1/daemon", map[string]string{"action": "restart"})
	assert.Equal(t, 400, status)
	assert.Equal(t, `invalid daemon action "restart"`, apiErrorOf(env).Message)
	status, env = d.requestJSON("POST", "/v1/daemon", map[string]string{})
	assert.Equal(t, 400, status)
	assert.Equal(t, "daemon action must be given", apiErrorOf(env).Message)

	status, env = d.requestJSON("POST", "/v1/daemon", map[string]string{"action": "upgrade"})
	require.Equal(t, 202, status, "%s", env.Result)
	id := env.Change
	var chg struct {
		Kind    string `json:"kind"`
		Status  string `json:"status"`
		Summary string `json:"summary"`
	}
	// A wait in flight when the daemon hands over is told to retry.
	status, env = d.request("GET", "/v1/changes/"+id+"/wait?timeout=30s", nil)
	if status == 503 {
		assert.Equal(t, "daemon is upgrading; retry the request", apiErrorOf(env).Message)
		status, env = d.request("GET", "/v1/changes/"+id+"/wait?timeout=30s", nil)
	}
	require.Equal(t, 200, status, "%s", env.Result)
	require.NoError(t, json.Unmarshal(env.Result, &chg))
	assert.Equal(t, "upgrade", chg.Kind)
	assert.Equal(t, "Done", chg.Status)
	assert.Equal(t, fmt.Sprintf("Upgrade daemon from %q", pebbleBin), chg.Summary)

	// The Go client's method, waited for like any change.
	c := d.client()
	id, err := c.Upgrade(t.Context(), &client.UpgradeOptions{Binary: pebbleBin})
	require.NoError(t, err)
	testutil.WaitFor(t, changeTimeout, func() error {
		done, err := c.Change(t.Context(), id)
		if err == nil && !done.Ready {
			err = fmt.Errorf("change %s is %s", id, done.Status)
		}
		if err == nil && done.Status != "Done" {
			t.Fatalf("upgrade change %s ended %s: %s", id, done.Status, done.Err)
		}
		return err
	})
	_, err = c.Upgrade(t.Context(), &client.UpgradeOptions{Binary: "relative"})
	assert.ErrorContains(t, err, `cannot upgrade: binary "relative" is not an absolute path`)
	d.stop()
}

// counterLayer runs "counter": numbered lines at about 10,000 a second,
// 1,000 at a time.
const counterLayer = `
services:
    counter:
        override: replace
        startup: enabled
        command: awk "BEGIN { for (i = 1; ; i++) { print \"line \" i; if (i % 1000 == 0) { fflush(); system(\"sleep 0.1\") } } }"
`

// counterLines checks that text holds "line N" for N from 1 to its last
// one, each once and in order, among other lines, and returns the last N.
// The very last line may be cut short: the stop killed the service in the
// middle of a write.
func counterLines(t *testing.T, what, text string) int {
	t.Helper()
	last, bad := 0, 0
	lines := strings.Split(strings.TrimSpace(text), "\n")
	for k, line := range lines {
		i := strings.Index(line, "[counter] line ")
		if i < 0 {
			continue
		}
		n, err := strconv.Atoi(line[i+len("[counter] line "):])
		if k == len(lines)-1 && strings.HasPrefix(strconv.Itoa(last+1), line[i+len("[counter] line "):]) {
			break
		}
		if err != nil || n != last+1 {
			if bad < 5 {
				t.Errorf("%s: %q after line %d", what, line, last)
			}
			bad++
		}
		if err == nil {
			last = n
		}
	}
	assert.Zero(t, bad, "%s: lines out of order, missing or repeated", what)
	return last
}

// counterProcess returns the PID of the counter service, the daemon's one
// child, and its start time.
func counterProcess(t *testing.T, daemonPID int) (int, uint64) {
	t.Helper()
	var pid int
	testutil.WaitFor(t, changeTimeout, func() error {
		children := childPIDs(daemonPID)
		if len(children) != 1 {
			return fmt.Errorf("daemon's children: %v", children)
		}
		pid = children[0]
		return nil
	})
	return pid, procStartTime(t, pid)
}

// procStartTime returns the start time of pid (field 22 of its stat).
func procStartTime(t *testing.T, pid int) uint64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	require.NoError(t, err, "process %d", pid)
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+2:]))
	start, err := strconv.ParseUint(fields[19], 10, 64)
	require.NoError(t, err)
	return start
}

// upgradeUnderLoad upgrades d ten times, alternating between the variant
// and the original binary, while counter writes 10,000 lines a second and
// a client polls /v1/services 100 times a second. It checks that no poll
// failed, that the daemon and counter keep their PIDs and start times, and
// that every line reached the daemon's stdout and the service's log once
// and in order.
func upgradeUnderLoad(t *testing.T, d *daemon, daemonPID int) {
	variant := variantBin(t)
	// The autostart is done (the counter is past its okay delay).
	d.sync("GET", "/v1/changes/1/wait?timeout=20s", nil, nil)
	baseVersion := d.systemVersion()
	pid, start := counterProcess(t, daemonPID)
	since := d.services()[0].CurrentSince

	p := startPoller(d.socket, "/v1/services", 10*time.Millisecond)
	var took []time.Duration
	for i := range 10 {
		bin, want := variant, "+upgraded"
		if i%2 == 1 {
			bin, want = pebbleBin, baseVersion
		}
		begin := time.Now()
		d.mustPebble("upgrade", "--binary", bin)
		took = append(took, time.Since(begin))
		assert.True(t, strings.HasSuffix(d.systemVersion(), want), "version after upgrade %d, want suffix %q", i+1, want)
	}
	ok, failures := p.finish()
	assert.Empty(t, failures, "requests that failed across the upgrades")
	t.Logf("figure: upgrades took %v (pebble upgrade, end to end); %d polls, %d failed", took, ok, len(failures))
	t.Logf("figure: the API was quiet (connections waiting in the backlog) for %v", quietTimes(d.stderr.String()))

	assert.Equal(t, daemonPID, d.daemonPIDNow(daemonPID))
	assert.Equal(t, start, procStartTime(t, pid), "counter's process was replaced")
	info := d.services()[0]
	assert.Equal(t, "active", info.Current)
	assert.True(t, since.Equal(info.CurrentSince), "current-since %v, was %v", info.CurrentSince, since)

	d.mustPebble("stop", "counter")
	last := counterLines(t, "daemon stdout", d.stdout.String())
	t.Logf("figure: %d lines through 10 upgrades, 0 lost or repeated in the daemon's stdout", last)
	assert.Greater(t, last, 10000)
	// The service's log buffer keeps its last 100 KiB: its lines are the
	// last ones written, in order.
	logs := d.mustPebble("logs", "-n", "all")
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	require.NotEmpty(t, lines)
	// The first line may be the rest of one cut by the ring.
	n, err := strconv.Atoi(lines[1][strings.LastIndexByte(lines[1], ' ')+1:])
	require.NoError(t, err, "pebble logs line %q", lines[1])
	for i, line := range lines[1:] {
		want := fmt.Sprintf("[counter] line %d", n+i)
		if !strings.HasSuffix(line, want) {
			t.Errorf("pebble logs line %d: %q, want one ending in %q", i+1, line, want)
			break
		}
	}
}

// quietTimes returns the quiet periods the daemon log reports, one per
// upgrade.
func quietTimes(log string) []string {
	var times []string
	for _, line := range strings.Split(log, "\n") {
		if _, rest, ok := strings.Cut(line, "the API was quiet for "); ok {
			times = append(times, strings.TrimSuffix(rest, "."))
		}
	}
	return times
}

// daemonPIDNow returns the daemon's PID: want if that process still runs
// pebble.
func (d *daemon) daemonPIDNow(want int) int {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", want))
	if err != nil || !strings.Contains(filepath.Base(exe), "pebble") {
		return 0
	}
	return want
}

// TestUpgradeKeepsServicesAndOutput: ten upgrades under load lose no
// line, refuse no request and restart no service (issue 15).
func TestUpgradeKeepsServicesAndOutput(t *testing.T) {
	dir := newPebbleDir(t, map[string]string{"001-counter.yaml": counterLayer})
	d := startDaemon(t, dir, daemonOptions{args: []string{"--verbose"}})
	upgradeUnderLoad(t, d, d.daemonPID())
	d.stop()
}

// TestUpgradeAsPID1 is the same as PID 1 of a PID namespace: the services
// stay the daemon's children through the exec.
func TestUpgradeAsPID1(t *testing.T) {
	wrap := unshareWrap(t)
	dir := newPebbleDir(t, map[string]string{"001-counter.yaml": counterLayer})
	d := startDaemon(t, dir, daemonOptions{args: []string{"--verbose"}, wrap: wrap})
	pid := d.daemonPID()
	require.Equal(t, "1", nsPID(t, pid), "the daemon is PID 1 of its namespace")
	upgradeUnderLoad(t, d, pid)
	procs, err := namespaceProcs(pid)
	require.NoError(t, err)
	for p, state := range procs {
		assert.NotEqual(t, "Z", state, "zombie %d in the daemon's namespace", p)
	}
	d.stop()
}

// nsPID returns pid's PID in its own namespace (the last NSpid entry).
func nsPID(t *testing.T, pid int) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "NSpid:"); ok {
			f := strings.Fields(v)
			return f[len(f)-1]
		}
	}
	return ""
}

// TestUpgradeDuringBackoff: a service waiting out its backoff delay when
// the daemon is upgraded restarts when the delay ends, not later and not
// at once.
func TestUpgradeDuringBackoff(t *testing.T) {
	dir := newPebbleDir(t, map[string]string{"001-flaky.yaml": `
services:
    flaky:
        override: replace
        startup: enabled
        command: sh -c 'date +%s.%N >> @DIR@/runs; exit 1'
        backoff-delay: 4s
`})
	d := startDaemon(t, dir, daemonOptions{})
	testutil.WaitFor(t, changeTimeout, func() error {
		if s := d.serviceStatus("flaky"); s != "backoff" {
			return fmt.Errorf("flaky is %s", s)
		}
		return nil
	})
	entered := d.services()[0].CurrentSince
	d.mustPebble("upgrade")
	assert.Equal(t, "backoff", d.serviceStatus("flaky"), "the upgrade neither restarted nor stopped it")
	runs := waitLines(t, filepath.Join(dir, "runs"), 2, 4*changeTimeout)
	second := parseUnixTime(t, runs[1])
	delay := second.Sub(entered)
	t.Logf("figure: restart %v after entering a 4s backoff (+ up to 10%% jitter), across an upgrade", delay.Round(time.Millisecond))
	assert.GreaterOrEqual(t, delay, 4*time.Second-50*time.Millisecond)
	assert.Less(t, delay, 4*time.Second+400*time.Millisecond+time.Second)
	d.stop()
}

// parseUnixTime parses "seconds.nanoseconds" as date +%s.%N prints it.
func parseUnixTime(t *testing.T, s string) time.Time {
	t.Helper()
	sec, frac, _ := strings.Cut(strings.TrimSpace(s), ".")
	secs, err := strconv.ParseInt(sec, 10, 64)
	require.NoError(t, err)
	nanos, err := strconv.ParseInt(frac, 10, 64)
	require.NoError(t, err)
	return time.Unix(secs, nanos)
}
