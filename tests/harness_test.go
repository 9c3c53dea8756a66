package tests

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/testutil"
	"github.com/pebble-project/pebble/tests/harness"
)

// Time limits shared by the tests. They are upper bounds for waits on events,
// never delays.
const (
	readyTimeout  = 15 * time.Second // daemon start until the socket answers
	exitTimeout   = 20 * time.Second // SIGTERM until exit: kill-delay 5s + fail-delay 5s + margin
	cliTimeout    = 30 * time.Second // one CLI command
	changeTimeout = 20 * time.Second // one change until ready
)

// syncBuffer is the shared test buffer, under the name the tests use.
type syncBuffer = testutil.SyncBuffer

// newPebbleDir creates a fresh $PEBBLE under the run's root with the given
// layer files (name → content) in its layers directory. Script bodies and
// layers may use @DIR@ for the directory itself.
func newPebbleDir(t testing.TB, layers map[string]string) string {
	t.Helper()
	dir, err := os.MkdirTemp(runRoot, "p-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o700))
	t.Cleanup(func() { os.RemoveAll(dir) })
	if len(layers) > 0 {
		writeLayers(t, dir, layers)
	}
	return dir
}

// writeLayers writes layer files (relative paths under $PEBBLE/layers) with
// @DIR@ replaced by dir.
func writeLayers(t testing.TB, dir string, layers map[string]string) {
	t.Helper()
	for name, content := range layers {
		path := filepath.Join(dir, "layers", name)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(strings.ReplaceAll(content, "@DIR@", dir)), 0o644))
	}
}

// writeScript writes a /bin/sh script into dir and returns its path; @DIR@ in
// body is replaced by dir.
func writeScript(t testing.TB, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	body = "#!/bin/sh\n" + strings.ReplaceAll(body, "@DIR@", dir)
	require.NoError(t, os.WriteFile(path, []byte(body), 0o755))
	return path
}

// readLines returns the non-empty lines of a marker file (none if missing).
func readLines(path string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var lines []string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	return lines
}

// waitLines waits until the marker file has at least n lines and returns them.
func waitLines(t testing.TB, path string, n int, timeout time.Duration) []string {
	t.Helper()
	var lines []string
	testutil.WaitFor(t, timeout, func() error {
		lines = readLines(path)
		if len(lines) < n {
			return fmt.Errorf("%s has %d lines, want %d: %q", filepath.Base(path), len(lines), n, lines)
		}
		return nil
	})
	return lines
}

// cleanEnv is the test's environment without the variables that steer
// pebble (see harness.CleanEnv).
func cleanEnv() []string {
	return harness.CleanEnv()
}

type daemonOptions struct {
	// bin is the daemon's binary; empty means the pebble under test
	// (interop_test.go runs Canonical's Pebble).
	bin string
	// args are extra arguments after "run".
	args []string
	// env is added to the daemon's environment.
	env []string
	// wrap is a command prefix, e.g. unshare; the daemon is its child.
	wrap []string
	// noWait skips waiting for the socket (for daemons expected to fail).
	noWait bool
	// cgroup, if set, is the cgroup the daemon runs in instead of a new
	// one of its own (cgroup_test.go).
	cgroup testCgroup
	// stdout, if set, takes the daemon's stdout instead of d.stdout.
	stdout io.Writer
}

// daemon is one `pebble run` process on its own $PEBBLE.
type daemon struct {
	t      testing.TB
	dir    string
	socket string
	cmd    *exec.Cmd
	stdout *syncBuffer
	stderr *syncBuffer
	http   *http.Client
	// started is when the daemon was launched.
	started time.Time
	// wrapped is set when the daemon is a child of a wrapper (unshare).
	wrapped bool
	// cgroup is the daemon's own cgroup (cgroup_test.go).
	cgroup testCgroup

	exited   chan struct{} // closed when cmd.Wait returned
	exitCode *int          // valid once exited is closed
}

// withT returns the same daemon reporting to t, for use inside subtests.
func (d *daemon) withT(t testing.TB) *daemon {
	c := *d
	c.t = t
	return &c
}

// startDaemon runs `pebble run` on dir and waits until its socket answers
// GET /v1/system-info. A cleanup kills the daemon and every process it left
// if the test did not stop it.
func startDaemon(t testing.TB, dir string, opts daemonOptions) *daemon {
	t.Helper()
	d := &daemon{
		t:        t,
		dir:      dir,
		socket:   filepath.Join(dir, ".pebble.socket"),
		stdout:   &syncBuffer{},
		stderr:   &syncBuffer{},
		exited:   make(chan struct{}),
		exitCode: new(int),
		wrapped:  len(opts.wrap) > 0,
	}
	d.http = &http.Client{
		Transport: &http.Transport{
			// One connection per request: the harness must not hold
			// daemon file descriptors between requests.
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var dialer net.Dialer
				return dialer.DialContext(ctx, "unix", d.socket)
			},
		},
		Timeout: 60 * time.Second,
	}
	argv := append(append([]string{}, opts.wrap...), cmp.Or(opts.bin, pebbleBin), "run")
	argv = append(argv, opts.args...)
	d.cmd = exec.Command(argv[0], argv[1:]...)
	d.cmd.Env = append(append(cleanEnv(), "PEBBLE="+dir), opts.env...)
	d.cmd.Stdout = cmp.Or[io.Writer](opts.stdout, d.stdout)
	d.cmd.Stderr = d.stderr
	d.cmd.Dir = dir
	d.cgroup = opts.cgroup
	if d.cgroup.path == "" {
		d.cgroup = newTestCgroup(t)
	}
	if fd := d.cgroup.open(); fd >= 0 {
		d.cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
		defer syscall.Close(fd)
	}
	d.started = time.Now()
	require.NoError(t, d.cmd.Start())
	go func() {
		err := d.cmd.Wait()
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			*d.exitCode = exitErr.ExitCode()
		} else if err != nil {
			*d.exitCode = -1
		}
		close(d.exited)
	}()
	t.Cleanup(d.cleanup)
	if !opts.noWait {
		d.waitReady()
	}
	return d
}

func (d *daemon) cleanup() {
	select {
	case <-d.exited:
	default:
		d.cmd.Process.Kill()
		if pid := d.daemonPID(); pid > 0 && pid != d.cmd.Process.Pid {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		<-d.exited
	}
	// Leave nothing for the next test, whatever this one asserted.
	for _, p := range processesWithEnv("PEBBLE=" + d.dir) {
		syscall.Kill(p.pid, syscall.SIGKILL)
	}
	d.cgroup.remove(d.t)
	if d.t.Failed() {
		d.t.Logf("daemon stderr:\n%s", d.stderr.String())
	}
}

// waitReady waits until the daemon answers on its socket.
func (d *daemon) waitReady() {
	d.t.Helper()
	testutil.WaitFor(d.t, readyTimeout, func() error {
		select {
		case <-d.exited:
			d.t.Fatalf("daemon exited with code %d before it was ready; stderr:\n%s", *d.exitCode, d.stderr.String())
		default:
		}
		status, env, err := d.tryRequest("GET", "/v1/system-info", nil)
		if err != nil {
			return err
		}
		if status != 200 || env.Type != "sync" {
			return fmt.Errorf("system-info: status %d, type %q", status, env.Type)
		}
		return nil
	})
}

// daemonPID is the PID of the pebble process itself: the started process, or
// its child when the daemon runs under a wrapper such as unshare --fork.
func (d *daemon) daemonPID() int {
	pid := d.cmd.Process.Pid
	if !d.wrapped {
		return pid
	}
	if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && exe == pebbleBin {
		return pid // the wrapper executed the daemon in its own process
	}
	children := childPIDs(pid)
	if len(children) == 0 {
		return 0
	}
	return children[0]
}

// signal sends sig to the pebble process.
func (d *daemon) signal(sig syscall.Signal) {
	d.t.Helper()
	pid := d.daemonPID()
	require.NotZero(d.t, pid, "cannot find the daemon's PID")
	require.NoError(d.t, syscall.Kill(pid, sig))
}

// waitExit waits for the daemon to exit and returns its exit code.
func (d *daemon) waitExit(timeout time.Duration) int {
	d.t.Helper()
	select {
	case <-d.exited:
		return *d.exitCode
	case <-time.After(timeout):
		d.t.Fatalf("daemon did not exit within %v; stderr:\n%s", timeout, d.stderr.String())
		return -1
	}
}

// stop sends SIGTERM and requires a clean shutdown: exit 0, socket removed,
// no process of this daemon left.
func (d *daemon) stop() {
	d.t.Helper()
	d.signal(syscall.SIGTERM)
	code := d.waitExit(exitTimeout)
	require.Equal(d.t, 0, code, "daemon exit code after SIGTERM; stderr:\n%s", d.stderr.String())
	d.requireCleanExit()
}

// requireCleanExit checks what every daemon exit must leave: no socket file,
// no process that carries this daemon's $PEBBLE and no cgroup.
func (d *daemon) requireCleanExit() {
	d.t.Helper()
	_, err := os.Stat(d.socket)
	require.True(d.t, errors.Is(err, os.ErrNotExist), "socket %s still exists after exit (stat error: %v)", d.socket, err)
	requireNoProcesses(d.t, d.dir)
	d.cgroup.requireEmpty(d.t)
}

// requireNoProcesses fails if any live (non-zombie) process carries
// PEBBLE=<dir> in its environment.
func requireNoProcesses(t testing.TB, dir string) {
	t.Helper()
	left := processesWithEnv("PEBBLE=" + dir)
	require.Empty(t, left, "processes left behind:\n%s", describeProcs(left))
}

// serviceProcesses lists the live processes started by this daemon: those
// with its $PEBBLE in their environment, except the daemon (and its wrapper).
func (d *daemon) serviceProcesses() []procInfo {
	skip := map[int]bool{d.cmd.Process.Pid: true, d.daemonPID(): true}
	var procs []procInfo
	for _, p := range processesWithEnv("PEBBLE=" + d.dir) {
		if !skip[p.pid] {
			procs = append(procs, p)
		}
	}
	return procs
}

// requireNoServiceProcesses fails if a process started by this daemon is
// still alive, after a short settling time for processes being reaped.
func (d *daemon) requireNoServiceProcesses() {
	d.t.Helper()
	testutil.WaitFor(d.t, 2*time.Second, func() error {
		if left := d.serviceProcesses(); len(left) > 0 {
			return fmt.Errorf("processes left behind:\n%s", describeProcs(left))
		}
		return nil
	})
}

// writeFile writes content to path.
func writeFile(t testing.TB, path, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

// cliResult is the outcome of one CLI command.
type cliResult struct {
	stdout, stderr string
	code           int
	elapsed        time.Duration
}

// pebble runs the CLI against this daemon.
func (d *daemon) pebble(args ...string) cliResult {
	d.t.Helper()
	return runCLI(d.t, d.dir, args...)
}

// mustPebble runs the CLI and requires exit status 0; it returns stdout.
func (d *daemon) mustPebble(args ...string) string {
	d.t.Helper()
	res := d.pebble(args...)
	require.Equal(d.t, 0, res.code, "pebble %s failed: stdout %q stderr %q", strings.Join(args, " "), res.stdout, res.stderr)
	return res.stdout
}

func runCLI(t testing.TB, dir string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, pebbleBin, args...)
	cmd.Env = append(cleanEnv(), "PEBBLE="+dir, "XDG_CONFIG_HOME="+filepath.Join(dir, "cli-config"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	res := cliResult{stdout: stdout.String(), stderr: stderr.String(), elapsed: time.Since(start)}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		res.code = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("cannot run pebble %s: %v", strings.Join(args, " "), err)
	}
	require.NoError(t, ctx.Err(), "pebble %s did not finish within %v", strings.Join(args, " "), cliTimeout)
	return res
}

// envelope is the JSON response envelope of api.md §2.
type envelope = harness.Envelope

// apiError is the result object of an error response (api.md §3).
type apiError struct {
	Message string `json:"message"`
	Kind    string `json:"kind"`
}

// apiErrorOf returns the error object of an error response.
func apiErrorOf(e envelope) apiError {
	var ae apiError
	json.Unmarshal(e.Result, &ae)
	return ae
}

// change and task are the objects of api.md §10.1.
type change struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Summary   string    `json:"summary"`
	Status    string    `json:"status"`
	Tasks     []task    `json:"tasks"`
	Ready     bool      `json:"ready"`
	Err       string    `json:"err"`
	SpawnTime time.Time `json:"spawn-time"`
	ReadyTime time.Time `json:"ready-time"`
}

type task struct {
	ID      string   `json:"id"`
	Kind    string   `json:"kind"`
	Summary string   `json:"summary"`
	Status  string   `json:"status"`
	Log     []string `json:"log"`
}

// serviceInfo is an entry of GET /v1/services (api.md §9.1).
type serviceInfo struct {
	Name         string    `json:"name"`
	Startup      string    `json:"startup"`
	Current      string    `json:"current"`
	CurrentSince time.Time `json:"current-since"`
}

func (d *daemon) tryRequest(method, path string, body io.Reader) (int, envelope, error) {
	return harness.Do(d.t.Context(), d.http, method, path, body)
}

// request sends one API request and returns the HTTP status and envelope.
func (d *daemon) request(method, path string, body io.Reader) (int, envelope) {
	d.t.Helper()
	status, env, err := d.tryRequest(method, path, body)
	require.NoError(d.t, err)
	return status, env
}

// requestJSON sends v as a JSON body.
func (d *daemon) requestJSON(method, path string, v any) (int, envelope) {
	d.t.Helper()
	data, err := json.Marshal(v)
	require.NoError(d.t, err)
	return d.request(method, path, bytes.NewReader(data))
}

// rawRequest sends one request on a connection of its own and reads the
// response while the body is still being written, so that a daemon that
// answers before reading a whole (too large) body is seen answering.
func (d *daemon) rawRequest(method, path string, body []byte) (int, envelope) {
	d.t.Helper()
	conn, err := net.Dial("unix", d.socket)
	require.NoError(d.t, err)
	require.NoError(d.t, conn.SetDeadline(time.Now().Add(30*time.Second)))
	written := make(chan struct{})
	go func() {
		defer close(written)
		// Write errors are expected once the daemon stops reading.
		fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n", method, path, len(body))
		conn.Write(body)
	}()
	defer func() {
		conn.Close()
		<-written
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(d.t, err, "%s %s: no response", method, path)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(d.t, err)
	assert.Equal(d.t, "application/json", resp.Header.Get("Content-Type"))
	var env envelope
	require.NoError(d.t, json.Unmarshal(data, &env), "%s %s: response %q", method, path, data)
	return resp.StatusCode, env
}

// sync sends a request that must succeed synchronously and decodes its result.
func (d *daemon) sync(method, path string, body io.Reader, result any) {
	d.t.Helper()
	status, env := d.request(method, path, body)
	require.Equal(d.t, 200, status, "%s %s: %s", method, path, env.Result)
	require.Equal(d.t, "sync", env.Type)
	if result != nil {
		require.NoError(d.t, json.Unmarshal(env.Result, result))
	}
}

// services returns GET /v1/services.
func (d *daemon) services() []serviceInfo {
	d.t.Helper()
	var infos []serviceInfo
	d.sync("GET", "/v1/services", nil, &infos)
	return infos
}

// serviceStatus returns the `current` of one service.
func (d *daemon) serviceStatus(name string) string {
	d.t.Helper()
	for _, s := range d.services() {
		if s.Name == name {
			return s.Current
		}
	}
	d.t.Fatalf("service %q not in GET /v1/services", name)
	return ""
}

// changes returns every change, sorted by ID.
func (d *daemon) changes() []change {
	d.t.Helper()
	var chgs []change
	d.sync("GET", "/v1/changes?select=all", nil, &chgs)
	sortChanges(chgs)
	return chgs
}

func sortChanges(chgs []change) {
	id := func(c change) int { n, _ := strconv.Atoi(c.ID); return n }
	for i := 1; i < len(chgs); i++ {
		for j := i; j > 0 && id(chgs[j]) < id(chgs[j-1]); j-- {
			chgs[j], chgs[j-1] = chgs[j-1], chgs[j]
		}
	}
}

// waitChange waits for the change to be ready through the wait endpoint.
func (d *daemon) waitChange(id string) change {
	d.t.Helper()
	var chg change
	d.sync("GET", "/v1/changes/"+id+"/wait?timeout="+changeTimeout.String(), nil, &chg)
	require.True(d.t, chg.Ready, "change %s not ready after wait", id)
	return chg
}

// waitAutostart waits for the autostart change the daemon makes at start and
// returns it once ready.
func (d *daemon) waitAutostart() change {
	d.t.Helper()
	var id string
	testutil.WaitFor(d.t, readyTimeout, func() error {
		// The newest one: older ones may come from an earlier daemon run.
		chgs := d.changes()
		for i := len(chgs) - 1; i >= 0; i-- {
			if chgs[i].Kind == "autostart" && chgs[i].SpawnTime.After(d.started) {
				id = chgs[i].ID
				return nil
			}
		}
		return errors.New("no autostart change yet")
	})
	return d.waitChange(id)
}

// serviceAction posts a services action and returns the change ID.
func (d *daemon) serviceAction(action string, names ...string) string {
	d.t.Helper()
	if names == nil {
		names = []string{}
	}
	status, env := d.requestJSON("POST", "/v1/services", map[string]any{"action": action, "services": names})
	require.Equal(d.t, 202, status, "%s %v: %s", action, names, env.Result)
	require.Equal(d.t, "async", env.Type)
	require.NotEmpty(d.t, env.Change)
	return env.Change
}

// procInfo describes one process found under /proc.
type procInfo struct {
	pid     int
	state   string
	cmdline string
}

// processes lists every live process (zombies excluded) for which match
// returns true, given its NUL-separated cmdline and environ.
func processes(match func(cmdline, environ []string) bool) []procInfo {
	entries, _ := os.ReadDir("/proc")
	self := os.Getpid()
	var found []procInfo
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		state := procState(pid)
		if state == "" || state == "Z" || state == "X" {
			continue
		}
		cmdline := readNULList(fmt.Sprintf("/proc/%d/cmdline", pid))
		environ := readNULList(fmt.Sprintf("/proc/%d/environ", pid))
		if match(cmdline, environ) {
			found = append(found, procInfo{pid: pid, state: state, cmdline: strings.Join(cmdline, " ")})
		}
	}
	return found
}

// processesWithEnv lists the live processes with exactly kv in their
// environment.
func processesWithEnv(kv string) []procInfo {
	return processes(func(_, environ []string) bool {
		for _, e := range environ {
			if e == kv {
				return true
			}
		}
		return false
	})
}

// processesWithArg lists the live processes with arg as one of their
// command-line words.
func processesWithArg(arg string) []procInfo {
	return processes(func(cmdline, _ []string) bool {
		for _, a := range cmdline {
			if a == arg {
				return true
			}
		}
		return false
	})
}

func readNULList(path string) []string {
	data, err := os.ReadFile(path)
	if err != nil || len(data) == 0 {
		return nil
	}
	return strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
}

// procStatusField returns a field of /proc/<pid>/status ("" if unreadable).
func procStatusField(pid int, field string) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// procState is the one-letter state of a process, "" if it does not exist.
func procState(pid int) string {
	state := procStatusField(pid, "State")
	if state == "" {
		return ""
	}
	return state[:1]
}

// pidAlive reports whether pid is a live (non-zombie) process.
func pidAlive(pid int) bool {
	s := procState(pid)
	return s != "" && s != "Z" && s != "X"
}

// childPIDs lists the children of pid.
func childPIDs(pid int) []int {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	var pids []int
	for _, task := range tasks {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, task.Name()))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			if n, err := strconv.Atoi(f); err == nil {
				pids = append(pids, n)
			}
		}
	}
	return pids
}

func describeProcs(procs []procInfo) string {
	var b strings.Builder
	for _, p := range procs {
		fmt.Fprintf(&b, "  pid %d (%s): %s\n", p.pid, p.state, p.cmdline)
	}
	return b.String()
}

// countFDs counts the open file descriptors of pid.
func countFDs(pid int) (int, error) {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, err
	}
	return len(entries), nil
}

// readPID reads a PID written by a service into a marker file (last line).
func readPID(t testing.TB, path string) int {
	t.Helper()
	lines := waitLines(t, path, 1, 10*time.Second)
	pid, err := strconv.Atoi(lines[len(lines)-1])
	require.NoError(t, err, "bad PID in %s", path)
	return pid
}

// unshareWrap returns the wrapper that runs the daemon as PID 1 of a new PID
// namespace, or skips the test when that is not permitted here.
func unshareWrap(t testing.TB) []string {
	t.Helper()
	path, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("skipping: unshare(1) not found")
	}
	out, err := exec.Command(path, "--pid", "--fork", "--mount-proc", "--kill-child", "true").CombinedOutput()
	if err != nil {
		t.Skipf("skipping: cannot create a PID namespace here (needs root or CAP_SYS_ADMIN): %v: %s", err, bytes.TrimSpace(out))
	}
	return []string{path, "--pid", "--fork", "--mount-proc", "--kill-child"}
}
