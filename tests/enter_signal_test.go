package tests

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/testutil"
)

// TestSignals checks POST /v1/signals and `pebble signal` against api.md
// §15 and cli.md §3: the signal reaches the main process, and the errors.
func TestSignals(t *testing.T) {
	dir := newPebbleDir(t, nil)
	writeScript(t, dir, "svc.sh", `
trap 'echo hup >> @DIR@/signals' HUP
trap 'echo usr2 >> @DIR@/signals' USR2
while :; do sleep 1000 & wait $!; done
`)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    svc:
        override: replace
        command: /bin/sh @DIR@/svc.sh
        startup: enabled
    idle:
        override: replace
        command: sleep 1000
`})
	d := startDaemon(t, dir, daemonOptions{})
	d.waitAutostart()

	d.mustPebble("signal", "HUP", "svc")
	waitLines(t, filepath.Join(dir, "signals"), 1, 10*time.Second)
	d.mustPebble("signal", "SIGUSR2", "svc")
	assert.Equal(t, []string{"hup", "usr2"}, waitLines(t, filepath.Join(dir, "signals"), 2, 10*time.Second))
	assert.Contains(t, d.stderr.String(), `Sending SIGHUP to service "svc"`)

	res := d.pebble("signal", "hup", "svc")
	assert.Equal(t, 1, res.code)
	assert.Equal(t, "error: signal name must be uppercase, for example HUP\n", res.stderr)

	var result bool
	d.sync("POST", "/v1/signals", strings.NewReader(`{"signal":"SIGUSR2","services":["svc"]}`), &result)
	assert.True(t, result)
	for _, tt := range []struct {
		body   string
		status int
		msg    string
	}{
		{`{"signal":"SIGHUP","services":[]}`, 400, "must specify one or more services"},
		{`{"signal":"SIGHUP"}`, 400, "must specify one or more services"},
		{`{"signal":"SIGHUP","services":["idle","nope"]}`, 500,
			`cannot send signal to "idle": service is not running; cannot send signal to "nope": service is not running`},
		{`{"signal":"SIGBOGUS","services":["svc"]}`, 500, `cannot send signal to "svc": invalid signal name "SIGBOGUS"`},
		{`{"signal":"sighup","services":["svc"]}`, 500, `cannot send signal to "svc": invalid signal name "sighup"`},
		{`{"signal":`, 400, "cannot decode request body: unexpected EOF"},
	} {
		status, env := d.request("POST", "/v1/signals", strings.NewReader(tt.body))
		assert.Equal(t, tt.status, status, tt.body)
		assert.Equal(t, "error", env.Type, tt.body)
		assert.Equal(t, tt.msg, apiErrorOf(env).Message, tt.body)
	}
	d.stop()
}

// TestEnter runs the daemon in-process with `pebble enter` (cli.md §5).
func TestEnter(t *testing.T) {
	dir := newPebbleDir(t, nil)
	writeScript(t, dir, "svc.sh", longRunning)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    svc:
        override: replace
        command: /bin/sh @DIR@/svc.sh
        startup: enabled
`})
	started := filepath.Join(dir, "started")

	// exec: no autostart without --run, logs silenced, the command's code.
	res := runCLI(t, dir, "enter", "exec", "sh", "-c", "echo hi; test -e "+started+"; exit $(( $? + 2 ))")
	assert.Equal(t, 3, res.code, "stderr: %s", res.stderr)
	assert.Equal(t, "hi\n", res.stdout)
	assert.Empty(t, res.stderr)
	requireNoProcesses(t, dir)
	assert.NoFileExists(t, filepath.Join(dir, ".pebble.socket"))

	// --run starts the default services first, and they are stopped after.
	res = runCLI(t, dir, "enter", "--run", "exec", "cat", started)
	assert.Equal(t, 0, res.code, "stderr: %s", res.stderr)
	assert.Contains(t, res.stdout, "svc ")
	requireNoProcesses(t, dir)

	res = runCLI(t, dir, "enter", "services")
	assert.Equal(t, 0, res.code, "stderr: %s", res.stderr)
	assert.Regexp(t, `(?m)^svc\s+enabled\s+inactive\s+-$`, res.stdout)

	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"enter", "--run", "services"}, `enter: cannot provide --run before "services" subcommand`},
		{[]string{"enter", "stop", "svc"}, `enter: must use --run before "stop" subcommand`},
		{[]string{"enter", "-v", "exec", "true"}, `enter: cannot provide -v/--verbose before "exec" subcommand`},
		{[]string{"enter", "changes"}, `enter: subcommand "changes" is not supported`},
	} {
		res := runCLI(t, dir, tt.args...)
		assert.Equal(t, 1, res.code, "%v", tt.args)
		assert.Equal(t, "error: "+tt.msg+"\n", res.stderr, "%v", tt.args)
	}

	// SIGTERM to `enter exec` reaches the command, whose exit code ends
	// enter, as when a container running it is stopped.
	// The command takes its time to exit: longer than a daemon shutting
	// down would leave it.
	term := exec.Command(pebbleBin, "enter", "exec", "sh", "-c", `trap 'sleep 1.5; echo got TERM; exit 9' TERM; echo ready; while :; do sleep 0.05; done`)
	term.Env = append(cleanEnv(), "PEBBLE="+dir)
	termOut := &syncBuffer{}
	term.Stdout, term.Stderr = termOut, termOut
	require.NoError(t, term.Start())
	testutil.WaitFor(t, 15*time.Second, func() error {
		if !strings.Contains(termOut.String(), "ready") {
			return errors.New("not ready: " + termOut.String())
		}
		return nil
	})
	require.NoError(t, term.Process.Signal(syscall.SIGTERM))
	var exitErr *exec.ExitError
	require.ErrorAs(t, term.Wait(), &exitErr, termOut.String())
	assert.Equal(t, 9, exitErr.ExitCode(), termOut.String())
	assert.Equal(t, "ready\ngot TERM\n", termOut.String())
	requireNoProcesses(t, dir)

	// start: the daemon keeps running afterwards, like run.
	cmd := exec.Command(pebbleBin, "enter", "start", "svc")
	cmd.Env = append(cleanEnv(), "PEBBLE="+dir)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	d := &daemon{t: t, dir: dir, socket: filepath.Join(dir, ".pebble.socket"), cmd: cmd, stdout: &syncBuffer{}, stderr: out}
	d.http = startDaemonClient(d)
	testutil.WaitFor(t, 15*time.Second, func() error {
		select {
		case err := <-exited:
			t.Fatalf("enter start exited: %v\n%s", err, out.String())
		default:
		}
		if _, _, err := d.tryRequest("GET", "/v1/system-info", nil); err != nil {
			return err
		}
		// The start command has finished once its change is ready.
		for _, c := range d.changes() {
			if c.Kind == "start" && c.Ready {
				require.Equal(t, "Done", c.Status, c.Err)
				return nil
			}
		}
		return errors.New("start change not ready")
	})
	// The CLI polls the change every 100 ms: once the change has been
	// ready for a while, the subcommand has seen it and returned, and the
	// daemon must still be serving.
	testutil.WaitFor(t, 15*time.Second, func() error {
		for _, c := range d.changes() {
			if c.Kind == "start" && time.Since(c.ReadyTime) > 2*time.Second {
				return nil
			}
		}
		return errors.New("start change not ready long enough")
	})
	select {
	case err := <-exited:
		t.Fatalf("enter start exited after the subcommand: %v\n%s", err, out.String())
	default:
	}
	assert.Equal(t, "active", d.serviceStatus("svc"))
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		require.NoError(t, err, "%s", out.String())
	case <-time.After(exitTimeout):
		cmd.Process.Kill()
		t.Fatalf("enter start did not exit on SIGTERM:\n%s", out.String())
	}
	requireNoProcesses(t, dir)
}

// startDaemonClient is the harness's HTTP client for a daemon the test
// started itself.
func startDaemonClient(d *daemon) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var dialer net.Dialer
				return dialer.DialContext(ctx, "unix", d.socket)
			},
		},
		Timeout: 60 * time.Second,
	}
}
