// Package checker implements the three kinds of health check of layers.md
// §4: http (a GET answered 2xx), tcp (a connection opens) and exec (a
// command exits 0). Each Checker runs its check once per call; scheduling,
// timeouts, counting and thresholds belong to internal/checks, which gets
// its checkers through a constructor so that it does not depend on the
// network code here.
//
// Exec checks start their command through the reaper (internal/reaper owns
// wait4), in a process group of their own that is killed when the run is
// cut off and swept when the command exits; the command is killed when the
// daemon dies (the parent-death signal). Workflow exec steps run through
// the same exec checker.
package checker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pebble-project/pebble/internal/envfile"
	"github.com/pebble-project/pebble/internal/osutil"
	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/plan/cmdline"
	"github.com/pebble-project/pebble/internal/reaper"
)

// Limits of the failure details kept from a check's output (behaviour.md §1,
// §7.3).
const (
	maxDetailBytes = 512
	maxDetailLines = 5
	// execOutputWait is how long an exec check waits for its output after
	// the process exited (a descendant may hold the pipe open).
	execOutputWait = time.Second
	// killWait bounds the wait for a SIGKILLed exec check to be reaped.
	killWait = 5 * time.Second
	// drainLimit is how much of a 2xx body is read so that the connection
	// can be reused; a longer body closes the connection instead.
	drainLimit = 16 << 10
)

// Error is a failed check run: Message is the short form the daemon log
// shows, Details what the check printed or answered (may be empty).
type Error struct {
	Message string
	Details string
}

// Error returns the message without the details.
func (e *Error) Error() string { return e.Message }

// ErrorDetails returns the details, which task logs show after the message.
func (e *Error) ErrorDetails() string { return e.Details }

// Checker runs one check. Check must return promptly once ctx ends, with
// ctx's error or the failure it saw; a failure with details is an *Error.
// Checker is not safe for concurrent calls of Check.
type Checker interface {
	Check(ctx context.Context) error
	// Close releases what the checker keeps between runs (idle HTTP
	// connections).
	Close()
}

// New returns the checker of a check configuration (with any exec service
// context already merged in). A configuration that cannot run gives a
// checker whose every run fails with the reason.
func New(c *plan.Check) Checker {
	switch {
	case c.HTTP != nil:
		return newHTTPChecker(c.HTTP)
	case c.TCP != nil:
		return &tcpChecker{addr: net.JoinHostPort(c.TCP.EffectiveHost(), strconv.Itoa(c.TCP.Port))}
	case c.Exec != nil:
		return newExecChecker(c.Exec)
	}
	return errChecker{fmt.Errorf("check %q has no type", c.Name)}
}

// errChecker always fails with err.
type errChecker struct{ err error }

func (e errChecker) Check(context.Context) error { return e.err }
func (e errChecker) Close()                      {}

// firstLines returns at most maxDetailLines lines of s, trimmed, with a
// line "(...)" added when there were more.
func firstLines(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > maxDetailLines {
		lines = append(lines[:maxDetailLines], "(...)")
	}
	return strings.Join(lines, "\n")
}

// lastLines returns at most maxDetailLines of the end of s, trimmed, with a
// first line "(...)" when there were more.
func lastLines(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > maxDetailLines {
		lines = append([]string{"(...)"}, lines[len(lines)-maxDetailLines:]...)
	}
	return strings.Join(lines, "\n")
}

// tcpChecker succeeds when a TCP connection to addr opens; it is closed at
// once, nothing is sent.
type tcpChecker struct{ addr string }

func (c *tcpChecker) Check(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return err
	}
	conn.Close()
	return nil
}

func (c *tcpChecker) Close() {}

// execChecker succeeds when its command exits 0. The command runs in a
// process group of its own, started and reaped through the reaper; the
// group is killed when the run is cut off, and swept when the command
// exits, so no descendant outlives the run.
type execChecker struct {
	args []string
	// The environment added to the daemon's: base, then the file's
	// variables (read at every run), then own (envfile.Layered).
	base, own map[string]string
	file      string
	dir       string
	cred      *syscall.Credential
	err       error // the configuration cannot run; every run fails with it
}

func newExecChecker(e *plan.ExecCheck) *execChecker {
	c := &execChecker{dir: e.WorkingDir, base: e.ContextEnvironment, file: e.ContextEnvironmentFile, own: e.Environment}
	args, err := cmdline.Split(e.Command)
	switch {
	case err != nil:
		c.err = fmt.Errorf("cannot parse command: %v", err)
		return c
	case len(args) == 0:
		c.err = errors.New("cannot run empty command")
		return c
	}
	c.args = args
	uid, gid, err := osutil.NormalizeUIDGID(e.UserID, e.GroupID, e.User, e.Group)
	if err != nil {
		c.err = err
		return c
	}
	if uid != nil && (*uid != os.Getuid() || *gid != os.Getgid()) {
		c.cred = &syscall.Credential{Uid: uint32(*uid), Gid: uint32(*gid), Groups: []uint32{}}
	}
	return c
}

func (c *execChecker) Check(ctx context.Context) error {
	if c.err != nil {
		return c.err
	}
	env, err := envfile.Layered(c.base, c.file, c.own)
	if err != nil {
		return err // names the file, never its content
	}
	cmd := exec.Command(c.args[0], c.args[1:]...)
	// os/exec keeps the last of duplicate keys, so the check's own
	// environment wins over the daemon's.
	cmd.Env = os.Environ()
	for _, k := range slices.Sorted(maps.Keys(env)) {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	cmd.Dir = c.dir
	// Pdeathsig: a daemon killed mid-run leaves no command behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.cred, Pdeathsig: syscall.SIGKILL}
	out := &tailBuffer{}
	// One comparable writer for both makes os/exec use a single pipe.
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.WaitDelay = execOutputWait
	if err := reaper.StartCommand(cmd); err != nil {
		return err
	}
	pid := cmd.Process.Pid
	exited := reaper.Exited(cmd)
	select {
	case <-exited:
	case <-ctx.Done():
		syscall.Kill(-pid, syscall.SIGKILL)
		select {
		case <-exited:
		case <-time.After(killWait):
			// Still not reaped (uninterruptible sleep); release it later
			// rather than hold up the check's loop.
			go func() {
				<-exited
				reaper.Release(cmd)
			}()
			return ctx.Err()
		}
	}
	res, _ := reaper.WaitExit(cmd)
	// Sweep what the command left in its group. Its group ID cannot belong
	// to anyone else while a member of the group lives.
	syscall.Kill(-pid, syscall.SIGKILL)
	reaper.Release(cmd)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if !res.Success() {
		return &Error{Message: fmt.Sprintf("exit status %d", res.ExitCode()), Details: lastLines(out.String())}
	}
	return nil
}

func (c *execChecker) Close() {}

// tailBuffer keeps the last maxDetailBytes bytes written to it. It is
// written by os/exec's copying goroutine and read after Release, which waits
// for that goroutine, so it needs no lock.
type tailBuffer struct {
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= maxDetailBytes {
		b.buf = append(b.buf[:0], p[len(p)-maxDetailBytes:]...)
		return n, nil
	}
	if over := len(b.buf) + len(p) - maxDetailBytes; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	b.buf = append(b.buf, p...)
	return n, nil
}

func (b *tailBuffer) String() string { return string(b.buf) }
