package harness

import (
	"bytes"
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

	"github.com/pebble-project/pebble/internal/testutil"
)

// Time limits of the daemon helpers: upper bounds for waits on events.
const (
	readyTimeout = 15 * time.Second // start until the socket answers
	exitTimeout  = 20 * time.Second // SIGTERM until exit
)

// Daemon is one `pebble run` process on its own $PEBBLE.
type Daemon struct {
	t      testing.TB
	run    *Run
	cmd    *exec.Cmd
	stderr syncBuffer
	http   *http.Client
	exited chan struct{} // closed when cmd.Wait returned
	err    error         // cmd.Wait's result, once exited is closed

	// Dir is the daemon's $PEBBLE.
	Dir string
}

// NewDir creates a fresh $PEBBLE under the run's root with the given layer
// files (name under layers/ → content); the test's cleanup removes it.
func (r *Run) NewDir(t testing.TB, layers map[string]string) string {
	t.Helper()
	dir, err := os.MkdirTemp(r.Root, "p-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for name, content := range layers {
		path := filepath.Join(dir, "layers", name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Start runs `pebble run` on dir and waits until its socket answers. The
// test's cleanup kills the daemon, and every process that carries its
// $PEBBLE, if the test did not stop it.
func (r *Run) Start(t testing.TB, dir string, args ...string) *Daemon {
	t.Helper()
	d := r.Launch(t, dir, args...)
	deadline := time.Now().Add(readyTimeout)
	for {
		_, _, err := d.Request("GET", "/v1/system-info", nil)
		if err == nil {
			return d
		}
		select {
		case <-d.exited:
			t.Fatalf("daemon exited before it was ready (%v); stderr:\n%s", d.err, d.Stderr())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon not ready after %v: %v", readyTimeout, err)
		}
	}
}

// Launch starts `pebble run` on dir without waiting for its socket.
func (r *Run) Launch(t testing.TB, dir string, args ...string) *Daemon {
	t.Helper()
	d := &Daemon{t: t, run: r, Dir: dir, exited: make(chan struct{})}
	socket := filepath.Join(dir, ".pebble.socket")
	d.http = &http.Client{
		Transport: &http.Transport{
			// One connection per request: no daemon file descriptor is
			// held between requests.
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var dialer net.Dialer
				return dialer.DialContext(ctx, "unix", socket)
			},
		},
		Timeout: 60 * time.Second,
	}
	d.cmd = exec.Command(r.Bin, append([]string{"run"}, args...)...)
	d.cmd.Env = append(CleanEnv(), "PEBBLE="+dir)
	d.cmd.Stderr = &d.stderr
	d.cmd.Dir = dir
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		d.err = d.cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(d.cleanup)
	return d
}

// syncBuffer is the shared test buffer, under the name the harness uses.
type syncBuffer = testutil.SyncBuffer

func (d *Daemon) cleanup() {
	select {
	case <-d.exited:
	default:
		d.cmd.Process.Kill()
		<-d.exited
	}
	for _, p := range ProcessesWithEnvPrefix("PEBBLE=" + d.Dir) {
		syscall.Kill(p.PID, syscall.SIGKILL)
	}
	if d.t.Failed() {
		d.t.Logf("daemon stderr:\n%s", d.Stderr())
	}
}

// Stderr returns what the daemon wrote to its standard error so far.
func (d *Daemon) Stderr() string {
	return d.stderr.String()
}

// PID is the daemon's process ID.
func (d *Daemon) PID() int { return d.cmd.Process.Pid }

// PeakRSS is the daemon's peak resident set size so far, in bytes
// (VmHWM).
func (d *Daemon) PeakRSS() int64 {
	kb, _ := strconv.ParseInt(strings.TrimSuffix(StatusField(d.PID(), "VmHWM"), " kB"), 10, 64)
	return kb << 10
}

// WaitExit waits for the daemon to exit and returns its exit code.
func (d *Daemon) WaitExit() int {
	d.t.Helper()
	select {
	case <-d.exited:
	case <-time.After(exitTimeout):
		d.t.Fatalf("daemon did not exit within %v; stderr:\n%s", exitTimeout, d.Stderr())
	}
	var exitErr *exec.ExitError
	if errors.As(d.err, &exitErr) {
		return exitErr.ExitCode()
	}
	if d.err != nil {
		return -1
	}
	return 0
}

// Signal sends sig to the daemon and fails the test if it cannot.
func (d *Daemon) Signal(sig os.Signal) {
	d.t.Helper()
	if err := d.cmd.Process.Signal(sig); err != nil {
		d.t.Fatal(err)
	}
}

// Stop sends SIGTERM and requires a clean shutdown: exit status 0 and no
// process of this daemon left.
func (d *Daemon) Stop() {
	d.t.Helper()
	d.Signal(syscall.SIGTERM)
	if code := d.WaitExit(); code != 0 {
		d.t.Fatalf("daemon exit code %d after SIGTERM; stderr:\n%s", code, d.Stderr())
	}
	if left := ProcessesWithEnvPrefix("PEBBLE=" + d.Dir); len(left) > 0 {
		d.t.Fatalf("processes left behind: %v", left)
	}
}

// Envelope is the JSON response envelope of api.md §2.
type Envelope struct {
	Type       string          `json:"type"`
	StatusCode int             `json:"status-code"`
	Status     string          `json:"status"`
	Change     string          `json:"change"`
	Result     json.RawMessage `json:"result"`
}

// Message is the message of an error response's result ("" otherwise).
func (e Envelope) Message() string {
	var r struct {
		Message string `json:"message"`
	}
	json.Unmarshal(e.Result, &r)
	return r.Message
}

// Request sends one API request; body, if not nil, is sent as JSON. It
// returns the HTTP status and the envelope.
func (d *Daemon) Request(method, path string, body any) (int, Envelope, error) {
	var data []byte
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			return 0, Envelope{}, err
		}
	}
	return d.request(method, path, data)
}

// RawRequest sends one API request with body as it is, and fails the test
// on a transport error.
func (d *Daemon) RawRequest(method, path string, body []byte) (int, Envelope) {
	d.t.Helper()
	status, env, err := d.request(method, path, body)
	if err != nil {
		d.t.Fatal(err)
	}
	return status, env
}

func (d *Daemon) request(method, path string, body []byte) (int, Envelope, error) {
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	return Do(d.t.Context(), d.http, method, path, reader)
}

// Do sends one API request through c, which dials a daemon's socket, and
// returns the HTTP status and the decoded envelope.
func Do(ctx context.Context, c *http.Client, method, path string, body io.Reader) (int, Envelope, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://localhost"+path, body)
	if err != nil {
		return 0, Envelope{}, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, Envelope{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, Envelope{}, err
	}
	var env Envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return resp.StatusCode, env, fmt.Errorf("cannot decode %s %s response %q: %v", method, path, data, err)
	}
	return resp.StatusCode, env, nil
}

// MustRequest is Request that fails the test on a transport error.
func (d *Daemon) MustRequest(method, path string, body any) (int, Envelope) {
	d.t.Helper()
	status, env, err := d.Request(method, path, body)
	if err != nil {
		d.t.Fatal(err)
	}
	return status, env
}
