package system

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/pebble-project/pebble/internal/testutil"
)

// logBuffer is the daemon log, safe for the daemon's writes and the test's
// reads.
type logBuffer struct {
	testutil.SyncBuffer
}

// messages returns the log lines without their time and "[pebble]" prefix.
func (b *logBuffer) messages() []string {
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if _, msg, ok := strings.Cut(line, " [pebble] "); ok {
			out = append(out, msg)
		}
	}
	return out
}

// closed returns the parts named by close's debug lines, in log order.
func (b *logBuffer) closed() []string {
	var names []string
	for _, m := range b.messages() {
		if rest, ok := strings.CutPrefix(m, "DEBUG Closed "); ok {
			names = append(names, rest[:strings.LastIndex(rest, " in ")])
		}
	}
	return names
}

// run is one in-process system.Run.
type run struct {
	log    *logBuffer
	ready  chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
	code   int
	err    error
}

// startRun starts Run with opts (the test's log, no signal handling, debug
// lines on) in the background. A cleanup stops it.
func startRun(t *testing.T, opts Options) *run {
	t.Helper()
	r := &run{log: &logBuffer{}, ready: make(chan struct{}), done: make(chan struct{})}
	opts.Stderr = r.log
	opts.Debug = true
	opts.NoSignals = true
	opts.Ready = func() { close(r.ready) }
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() {
		defer close(r.done)
		r.code, r.err = Run(ctx, opts)
	}()
	t.Cleanup(func() {
		r.cancel()
		<-r.done
		if t.Failed() {
			t.Logf("daemon log:\n%s", r.log)
		}
	})
	return r
}

// waitReady waits until Run calls Ready, failing if it returns first.
func (r *run) waitReady(t *testing.T) {
	t.Helper()
	select {
	case <-r.ready:
	case <-r.done:
		t.Fatalf("Run returned before it was ready: code %d, error %v; log:\n%s", r.code, r.err, r.log)
	case <-time.After(20 * time.Second):
		t.Fatalf("Run not ready after 20s; log:\n%s", r.log)
	}
}

// stop cancels Run and returns what it returned.
func (r *run) stop(t *testing.T) (int, error) {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("Run did not return 30s after its context ended; log:\n%s", r.log)
	}
	return r.code, r.err
}

// newDir returns a fresh $PEBBLE with one layer file.
func newDir(t *testing.T, layer string) string {
	t.Helper()
	dir := t.TempDir()
	if layer != "" {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "layers"), 0o755))
		layer = strings.ReplaceAll(layer, "@DIR@", dir)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "layers", "001-base.yaml"), []byte(layer), 0o644))
	}
	return dir
}

// get sends GET path to the daemon's socket and returns the status.
func get(socket, path string) (int, error) {
	c := &http.Client{Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}}
	resp, err := c.Get("http://localhost" + path)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// lockIsFree reports whether the directory's lock can be taken now.
func lockIsFree(t *testing.T, dir string) bool {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, lockFileName))
	require.NoError(t, err)
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return false
	}
	unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return true
}

// pidAlive reports whether pid is a live, non-zombie process.
func pidAlive(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(data), ") ")
	return !strings.HasPrefix(rest, "Z") && !strings.HasPrefix(rest, "X")
}

// readPID reads the PID a service wrote to path.
func readPID(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	require.NoError(t, err)
	return pid
}

// requireInOrder fails unless a line starting with each of want is in
// lines, in that order.
func requireInOrder(t *testing.T, lines, want []string) {
	t.Helper()
	i := 0
	for _, l := range lines {
		if i < len(want) && strings.HasPrefix(l, want[i]) {
			i++
		}
	}
	require.Equal(t, len(want), i, "log line %q missing or out of order in:\n%s", want[min(i, len(want)-1)], strings.Join(lines, "\n"))
}

const serviceLayer = `
services:
    svc:
        override: replace
        command: /bin/sh -c 'echo $$ > @DIR@/svc.pid; exec sleep 1000'
        startup: enabled
`

// TestRunStartupAndShutdownOrder: at Ready the socket answers, the state
// file and the lock exist and the default service runs; at the end the
// service is stopped before the API closes, and the parts close in the
// reverse order of start-up, the directory lock last.
func TestRunStartupAndShutdownOrder(t *testing.T) {
	dir := newDir(t, serviceLayer)
	r := startRun(t, Options{Dir: dir, Persist: true})
	r.waitReady(t)

	socket := filepath.Join(dir, ".pebble.socket")
	status, err := get(socket, "/v1/services")
	require.NoError(t, err)
	assert.Equal(t, 200, status)
	assert.FileExists(t, filepath.Join(dir, ".pebble.state"))
	assert.False(t, lockIsFree(t, dir), "the lock is held while the daemon runs")
	pid := readPID(t, filepath.Join(dir, "svc.pid"))
	require.True(t, pidAlive(pid))

	code, err := r.stop(t)
	require.NoError(t, err)
	assert.Equal(t, 0, code)
	assert.False(t, pidAlive(pid), "service still running after Run returned")
	assert.NoFileExists(t, socket)
	assert.FileExists(t, filepath.Join(dir, ".pebble.state"))
	assert.True(t, lockIsFree(t, dir), "the lock is released when Run returns")

	requireInOrder(t, r.log.messages(), []string{
		`DEBUG Locked directory "` + dir + `".`,
		`DEBUG No processes left by a previous daemon.`,
		`DEBUG Wrote state file "` + filepath.Join(dir, ".pebble.state") + `".`,
		`DEBUG Listening on "` + socket + `".`,
		"Started daemon.",
		"Started default services with change 1.",
		"Exiting: context canceled.",
		"Stopping all running services.",
		`Service "svc" stopped`,
		"DEBUG Closed API server in ",
	})
	// The service manager closes before notices: its last transitions
	// are recorded as service-update notices and saved.
	assert.Equal(t, []string{
		"autostart", "API server", "scheduler", "checks", "changes", "service manager", "notices",
		"log forwarding", "state file", "reaper", "directory lock",
	}, r.log.closed())
}

// TestSecondRunLeavesFirstAlone: a second Run on a directory whose daemon
// is alive fails with Pebble's message for a socket in use, and the first
// daemon's service and socket carry on.
func TestSecondRunLeavesFirstAlone(t *testing.T) {
	dir := newDir(t, serviceLayer)
	first := startRun(t, Options{Dir: dir, Persist: true})
	first.waitReady(t)
	pid := readPID(t, filepath.Join(dir, "svc.pid"))
	socket := filepath.Join(dir, ".pebble.socket")

	second := startRun(t, Options{Dir: dir, Persist: true})
	code, err := second.stop(t)
	assert.Equal(t, exitError, code)
	assert.EqualError(t, err, fmt.Sprintf("when trying to listen on %s: socket %q already in use", socket, socket))
	assert.NotContains(t, second.log.String(), "Killed")

	status, err := get(socket, "/v1/services")
	require.NoError(t, err)
	assert.Equal(t, 200, status)
	assert.True(t, pidAlive(pid), "the first daemon's service was killed")
	code, err = first.stop(t)
	require.NoError(t, err)
	assert.Equal(t, 0, code)
}

// TestLockedDirectoryUnchanged: a Run that cannot take the lock changes no
// file of the directory. The lock holder here is the test itself, so
// nothing else writes to the directory meanwhile.
func TestLockedDirectoryUnchanged(t *testing.T) {
	dir := newDir(t, serviceLayer)
	lock, err := lockDir(dir, filepath.Join(dir, ".pebble.socket"))
	require.NoError(t, err)
	defer lock.release()
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".pebble.state"), []byte(`{"x":1}`), 0o600))
	before := dirSnapshot(t, dir)

	for _, opts := range []Options{
		{Dir: dir, Persist: true, CreateDirs: true},
		{Dir: dir, Persist: true, CopyOnce: t.TempDir()},
	} {
		r := startRun(t, opts)
		code, err := r.stop(t)
		assert.Equal(t, exitError, code)
		// Nothing answers on the socket: the error names the directory.
		assert.EqualError(t, err, fmt.Sprintf("cannot lock directory %q: another daemon is running on it", dir))
		assert.Equal(t, before, dirSnapshot(t, dir), "the refused daemon changed the directory")
	}
}

// dirSnapshot describes every entry of dir: name, mode, size, modification
// time and inode.
func dirSnapshot(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		out = append(out, fmt.Sprintf("%s %v %d %v %d", path, info.Mode(), info.Size(), info.ModTime().UnixNano(), st.Ino))
		return nil
	})
	require.NoError(t, err)
	return out
}

// TestBuildFailureClosesWhatWasBuilt: a plan that does not load ends Run
// with the error, and what was opened before it is closed again in reverse
// order, the lock included.
func TestBuildFailureClosesWhatWasBuilt(t *testing.T) {
	dir := newDir(t, "services: [")
	r := startRun(t, Options{Dir: dir, Persist: true})
	code, err := r.stop(t)
	assert.Equal(t, exitError, code)
	require.ErrorContains(t, err, "cannot load plan: ")
	assert.True(t, lockIsFree(t, dir))
	assert.NoFileExists(t, filepath.Join(dir, ".pebble.socket"))
	assert.Equal(t, []string{"state file", "reaper", "directory lock"}, r.log.closed())
	assert.NotContains(t, r.log.String(), "Started daemon.")
}

// TestRunDirectoryErrors: the checks of cli.md §4 come before the lock, so
// a refused directory is left as it was.
func TestRunDirectoryErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	missing := filepath.Join(t.TempDir(), "missing")
	tests := []struct {
		dir, err string
	}{
		{"relative", `directory "relative" must be absolute`},
		{missing, fmt.Sprintf("directory %q does not exist", missing)},
		{file, fmt.Sprintf("directory %q is not a directory", file)},
	}
	for _, tt := range tests {
		r := startRun(t, Options{Dir: tt.dir})
		_, err := r.stop(t)
		assert.EqualError(t, err, tt.err)
	}
	assert.NoFileExists(t, missing)
}
