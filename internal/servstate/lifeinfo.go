package servstate

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/reaper"
)

// OneshotResult is the outcome of a one-shot's last run (docs/oneshot.md).
type OneshotResult struct {
	// ExitCode is the exit code, or 128 + the signal number.
	ExitCode int
	// Exited is when the main process exited.
	Exited time.Time
	// Output is the run's last output lines (up to 20), each ending in a
	// newline; empty until its output is all read.
	Output string
}

// lifeInfo is the part of a service's snapshot that readiness and
// one-shots add. It is guarded by service.mu.
type lifeInfo struct {
	readiness  string
	statusText string
	oneshot    *OneshotResult
	// oneshotRun is the run the result is of; outputRun the run whose
	// output was read last (they meet once both the exit and the output
	// are in).
	oneshotRun, outputRun int
	output                string
}

// resetLifecycle forgets the status text and phase of the last run.
func (s *service) resetLifecycle() {
	s.phase = ""
	s.mu.Lock()
	s.life.statusText = ""
	s.mu.Unlock()
}

// publishLifecycle copies the readiness of the goroutine's state to the
// snapshot.
func (s *service) publishLifecycle(cfg config) {
	text := readinessText(s.mach, cfg, s.phase)
	s.mu.Lock()
	s.life.readiness = text
	s.mu.Unlock()
}

// noteExit records the exit of a one-shot's run.
func (s *service) noteExit(run int, res reaper.ExitResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.svc.IsOneshot() {
		return
	}
	s.life.oneshot = &OneshotResult{ExitCode: res.ExitCode(), Exited: s.m.opts.Now()}
	s.life.oneshotRun = run
	if s.life.outputRun == run {
		s.life.oneshot.Output = s.life.output
	}
}

// noteOutput records the last output lines of run once its output is all
// read, for a one-shot's result.
func (s *service) noteOutput(run int) {
	s.mu.Lock()
	oneshot := s.svc != nil && s.svc.IsOneshot()
	s.mu.Unlock()
	if !oneshot {
		return
	}
	lines, _ := s.buf.LastLines(startOutputLines)
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.life.outputRun, s.life.output = run, b.String()
	if s.life.oneshot != nil && s.life.oneshotRun == run {
		s.life.oneshot.Output = s.life.output
	}
}

// lifeInfoLocked fills the lifecycle fields of info; the caller holds s.mu.
func (s *service) lifeInfoLocked(info *ServiceInfo) {
	info.Readiness = s.life.readiness
	info.StatusText = s.life.statusText
	if r := s.life.oneshot; r != nil {
		c := *r
		info.Oneshot = &c
	}
}

// CheckSucceeded tells the services whose readiness check is check, and
// that wait for it, that it succeeded (docs/readiness.md). The checks
// package calls it after every success.
func (m *Manager) CheckSucceeded(check string) {
	m.mu.Lock()
	var waiting []*service
	for name, svc := range m.plan.Services {
		if r := svc.Readiness; r.IsSet() && r.Check == check {
			if s := m.services[name]; s != nil {
				waiting = append(waiting, s)
			}
		}
	}
	m.mu.Unlock()
	for _, s := range waiting {
		s.mu.Lock()
		wants := s.life.readiness == "waiting"
		s.mu.Unlock()
		if wants {
			s.request(context.Background(), command{kind: evReady, source: readyCheck})
		}
	}
}

// unchanged reports whether the service's record last started svc with
// workload.
func (m *Manager) unchanged(name string, svc *plan.Service, workload *plan.Workload) bool {
	s := m.record(name, false)
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.svc.Equal(svc) && s.workload.Equal(workload)
}

// errorTailLines is how many of a failed one-shot's last output lines its
// start error quotes, so that `pebble start` shows them (all 20 are in the
// task log).
const errorTailLines = 5

// withOutputTail adds the last output lines of a failed one-shot to its
// start error, on one line: `..., last output: "a\nb"`.
func withOutputTail(err error, lines []string) error {
	if len(lines) > errorTailLines {
		lines = lines[len(lines)-errorTailLines:]
	}
	return fmt.Errorf("%w, last output: %q", err, strings.Join(lines, "\n"))
}
