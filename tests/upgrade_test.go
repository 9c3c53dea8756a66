package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
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
		out := d.mustPebble("upgrade", "--binary", bin)
		t.Logf("upgrade %d to %s: %v", i+1, filepath.Base(bin), time.Since(start).Round(time.Millisecond))
		assert.Empty(t, out)
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
