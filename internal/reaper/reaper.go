package reaper

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// ExitResult is how a process ended. Code and Signal are kept apart: a
// process either exited with Code (Signal is 0) or was killed by Signal
// (Code is 0).
type ExitResult struct {
	Code   int
	Signal syscall.Signal
}

// ExitCode returns the code the spec reports: Code, or 128 plus the signal
// number when the process was killed by a signal.
func (r ExitResult) ExitCode() int {
	if r.Signal != 0 {
		return 128 + int(r.Signal)
	}
	return r.Code
}

// Success reports whether the process exited with code 0.
func (r ExitResult) Success() bool { return r.Signal == 0 && r.Code == 0 }

// String describes the result, e.g. "exit status 3" or "signal: killed".
func (r ExitResult) String() string {
	if r.Signal != 0 {
		return "signal: " + r.Signal.String()
	}
	return fmt.Sprintf("exit status %d", r.Code)
}

func resultOf(ws unix.WaitStatus) ExitResult {
	if ws.Signaled() {
		return ExitResult{Signal: ws.Signal()}
	}
	return ExitResult{Code: ws.ExitStatus()}
}

// ErrNotStarted is returned by WaitCommand and WaitExit for a command that was
// not started with StartCommand (or whose exit was already collected).
var ErrNotStarted = errors.New("cannot wait for command: not started by the reaper")

// ErrNotRunning is returned by StartCommand when the reaper is not running.
var ErrNotRunning = errors.New("cannot start command: reaper not running")

type reaper struct {
	// reaping is held while wait4 runs; Pause holds it to stop reaping.
	reaping sync.Mutex
	// starting is read-held by each StartCommand from before its fork
	// until its PID is registered, so starts run in parallel. The reaping
	// goroutine write-holds it, waiting for the starts in progress to
	// register, before it gives up on an exit whose PID is not registered.
	starting sync.RWMutex
	mu       sync.Mutex
	refs     int
	sigs     chan os.Signal
	stop     chan struct{}
	done     chan struct{}
	waiters  map[int]*waiter
}

// waiter is one started command's exit: res and usage are written once,
// before done is closed. then, set under the reaper's mu, runs once done
// is closed.
type waiter struct {
	done  chan struct{}
	res   ExitResult
	usage unix.Rusage
	then  func()
}

// afterExit makes fn run in a goroutine of its own once the exit is
// collected (at once if it was), so nothing waits for an exit to come.
func (w *waiter) afterExit(fn func()) {
	r := &global
	r.mu.Lock()
	select {
	case <-w.done:
		r.mu.Unlock()
		go fn()
		return
	default:
	}
	w.then = fn
	r.mu.Unlock()
}

var global = reaper{waiters: make(map[int]*waiter)}

// Start makes the process a child subreaper and starts the reaping
// goroutine. Calls are counted: each Start needs one Stop, and only the first
// does any work.
func Start() error {
	r := &global
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refs > 0 {
		r.refs++
		return nil
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("cannot become child subreaper: %w", err)
	}
	r.refs = 1
	r.sigs = make(chan os.Signal, 1)
	r.stop = make(chan struct{})
	r.done = make(chan struct{})
	signal.Notify(r.sigs, syscall.SIGCHLD)
	go r.loop(r.sigs, r.stop, r.done)
	return nil
}

// Stop undoes one Start. The last Stop stops the reaping goroutine and clears
// the subreaper bit; processes still registered then are never reported.
func Stop() {
	r := &global
	r.mu.Lock()
	if r.refs == 0 {
		r.mu.Unlock()
		return
	}
	r.refs--
	if r.refs > 0 {
		r.mu.Unlock()
		return
	}
	signal.Stop(r.sigs)
	close(r.stop)
	done := r.done
	r.mu.Unlock()
	<-done
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
}

func (r *reaper) loop(sigs <-chan os.Signal, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	for {
		r.reapAll()
		select {
		case <-sigs:
		case <-stop:
			return
		}
	}
}

// reapAll collects every exited child and hands each exit to its waiter.
// An exit whose PID is not registered may be that of a child whose
// StartCommand has forked but not yet registered it: reapAll then waits for
// the starts in progress (starting) and looks again, so an exit is never
// lost to a start that is slower than the child.
func (r *reaper) reapAll() {
	r.reaping.Lock()
	defer r.reaping.Unlock()
	for {
		var ws unix.WaitStatus
		var usage unix.Rusage
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, &usage)
		if err == unix.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return
		}
		if !ws.Exited() && !ws.Signaled() {
			continue // stopped or continued; not an exit
		}
		r.deliver(pid, resultOf(ws), usage)
	}
}

// deliver hands the exit of pid to its waiter, once a start in progress
// has registered it; the exit of a process nobody started with
// StartCommand or adopted (an orphan re-parented to the daemon) is dropped.
func (r *reaper) deliver(pid int, res ExitResult, usage unix.Rusage) {
	w := r.claim(pid)
	if w == nil {
		// Wait for the starts in progress to register their PIDs.
		r.starting.Lock()
		w = r.claim(pid)
		r.starting.Unlock()
		if w == nil {
			return
		}
	}
	r.mu.Lock()
	w.res, w.usage = res, usage
	close(w.done)
	then := w.then
	r.mu.Unlock()
	if then != nil {
		go then()
	}
}

// claim removes and returns the waiter registered for pid, if any.
func (r *reaper) claim(pid int) *waiter {
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.waiters[pid]
	delete(r.waiters, pid)
	return w
}

// chans maps a started command to the channel its exit is delivered on.
// Keyed by *exec.Cmd rather than PID so a late WaitExit on a reused PID
// cannot pick up another process's exit.
var chans sync.Map // *exec.Cmd -> *waiter

// StartCommand starts cmd and registers its PID with the reaper. Starts run
// in parallel: each holds the reaper's starting gate for reading from before
// the fork until the PID is registered, and an exit the reaper collects in
// between waits at the gate for the registration (reapAll). The reaper must
// be running.
func StartCommand(cmd *exec.Cmd) error {
	r := &global
	r.starting.RLock()
	defer r.starting.RUnlock()
	r.mu.Lock()
	running := r.refs > 0
	r.mu.Unlock()
	if !running {
		return ErrNotRunning
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	w := &waiter{done: make(chan struct{})}
	chans.Store(cmd, w)
	r.mu.Lock()
	r.waiters[cmd.Process.Pid] = w
	r.mu.Unlock()
	return nil
}

// WaitExit blocks until the reaper has collected cmd's process and returns
// how it ended. It does not release os/exec's resources; call Release once
// afterwards (WaitCommand does both).
func WaitExit(cmd *exec.Cmd) (ExitResult, error) {
	v, ok := chans.Load(cmd)
	if !ok {
		return ExitResult{}, ErrNotStarted
	}
	w := v.(*waiter)
	<-w.done
	return w.res, nil
}

// AfterExit calls fn in a goroutine of its own once the reaper has
// collected cmd's process (WaitExit then returns at once), or at once if it
// has. Unlike a goroutine blocked in WaitExit, a process that runs for long
// costs no goroutine while it runs. Once per command; the last Stop of the
// reaper leaves fn uncalled for the processes still running.
func AfterExit(cmd *exec.Cmd, fn func()) error {
	v, ok := chans.Load(cmd)
	if !ok {
		return ErrNotStarted
	}
	v.(*waiter).afterExit(fn)
	return nil
}

// ExitUsage returns what cmd's process used, with the children it waited
// for, as wait4 reported it when the reaper collected the process; ok is
// false before that, after Release, or for a command StartCommand did not
// start.
func ExitUsage(cmd *exec.Cmd) (usage unix.Rusage, ok bool) {
	v, found := chans.Load(cmd)
	if !found {
		return unix.Rusage{}, false
	}
	w := v.(*waiter)
	select {
	case <-w.done:
		return w.usage, true
	default:
		return unix.Rusage{}, false
	}
}

// Exited returns a channel that is closed once the reaper has collected
// cmd's process (WaitExit then returns at once), or nil if cmd was not
// started with StartCommand. Use it to wait in a select.
func Exited(cmd *exec.Cmd) <-chan struct{} {
	v, ok := chans.Load(cmd)
	if !ok {
		return nil
	}
	return v.(*waiter).done
}

// Release frees os/exec's goroutines and pipes after cmd's exit has been
// collected by the reaper. It waits for the output-copying goroutines, at
// most cmd.WaitDelay when that is set (after which the pipes are closed,
// even if a descendant still holds them open). The expected "no child
// processes" error of (*exec.Cmd).Wait is not an error here. It also closes
// the process's pidfd, which os/exec keeps open when its own wait finds the
// child already collected.
func Release(cmd *exec.Cmd) error {
	chans.Delete(cmd)
	err := cmd.Wait()
	cmd.Process.Release()
	var sysErr *os.SyscallError
	if errors.As(err, &sysErr) && errors.Is(sysErr.Err, syscall.ECHILD) {
		return nil
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		// os/exec won the race against the reaper for this child. That
		// cannot happen for processes started by StartCommand, whose
		// status the reaper owns, but it is harmless.
		return nil
	}
	return err
}

// WaitCommand waits for cmd, which must have been started with
// StartCommand, and returns its exit result. It also releases os/exec's
// goroutines and pipes (see Release); an error from that step is returned
// together with the exit result.
func WaitCommand(cmd *exec.Cmd) (ExitResult, error) {
	res, err := WaitExit(cmd)
	if err != nil {
		return res, err
	}
	return res, Release(cmd)
}
