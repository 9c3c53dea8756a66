package compat

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/canonical/pebble/client"
	"github.com/stretchr/testify/require"
)

var (
	// pebbleBin is our daemon, built from the parent module by TestMain.
	pebbleBin string
	// runRoot holds the binary and every $PEBBLE of this run.
	runRoot string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "pebble-compat-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot create test directory: %v\n", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	runRoot = tmp

	if bin := os.Getenv("PEBBLE_E2E_BIN"); bin != "" {
		// A prebuilt binary, for example Canonical's own Pebble, to check
		// these tests against the reference.
		pebbleBin = bin
		return m.Run()
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot find the repository root: %v\n", err)
		return 1
	}
	pebbleBin = filepath.Join(tmp, "pebble")
	build := exec.Command("go", "build", "-o", pebbleBin, "./cmd/pebble")
	build.Dir = root
	build.Stdout = os.Stderr
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "cannot build pebble in %s: %v\n", root, err)
		return 1
	}
	return m.Run()
}

// waitFor calls try until it returns nil, and fails the test with the last
// error if that does not happen within timeout.
func waitFor(t testing.TB, timeout time.Duration, try func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := try()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %v: %v", timeout, err)
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-t.Context().Done():
			t.Fatalf("test ended while waiting: %v", err)
		}
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// daemon is one `pebble run` of our daemon, and Canonical's client for it.
type daemon struct {
	t      testing.TB
	dir    string
	socket string
	cmd    *exec.Cmd
	stderr *syncBuffer
	client *client.Client
	exited chan struct{}
	code   int
}

// startDaemon writes layers (name → YAML, @DIR@ replaced by $PEBBLE) and
// runs the daemon with args, waiting until Canonical's client gets an answer
// from SysInfo.
func startDaemon(t testing.TB, layers map[string]string, args ...string) *daemon {
	t.Helper()
	dir, err := os.MkdirTemp(runRoot, "p-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	for name, content := range layers {
		path := filepath.Join(dir, "layers", name)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(strings.ReplaceAll(content, "@DIR@", dir)), 0o644))
	}
	d := &daemon{
		t:      t,
		dir:    dir,
		socket: filepath.Join(dir, ".pebble.socket"),
		stderr: &syncBuffer{},
		exited: make(chan struct{}),
	}
	d.cmd = exec.Command(pebbleBin, append([]string{"run"}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PEBBLE") {
			d.cmd.Env = append(d.cmd.Env, kv)
		}
	}
	d.cmd.Env = append(d.cmd.Env, "PEBBLE="+dir)
	d.cmd.Stderr = d.stderr
	d.cmd.Dir = dir
	require.NoError(t, d.cmd.Start())
	go func() {
		err := d.cmd.Wait()
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			d.code = exitErr.ExitCode()
		} else if err != nil {
			d.code = -1
		}
		close(d.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-d.exited:
		default:
			d.cmd.Process.Kill()
			<-d.exited
		}
		if t.Failed() {
			t.Logf("daemon stderr:\n%s", d.stderr.String())
		}
	})

	d.client, err = client.New(&client.Config{Socket: d.socket})
	require.NoError(t, err)
	t.Cleanup(d.client.CloseIdleConnections)
	waitFor(t, 15*time.Second, func() error {
		select {
		case <-d.exited:
			t.Fatalf("daemon exited with code %d; stderr:\n%s", d.code, d.stderr.String())
		default:
		}
		_, err := d.client.SysInfo()
		return err
	})
	return d
}

// stop sends SIGTERM and requires exit code 0.
func (d *daemon) stop() {
	d.t.Helper()
	require.NoError(d.t, d.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-d.exited:
	case <-time.After(20 * time.Second):
		d.t.Fatalf("daemon did not exit within 20s of SIGTERM")
	}
	require.Equal(d.t, 0, d.code, "exit code after SIGTERM")
	_, err := os.Stat(d.socket)
	require.True(d.t, errors.Is(err, os.ErrNotExist), "socket not removed")
}

// wait waits for a change with Canonical's client.
func (d *daemon) wait(id string) *client.Change {
	d.t.Helper()
	chg, err := d.client.WaitChange(id, &client.WaitChangeOptions{Timeout: 20 * time.Second})
	require.NoError(d.t, err)
	require.True(d.t, chg.Ready)
	return chg
}

// service returns one entry of Services.
func (d *daemon) service(name string) *client.ServiceInfo {
	d.t.Helper()
	svcs, err := d.client.Services(&client.ServicesOptions{Names: []string{name}})
	require.NoError(d.t, err)
	require.Len(d.t, svcs, 1)
	return svcs[0]
}

// apiError requires err to be Canonical's *client.Error.
func apiError(t testing.TB, err error) *client.Error {
	t.Helper()
	var e *client.Error
	require.ErrorAs(t, err, &e)
	return e
}
