package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/pebble-project/pebble/client"
	"github.com/pebble-project/pebble/internal/testutil"
)

// execChange returns the exec change and its task's exit code (-2 when the
// task has none).
func (d *daemon) execChange(id string) (change, int) {
	d.t.Helper()
	var raw struct {
		change
		Tasks []struct {
			task
			Data map[string]any `json:"data"`
		} `json:"tasks"`
	}
	d.sync("GET", "/v1/changes/"+id+"/wait?timeout="+changeTimeout.String(), nil, &raw)
	code := -2
	if len(raw.Tasks) > 0 {
		if v, ok := raw.Tasks[0].Data["exit-code"].(float64); ok {
			code = int(v)
		}
		raw.change.Tasks = []task{raw.Tasks[0].task}
	}
	return raw.change, code
}

// dialTaskWebsocket connects to an exec task's websocket; on refusal it
// returns the HTTP status and error envelope.
func (d *daemon) dialTaskWebsocket(taskID, id string) (*websocket.Conn, int, apiError, error) {
	dialer := websocket.Dialer{
		HandshakeTimeout: 5 * time.Second,
		NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var nd net.Dialer
			return nd.DialContext(ctx, "unix", d.socket)
		},
	}
	conn, rsp, err := dialer.Dial("ws://localhost/v1/tasks/"+taskID+"/websocket/"+id, nil)
	if err == nil {
		return conn, 101, apiError{}, nil
	}
	if rsp == nil {
		return nil, 0, apiError{}, err
	}
	defer rsp.Body.Close()
	var env envelope
	data, _ := io.ReadAll(rsp.Body)
	json.Unmarshal(data, &env)
	return nil, rsp.StatusCode, apiErrorOf(env), err
}

// postExec posts an exec request that must be accepted and returns the
// change and task IDs.
func (d *daemon) postExec(body map[string]any) (changeID, taskID string) {
	d.t.Helper()
	status, env := d.requestJSON("POST", "/v1/exec", body)
	require.Equal(d.t, 202, status, "%s", env.Result)
	require.Equal(d.t, "async", env.Type)
	var result struct {
		TaskID      string            `json:"task-id"`
		Environment map[string]string `json:"environment"`
		WorkingDir  string            `json:"working-dir"`
	}
	require.NoError(d.t, json.Unmarshal(env.Result, &result))
	require.NotEmpty(d.t, result.TaskID)
	return env.Change, result.TaskID
}

// TestExecStdioAndExitCodes runs commands through the Go client: stdin in,
// stdout and stderr apart or merged, exit codes (also of a signal death),
// and the change and task the daemon records (api.md §16).
func TestExecStdioAndExitCodes(t *testing.T) {
	d := startDaemon(t, newPebbleDir(t, nil), daemonOptions{})
	c := d.client()
	ctx := t.Context()

	var stdout, stderr bytes.Buffer
	p, err := c.Exec(ctx, &client.ExecOptions{
		Command: []string{"/bin/sh", "-c", "tr a-z A-Z; echo oops >&2; exit 3"},
		Stdin:   strings.NewReader("hello\nworld\n"),
		Stdout:  &stdout,
		Stderr:  &stderr,
	})
	require.NoError(t, err)
	err = p.Wait(ctx)
	var exitErr *client.ExitError
	require.ErrorAs(t, err, &exitErr)
	assert.Equal(t, 3, exitErr.ExitCode())
	assert.Equal(t, "exit status 3", err.Error())
	assert.Equal(t, "HELLO\nWORLD\n", stdout.String())
	assert.Equal(t, "oops\n", stderr.String())

	chg, code := d.execChange(p.ChangeID())
	assert.Equal(t, "exec", chg.Kind)
	assert.Equal(t, `Execute command "/bin/sh"`, chg.Summary)
	assert.Equal(t, "Done", chg.Status, "a non-zero exit is not a failed change")
	require.Len(t, chg.Tasks, 1)
	assert.Equal(t, "exec", chg.Tasks[0].Kind)
	assert.Equal(t, `Execute command "/bin/sh"`, chg.Tasks[0].Summary)
	assert.Equal(t, 3, code)

	// Without a stderr writer, stderr is merged into stdout by the daemon.
	stdout.Reset()
	p, err = c.Exec(ctx, &client.ExecOptions{
		Command: []string{"sh", "-c", "echo out; echo err >&2"},
		Stdout:  &stdout,
	})
	require.NoError(t, err)
	require.NoError(t, p.Wait(ctx))
	assert.Equal(t, "out\nerr\n", stdout.String())

	// Killed by a signal: 128 + the signal number.
	p, err = c.Exec(ctx, &client.ExecOptions{Command: []string{"sh", "-c", "kill -KILL $$"}})
	require.NoError(t, err)
	require.ErrorAs(t, p.Wait(ctx), &exitErr)
	assert.Equal(t, 128+9, exitErr.ExitCode())

	// Environment and working directory.
	stdout.Reset()
	workDir := t.TempDir()
	p, err = c.Exec(ctx, &client.ExecOptions{
		Command:     []string{"sh", "-c", `echo "$FOO $LANG"; pwd`},
		Environment: map[string]string{"FOO": "bar"},
		WorkingDir:  workDir,
		Stdout:      &stdout,
	})
	require.NoError(t, err)
	require.NoError(t, p.Wait(ctx))
	assert.Equal(t, "bar C.UTF-8\n"+workDir+"\n", stdout.String())
	d.stop()
}

// TestExecCLI runs `pebble exec` as a user would: stdin, stdout and stderr
// of the local command, its exit code, and the errors of cli.md §3.1.
func TestExecCLI(t *testing.T) {
	d := startDaemon(t, newPebbleDir(t, nil), daemonOptions{})

	cmd := exec.Command(pebbleBin, "exec", "--env", "FOO=bar", "--", "sh", "-c", `cat; echo "err $FOO" >&2; exit 5`)
	cmd.Env = append(cleanEnv(), "PEBBLE="+d.dir)
	cmd.Stdin = strings.NewReader("from stdin\n")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr, "stderr: %s", stderr.String())
	assert.Equal(t, 5, exitErr.ExitCode())
	assert.Equal(t, "from stdin\n", stdout.String())
	assert.Equal(t, "err bar\n", stderr.String())

	res := d.pebble("exec", "-w", "/", "pwd")
	assert.Equal(t, 0, res.code)
	assert.Equal(t, "/\n", res.stdout)

	res = d.pebble("exec", "no-such-command")
	assert.Equal(t, 1, res.code)
	assert.Equal(t, "error: cannot find executable \"no-such-command\"\n", res.stderr)

	res = d.pebble("exec", "-t", "-T", "true")
	assert.Equal(t, 1, res.code)
	assert.Equal(t, "error: cannot use -t and -T at the same time\n", res.stderr)

	res = d.pebble("exec", "-i", "-I", "true")
	assert.Equal(t, 1, res.code)
	assert.Equal(t, "error: cannot use -i and -I at the same time\n", res.stderr)

	res = d.pebble("exec", "--timeout", "1s", "sleep", "30")
	assert.Equal(t, 1, res.code)
	assert.Equal(t, "error: cannot perform the following tasks:\n- Execute command \"sleep\" (timed out after 1s: context deadline exceeded)\n", res.stderr)
	d.stop()
}

// TestExecTimeout: the timeout kills the command's whole process group,
// fails the change and records exit code -1.
func TestExecTimeout(t *testing.T) {
	d := startDaemon(t, newPebbleDir(t, nil), daemonOptions{})
	c := d.client()
	ctx := t.Context()

	start := time.Now()
	p, err := c.Exec(ctx, &client.ExecOptions{
		// The background sleep is in the same process group.
		Command: []string{"sh", "-c", "sleep 4242 & sleep 4243"},
		Timeout: time.Second,
	})
	require.NoError(t, err)
	err = p.Wait(ctx)
	require.Error(t, err)
	assert.Equal(t, "cannot perform the following tasks:\n- Execute command \"sh\" (timed out after 1s: context deadline exceeded)", err.Error())
	assert.GreaterOrEqual(t, time.Since(start), time.Second)

	chg, code := d.execChange(p.ChangeID())
	assert.Equal(t, "Error", chg.Status)
	assert.Equal(t, -1, code)
	testutil.WaitFor(t, 5*time.Second, func() error {
		if left := append(processesWithArg("4242"), processesWithArg("4243")...); len(left) > 0 {
			return fmt.Errorf("still running:\n%s", describeProcs(left))
		}
		return nil
	})
	d.stop()
}

// TestExecSignals: control messages signal the command, and `pebble exec`
// forwards the signals it receives.
func TestExecSignals(t *testing.T) {
	d := startDaemon(t, newPebbleDir(t, nil), daemonOptions{})
	c := d.client()
	ctx := t.Context()

	out := &syncBuffer{}
	p, err := c.Exec(ctx, &client.ExecOptions{
		Command: []string{"sh", "-c", `trap 'echo got USR1; exit 7' USR1; echo ready; while :; do sleep 0.05; done`},
		Stdout:  out,
	})
	require.NoError(t, err)
	testutil.WaitFor(t, 10*time.Second, func() error {
		if !strings.Contains(out.String(), "ready") {
			return errors.New("not ready")
		}
		return nil
	})
	require.NoError(t, p.SendSignal(ctx, "SIGUSR1"))
	var exitErr *client.ExitError
	require.ErrorAs(t, p.Wait(ctx), &exitErr)
	assert.Equal(t, 7, exitErr.ExitCode())
	assert.Equal(t, "ready\ngot USR1\n", out.String())

	// The CLI forwards SIGTERM to the remote command.
	cmd := exec.Command(pebbleBin, "exec", "sh", "-c", `trap 'echo got TERM; exit 9' TERM; echo ready; while :; do sleep 0.05; done`)
	cmd.Env = append(cleanEnv(), "PEBBLE="+d.dir)
	cliOut := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = cliOut, cliOut
	require.NoError(t, cmd.Start())
	testutil.WaitFor(t, 10*time.Second, func() error {
		if !strings.Contains(cliOut.String(), "ready") {
			return errors.New("not ready")
		}
		return nil
	})
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	err = cmd.Wait()
	var cliExit *exec.ExitError
	require.ErrorAs(t, err, &cliExit)
	assert.Equal(t, 9, cliExit.ExitCode())
	assert.Equal(t, "ready\ngot TERM\n", cliOut.String())
	d.stop()
}

// TestExecTerminal runs a command on a real pseudo-terminal: the initial
// size and a resize are seen by `stty size`, and stdin goes through the
// terminal.
func TestExecTerminal(t *testing.T) {
	d := startDaemon(t, newPebbleDir(t, nil), daemonOptions{})
	c := d.client()
	ctx := t.Context()

	stdinR, stdinW := io.Pipe()
	defer stdinW.Close()
	out := &syncBuffer{}
	p, err := c.Exec(ctx, &client.ExecOptions{
		Command:     []string{"sh", "-c", "stty size; tty; read x; stty size; echo \"read $x\""},
		Terminal:    true,
		Interactive: true,
		Width:       80,
		Height:      24,
		Stdin:       stdinR,
		Stdout:      out,
	})
	require.NoError(t, err)
	testutil.WaitFor(t, 10*time.Second, func() error {
		if !strings.Contains(out.String(), "/dev/pts/") {
			return fmt.Errorf("no tty yet: %q", out.String())
		}
		return nil
	})
	require.NoError(t, p.SendResize(ctx, 100, 50))
	// The resize and stdin travel on different websockets; wait until the
	// terminal has the new size before the command asks for it again.
	testutil.WaitFor(t, 5*time.Second, func() error { return terminalSizeOf(d, "50 100") })
	_, err = stdinW.Write([]byte("typed\n"))
	require.NoError(t, err)
	require.NoError(t, p.Wait(ctx))
	lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(out.String(), "\r\n", "\n")), "\n")
	require.Len(t, lines, 5, "output %q", out.String())
	assert.Equal(t, "24 80", lines[0])
	assert.Equal(t, "typed", lines[2], "the terminal echoes input")
	assert.Equal(t, "50 100", lines[3])
	assert.Equal(t, "read typed", lines[4])
	d.stop()
}

// terminalSizeOf checks the size of the terminals of the daemon's exec
// commands as `stty` would see them: it reads the window size of each
// /dev/pts device a process of this daemon has open.
func terminalSizeOf(d *daemon, want string) error {
	var seen []string
	for _, p := range d.serviceProcesses() {
		fd, err := unix.Open(fmt.Sprintf("/proc/%d/fd/0", p.pid), unix.O_RDONLY|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
		if err != nil {
			continue
		}
		ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
		unix.Close(fd)
		if err != nil {
			continue
		}
		size := fmt.Sprintf("%d %d", ws.Row, ws.Col)
		if size == want {
			return nil
		}
		seen = append(seen, size)
	}
	return fmt.Errorf("no terminal of size %q, saw %q", want, seen)
}

// TestExecCLITerminal runs `pebble exec` on a local pseudo-terminal: the
// CLI puts it in raw mode, sends its size, and passes a SIGWINCH resize on.
func TestExecCLITerminal(t *testing.T) {
	d := startDaemon(t, newPebbleDir(t, nil), daemonOptions{})
	master, slave := openTestPTY(t)
	require.NoError(t, unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 30, Col: 90}))

	cmd := exec.Command(pebbleBin, "exec", "sh", "-c", "stty size; while read x; do stty size; done")
	cmd.Env = append(cleanEnv(), "PEBBLE="+d.dir, "TERM=xterm")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	// The pseudo-terminal is the CLI's controlling terminal, so the kernel
	// sends it SIGWINCH when the size changes.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	require.NoError(t, cmd.Start())
	slave.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	out := &syncBuffer{}
	go io.Copy(out, master)

	testutil.WaitFor(t, 10*time.Second, func() error {
		if !strings.Contains(out.String(), "30 90") {
			return fmt.Errorf("output %q", out.String())
		}
		return nil
	})
	// The local terminal is raw now: no local echo, so only the remote
	// terminal echoes what is typed.
	var tio *unix.Termios
	tio, err := unix.IoctlGetTermios(int(master.Fd()), unix.TCGETS)
	require.NoError(t, err)
	assert.Zero(t, tio.Lflag&unix.ECHO, "local terminal still echoes")

	require.NoError(t, unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 120}))
	testutil.WaitFor(t, 10*time.Second, func() error {
		// Ask again until the resize has arrived.
		master.Write([]byte("\r"))
		if !strings.Contains(out.String(), "40 120") {
			return fmt.Errorf("output %q", out.String())
		}
		return nil
	})
	master.Write([]byte{4}) // Ctrl-D ends the loop
	select {
	case err := <-exited:
		require.NoError(t, err)
	case <-time.After(cliTimeout):
		cmd.Process.Kill()
		t.Fatalf("pebble exec did not exit; output %q", out.String())
	}
	d.stop()
}

// openTestPTY opens a pseudo-terminal pair for a local process.
func openTestPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	require.NoError(t, err)
	require.NoError(t, unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0))
	n, err := unix.IoctlGetUint32(mfd, unix.TIOCGPTN)
	require.NoError(t, err)
	sfd, err := unix.Open("/dev/pts/"+strconv.Itoa(int(n)), unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	require.NoError(t, err)
	master, slave = os.NewFile(uintptr(mfd), "ptmx"), os.NewFile(uintptr(sfd), "pts")
	t.Cleanup(func() { master.Close(); slave.Close() })
	return master, slave
}

// TestExecClientGoneKillsCommand: a client whose control websocket drops
// without a close frame has its command killed, not leaked.
func TestExecClientGoneKillsCommand(t *testing.T) {
	d := startDaemon(t, newPebbleDir(t, nil), daemonOptions{})
	changeID, taskID := d.postExec(map[string]any{"command": []string{"sleep", "4244"}})
	control, _, _, err := d.dialTaskWebsocket(taskID, "control")
	require.NoError(t, err)
	stdio, _, _, err := d.dialTaskWebsocket(taskID, "stdio")
	require.NoError(t, err)
	testutil.WaitFor(t, 10*time.Second, func() error {
		if len(processesWithArg("4244")) == 0 {
			return errors.New("not started")
		}
		return nil
	})
	// Drop the connections as a crashed client would: no close frame.
	control.NetConn().Close()
	stdio.NetConn().Close()
	chg, code := d.execChange(changeID)
	assert.Equal(t, "Done", chg.Status)
	assert.Equal(t, 128+9, code)
	assert.Empty(t, processesWithArg("4244"))
	d.stop()
}

// TestExecErrors checks the request and websocket errors of api.md §16.
func TestExecErrors(t *testing.T) {
	dir := newPebbleDir(t, nil)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    svc:
        override: replace
        command: sleep 1000
        environment:
            FROM_SVC: svc-value
            BOTH: svc
        working-dir: /tmp
`})
	d := startDaemon(t, dir, daemonOptions{})
	missing := filepath.Join(dir, "missing")
	file := filepath.Join(dir, "layers", "001-base.yaml")
	for _, tt := range []struct {
		body   map[string]any
		status int
		msg    string
	}{
		{map[string]any{}, 400, "must specify command"},
		{map[string]any{"command": []string{}}, 400, "must specify command"},
		{map[string]any{"command": []string{"no-such-cmd"}}, 400, `cannot find executable "no-such-cmd"`},
		{map[string]any{"command": []string{"true"}, "timeout": "soon"}, 400, `invalid timeout: time: invalid duration "soon"`},
		{map[string]any{"command": []string{"true"}, "service-context": "nope"}, 400, `context service "nope" not found`},
		{map[string]any{"command": []string{"true"}, "working-dir": missing}, 500, `cannot call exec: working directory "` + missing + `" does not exist`},
		{map[string]any{"command": []string{"true"}, "working-dir": file}, 500, `cannot call exec: working directory "` + file + `" not a directory`},
		{map[string]any{"command": []string{"true"}, "interactive": true}, 500, "cannot call exec: cannot use interactive mode without a terminal"},
		{map[string]any{"command": []string{"true"}, "user": "no-such-user"}, 400, "user: unknown user no-such-user"},
		{map[string]any{"command": []string{"true"}, "group": "root"}, 400, "must specify user, not just group"},
	} {
		status, env := d.requestJSON("POST", "/v1/exec", tt.body)
		assert.Equal(t, tt.status, status, "%v", tt.body)
		assert.Equal(t, tt.msg, apiErrorOf(env).Message, "%v", tt.body)
	}
	status, env := d.request("POST", "/v1/exec", strings.NewReader("{"))
	assert.Equal(t, 400, status)
	assert.Equal(t, "cannot decode request body: unexpected EOF", apiErrorOf(env).Message)

	// The service context gives environment and working directory; the
	// request's environment wins.
	status, env = d.requestJSON("POST", "/v1/exec", map[string]any{
		"command": []string{"true"}, "service-context": "svc", "environment": map[string]string{"BOTH": "req"},
	})
	require.Equal(t, 202, status, "%s", env.Result)
	execChangeID := env.Change
	var res struct {
		TaskID      string            `json:"task-id"`
		Environment map[string]string `json:"environment"`
		WorkingDir  string            `json:"working-dir"`
	}
	require.NoError(t, json.Unmarshal(env.Result, &res))
	assert.Equal(t, "svc-value", res.Environment["FROM_SVC"])
	assert.Equal(t, "req", res.Environment["BOTH"])
	assert.Equal(t, "C.UTF-8", res.Environment["LANG"])
	assert.Equal(t, "/tmp", res.WorkingDir)

	// Websocket errors before the upgrade.
	_, status, apiErr, _ := d.dialTaskWebsocket("999", "control")
	assert.Equal(t, 404, status)
	assert.Equal(t, `cannot find task "999"`, apiErr.Message)
	_, status, apiErr, _ = d.dialTaskWebsocket(res.TaskID, "stderr")
	assert.Equal(t, 404, status)
	assert.Equal(t, `cannot find stderr websocket for task "`+res.TaskID+`"`, apiErr.Message)
	control, _, _, err := d.dialTaskWebsocket(res.TaskID, "control")
	require.NoError(t, err)
	defer control.Close()
	_, status, apiErr, _ = d.dialTaskWebsocket(res.TaskID, "control")
	assert.Equal(t, 500, status)
	assert.Equal(t, "control websocket already connected", apiErr.Message)

	// Nothing connects stdio: the task fails after the connect window.
	chg, _ := d.execChange(execChangeID)
	assert.Equal(t, "Error", chg.Status)
	assert.Equal(t, "cannot perform the following tasks:\n- Execute command \"true\" (exec "+res.TaskID+
		": timeout waiting for websocket connections: context deadline exceeded)", chg.Err)
	_, status, apiErr, _ = d.dialTaskWebsocket(res.TaskID, "stdio")
	assert.Equal(t, 500, status)
	assert.Equal(t, chg.Err, apiErr.Message)

	// A task of another kind has no websockets.
	startID := d.serviceAction("start", "svc")
	startChg := d.waitChange(startID)
	_, status, apiErr, _ = d.dialTaskWebsocket(startChg.Tasks[0].ID, "control")
	assert.Equal(t, 400, status)
	assert.Equal(t, `"start" tasks do not have websockets`, apiErr.Message)
	d.stop()
}

// TestExecAndFilesNeedAdmin: a caller whose peer UID is not root nor the
// daemon's gets read access only (api.md §5.2), so exec, the files API and
// signals are denied, while reading services works.
func TestExecAndFilesNeedAdmin(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a client as another user")
	}
	// The client runs as nobody, so its binary, the socket and its files
	// must be in a directory nobody can reach.
	open, err := os.MkdirTemp("", "pebble-access-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(open) })
	require.NoError(t, os.Chmod(open, 0o755))
	bin := filepath.Join(open, "pebble")
	data, err := os.ReadFile(pebbleBin)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(bin, data, 0o755))
	out := filepath.Join(open, "out")
	require.NoError(t, os.Mkdir(out, 0o777))
	require.NoError(t, os.Chmod(out, 0o777))
	local := filepath.Join(open, "local")
	require.NoError(t, os.WriteFile(local, []byte("data"), 0o644))

	dir := newPebbleDir(t, nil)
	writeScript(t, dir, "svc.sh", longRunning)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    svc:
        override: replace
        command: /bin/sh @DIR@/svc.sh
        startup: enabled
`})
	socket := filepath.Join(open, ".pebble.socket")
	d := startDaemon(t, dir, daemonOptions{env: []string{"PEBBLE_SOCKET=" + socket}, noWait: true})
	d.socket = socket
	d.waitReady()
	d.waitAutostart()

	asNobody := func(args ...string) cliResult {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(cleanEnv(), "PEBBLE_SOCKET="+socket, "HOME="+out, "XDG_CONFIG_HOME="+out)
		cmd.Dir = open
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		res := cliResult{stdout: stdout.String(), stderr: stderr.String()}
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			res.code = exitErr.ExitCode()
		} else {
			require.NoError(t, err)
		}
		return res
	}
	res := asNobody("services")
	require.Equal(t, 0, res.code, "read access: %s", res.stderr)
	assert.Contains(t, res.stdout, "svc")

	created := filepath.Join(out, "created")
	for _, args := range [][]string{
		{"exec", "touch", created},
		{"push", local, created},
		{"pull", "/etc/hostname", filepath.Join(out, "pulled")},
		{"ls", "/"},
		{"mkdir", created},
		{"rm", local},
		{"signal", "HUP", "svc"},
	} {
		res := asNobody(args...)
		assert.Equal(t, 1, res.code, "%v", args)
		assert.Equal(t, "error: access denied (try with sudo)\n", res.stderr, "%v", args)
	}
	assert.NoFileExists(t, created)
	assert.NoFileExists(t, filepath.Join(out, "pulled"))
	assert.FileExists(t, local)
	for _, c := range d.changes() {
		assert.NotEqual(t, "exec", c.Kind, "a denied exec made a change")
	}
	d.stop()
}
