package servstate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pebble-project/pebble/internal/osutil"
	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/reaper"
)

// This file holds the reload of a running service without a restart
// (docs/stop-and-reload.md): reload-signal goes to the service's process
// group, reload-command runs as a process of its own with the service's
// environment, user and working directory. Neither touches the service's
// state or PID.

// ErrNoReload is wrapped by the error about a service without a reload
// method.
var ErrNoReload = errors.New("no reload-signal or reload-command")

// reloadOutputLines is how many lines of a failed reload-command's output
// its error quotes; reloadOutputMax bounds what is kept of it.
const (
	reloadOutputLines = 20
	reloadOutputMax   = 16 << 10
)

// reloadWaitDelay is how long the output of a reload-command is read after
// it exited, when something it left holds the pipe.
const reloadWaitDelay = time.Second

// reloadTarget returns the definition a running service was started with,
// or why it cannot be reloaded: not in the plan, not running, or without a
// reload method.
func (m *Manager) reloadTarget(name string) (*service, *plan.Service, *plan.Workload, error) {
	if _, _, err := m.lookup(name); err != nil {
		return nil, nil, nil, err
	}
	s := m.record(name, false)
	if s == nil {
		return nil, nil, nil, fmt.Errorf("cannot reload service %q: %w", name, errNotRunning)
	}
	s.mu.Lock()
	st, svc, workload, forgotten := s.state, s.svc, s.workload, s.forgotten
	s.mu.Unlock()
	switch {
	case forgotten || svc == nil || (st != stateStarting && st != stateRunning):
		return nil, nil, nil, fmt.Errorf("cannot reload service %q: %w", name, errNotRunning)
	case !svc.CanReload():
		return nil, nil, nil, fmt.Errorf("cannot reload service %q: %w", name, ErrNoReload)
	}
	return s, svc, workload, nil
}

// CanReload returns nil if the service is running and has a reload method
// in the definition it was started with, else the error a reload would
// fail with. The API checks it before it makes a reload change.
func (m *Manager) CanReload(name string) error {
	_, _, _, err := m.reloadTarget(name)
	return err
}

// Reload runs the "reload" task: it sends the service's reload-signal to
// its process group, or runs its reload-command and fails with the exit
// code and the output's last lines if the command does not exit 0.
// Cancelling ctx kills a reload-command's process group.
func (m *Manager) Reload(ctx context.Context, name string, tl TaskLog) error {
	s, svc, workload, err := m.reloadTarget(name)
	if err != nil {
		return err
	}
	if svc.ReloadSignal != "" {
		sig, ok := osutil.SignalByName(svc.ReloadSignal)
		if !ok {
			return fmt.Errorf("cannot reload service %q: invalid signal name %q", name, svc.ReloadSignal)
		}
		r, err := s.request(ctx, command{kind: cmdSignal, sig: sig, group: true})
		if err == nil {
			err = r.err
		}
		if err != nil {
			return fmt.Errorf("cannot reload service %q: %w", name, err)
		}
		logTask(tl, "Sent %s to service %q", svc.ReloadSignal, name)
		return nil
	}
	m.logf("Service %q reloading: %s", name, svc.ReloadCommand)
	res, output, err := runReloadCommand(ctx, svc, workload)
	if err != nil {
		return fmt.Errorf("cannot reload service %q: %w", name, err)
	}
	if !res.Success() {
		err := fmt.Errorf("cannot reload service %q: reload-command %s", name, exitText(res))
		if lines, cut := lastLines(output, reloadOutputLines); len(lines) > 0 {
			logTask(tl, "%s", formatOutput(lines, cut))
			err = fmt.Errorf("%w; its last output line: %s", err, lines[len(lines)-1])
		}
		return err
	}
	logTask(tl, "Service %q reload-command exited with code 0", name)
	return nil
}

// signalGroup sends sig to the process group of the main process, if it
// is starting or running (a reload-signal).
func (s *service) signalGroup(sig syscall.Signal) error {
	if s.mach.state != stateStarting && s.mach.state != stateRunning {
		return errNotRunning
	}
	// The pidfd says whether the main process is still ours: its group ID
	// cannot have been reused while it lives.
	if err := s.cmd.Process.Signal(syscall.Signal(0)); err != nil {
		return errNotRunning
	}
	s.m.logf("Sending %s to service %q to reload it", osutil.SignalName(sig), s.name)
	if err := syscall.Kill(-s.cmd.Process.Pid, sig); err != nil {
		return fmt.Errorf("cannot signal process group: %w", err)
	}
	return nil
}

// runReloadCommand runs svc's reload-command as the service would run,
// waits for it and kills whatever it left in its process group. It
// returns how the command ended and its output (stdout and stderr
// together, the last reloadOutputMax bytes).
func runReloadCommand(ctx context.Context, svc *plan.Service, workload *plan.Workload) (reaper.ExitResult, string, error) {
	def := svc.Copy()
	def.Command = svc.ReloadCommand
	out := &tailBuffer{max: reloadOutputMax}
	cmd, err := buildCommand(def, workload, nil)
	if err != nil {
		return reaper.ExitResult{}, "", err
	}
	// Not the service's log: os/exec copies the output into out, for at
	// most reloadWaitDelay after the exit.
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = reloadWaitDelay
	if err := reaper.StartCommand(cmd); err != nil {
		return reaper.ExitResult{}, "", err
	}
	pgid := cmd.Process.Pid
	exited := reaper.Exited(cmd)
	select {
	case <-exited:
	case <-ctx.Done():
		syscall.Kill(-pgid, syscall.SIGKILL)
	}
	res, err := reaper.WaitExit(cmd)
	syscall.Kill(-pgid, syscall.SIGKILL) // what it left behind
	reaper.Release(cmd)
	if err != nil {
		return res, "", err
	}
	if ctx.Err() != nil && !res.Success() {
		return res, out.String(), fmt.Errorf("reload-command aborted: %w", ctx.Err())
	}
	return res, out.String(), nil
}

// exitText says how a process ended: "exited with code 3" or "was killed
// by SIGKILL".
func exitText(res reaper.ExitResult) string {
	if res.Signal != 0 {
		return "was killed by " + osutil.SignalName(res.Signal)
	}
	return fmt.Sprintf("exited with code %d", res.Code)
}

// logTask writes to a task log that may be nil.
func logTask(tl TaskLog, format string, args ...any) {
	if tl != nil {
		tl.Logf(format, args...)
	}
}

// lastLines returns the last n non-empty lines of text, and whether older
// lines were left out.
func lastLines(text string, n int) ([]string, bool) {
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimRight(l, "\r"); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		return lines[len(lines)-n:], true
	}
	return lines, false
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu   sync.Mutex
	max  int
	data []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.data = append(b.data, p...)
	if extra := len(b.data) - b.max; extra > 0 {
		b.data = append(b.data[:0], b.data[extra:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.data)
}
