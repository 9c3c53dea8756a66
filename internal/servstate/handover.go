package servstate

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"time"

	"github.com/pebble-project/pebble/internal/handover"
	"github.com/pebble-project/pebble/internal/logs"
	"github.com/pebble-project/pebble/internal/osutil"
	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/reaper"
)

// Hand-over across an in-place upgrade (docs/upgrade.md). The old daemon
// pauses the reaper, asks every service's goroutine for its state (each one
// detaches its output pipe and then waits, frozen, until the exec or
// Resume), pauses the mirror and puts the services' part in the document.
// The new daemon adopts the processes before it reaps anything (Adopt),
// then rebuilds each record with its state, timers, pipe and output
// (TakeOver), before KillLeftovers, which leaves those processes alone.
//
// Only settled services are handed over: never started, stopped, exited,
// in backoff, or running with nothing in progress. A service starting
// (okay delay, readiness), stopping, sweeping what its last run left, or
// still reading its last run's output makes the hand-over fail, naming it:
// the upgrade can be asked again a moment later.

// handoverPart is the name of the package's part of a hand-over.
const handoverPart = "services"

// handedService is one service record in a hand-over.
type handedService struct {
	Name        string        `json:"name"`
	State       string        `json:"state"`
	BackoffNum  int           `json:"backoff-num,omitempty"`
	BackoffTime time.Duration `json:"backoff-time,omitempty"`
	Ready       [4]bool       `json:"ready"` // readyState: check, notify, done, timed out
	Succeeded   bool          `json:"succeeded,omitempty"`
	Run         int           `json:"run"`
	StartCount  int           `json:"start-count"`
	Since       time.Time     `json:"since"`
	// PID, StartTime and Cgroup are the running process's.
	PID       int    `json:"pid,omitempty"`
	StartTime uint64 `json:"start-time,omitempty"`
	Cgroup    string `json:"cgroup,omitempty"`
	// Exit is the process's exit, collected but not yet handled.
	Exit *reaper.ExitResult `json:"exit,omitempty"`
	// Timers are the armed deadlines, by timer number, on the wall clock
	// (the monotonic clock does not survive the exec).
	Timers map[timerKind]time.Time `json:"timers,omitempty"`
	// OutputFD is the read end of the output pipe; 0 when none.
	OutputFD int              `json:"output-fd,omitempty"`
	Output   logs.WriterState `json:"output"`
}

// handOverRequest is a cmdHandOver: the goroutine answers on out, and, if
// it handed over, waits until resume is closed.
type handOverRequest struct {
	doc    *handover.Document
	out    chan handOverAnswer
	resume chan struct{}
}

type handOverAnswer struct {
	h   handedService
	err error
}

// HandOver freezes every service record and puts the services' part into
// doc, passing the output pipes. It fails, with nothing frozen, when a
// service is not settled. After it succeeds, call Resume unless the exec
// happens.
func (m *Manager) HandOver(ctx context.Context, doc *handover.Document) error {
	reaper.Pause()
	resume := make(chan struct{})
	m.resume = func() {
		close(resume)
		reaper.Resume()
	}
	var handed []handedService
	var frozen []*service
	for _, s := range m.allRecords() {
		req := &handOverRequest{doc: doc, out: make(chan handOverAnswer, 1), resume: resume}
		var ans handOverAnswer
		select {
		case s.cmds <- command{kind: cmdHandOver, handover: req}:
			ans = <-req.out
		case <-s.gone:
			continue // forgotten: nothing to hand over
		case <-ctx.Done():
			ans.err = ctx.Err()
		}
		if ans.err != nil {
			m.Resume()
			return fmt.Errorf("cannot hand over service %q: %w", s.name, ans.err)
		}
		handed = append(handed, ans.h)
		frozen = append(frozen, s)
	}
	if m.mirror != nil {
		m.mirror.Pause()
		m.mirrorPaused = true
	}
	for i, s := range frozen {
		handed[i].Output = s.writer.HandOver()
	}
	sort.Slice(handed, func(i, j int) bool { return handed[i].Name < handed[j].Name })
	return doc.Put(handoverPart, handed)
}

// Resume lets the services go on after a HandOver whose exec did not
// happen.
func (m *Manager) Resume() {
	if m.mirrorPaused {
		m.mirrorPaused = false
		m.mirror.Resume()
	}
	if m.resume != nil {
		m.resume()
		m.resume = nil
	}
}

// handOver is cmdHandOver on the service's goroutine.
func (s *service) handOver(req *handOverRequest) {
	h, err := s.handed(req.doc)
	req.out <- handOverAnswer{h, err}
	if err != nil {
		return
	}
	select {
	case <-req.resume:
		if h.OutputFD != 0 {
			s.pipe.Reattach()
		}
	case <-s.m.done:
	}
}

// handed returns the service's hand-over, detaching its output pipe, or
// why it cannot be handed over now.
func (s *service) handed(doc *handover.Document) (handedService, error) {
	switch {
	case s.mach.state == stateStarting, s.mach.state == stateTerminating, s.mach.state == stateKilling:
		return handedService{}, fmt.Errorf("service is %s", s.mach.state)
	case s.mach.residue || s.mach.pending != launchNone:
		return handedService{}, fmt.Errorf("processes of its last run are still running")
	case s.startWaiter != nil || len(s.stopWaiters) > 0 || s.notify != nil || s.mach.checkRestart:
		return handedService{}, fmt.Errorf("a start or stop is in progress")
	}
	if s.released != nil {
		select {
		case <-s.released:
		default:
			return handedService{}, fmt.Errorf("output of its last run is still being read")
		}
	}
	s.mu.Lock()
	h := handedService{
		Name: s.name, State: s.mach.state.String(), BackoffNum: s.mach.backoffNum, BackoffTime: s.mach.backoffTime,
		Ready:     [4]bool{s.mach.ready.check, s.mach.ready.notify, s.mach.ready.done, s.mach.ready.timedOut},
		Succeeded: s.mach.succeeded, Run: s.run, StartCount: s.startCount, Since: s.since, PID: s.pid,
	}
	s.mu.Unlock()
	for k, d := range s.deadlines {
		if !d.IsZero() {
			if h.Timers == nil {
				h.Timers = make(map[timerKind]time.Time)
			}
			h.Timers[timerKind(k)] = d.Round(0)
		}
	}
	if h.PID == 0 {
		return h, nil
	}
	st, err := osutil.ReadProcStat(h.PID)
	if err != nil {
		return handedService{}, fmt.Errorf("cannot read its process: %w", err)
	}
	h.StartTime, h.Cgroup = st.StartTime, s.tree.cgroup
	select {
	case <-reaper.Exited(s.cmd):
		res, _ := reaper.WaitExit(s.cmd)
		h.Exit = &res
	default:
	}
	if r := s.pipe.Detach(); r != nil {
		fd, err := doc.Pass(r)
		if err != nil {
			s.pipe.Reattach()
			return handedService{}, err
		}
		h.OutputFD = fd
	}
	return h, nil
}

// Adopted are the processes a hand-over names, registered with the reaper
// before it reaps anything (Adopt).
type Adopted struct {
	doc      *handover.Document
	services []handedService
	children map[string]*reaper.Child
}

// Adopt reads the services' part of doc and registers their processes with
// the reaper. Call it before reaper.Start, so that no exit of a handed-over
// process is collected before it is registered; then give the result to
// TakeOver. A nil doc adopts nothing.
func Adopt(doc *handover.Document) (*Adopted, error) {
	a := &Adopted{doc: doc, children: make(map[string]*reaper.Child)}
	if doc == nil {
		return a, nil
	}
	if _, err := doc.Get(handoverPart, &a.services); err != nil {
		return nil, err
	}
	for _, h := range a.services {
		if h.PID != 0 && h.Exit == nil {
			a.children[h.Name] = reaper.Adopt(h.PID)
		}
	}
	return a, nil
}

// stateByName maps a state's name back to it.
func stateByName(name string) (state, bool) {
	for st, n := range stateNames {
		if n == name {
			return state(st), true
		}
	}
	return 0, false
}

// TakeOver rebuilds the service records handed over, with their processes,
// timers, output pipes and output. It returns the names of the services
// taken over, which KillLeftovers then leaves alone.
func (m *Manager) TakeOver(a *Adopted) ([]string, error) {
	var names []string
	for _, h := range a.services {
		if err := m.takeOver(a, h); err != nil {
			return names, fmt.Errorf("cannot take over service %q: %w", h.Name, err)
		}
		names = append(names, h.Name)
	}
	return names, nil
}

func (m *Manager) takeOver(a *Adopted, h handedService) error {
	st, ok := stateByName(h.State)
	if !ok {
		return fmt.Errorf("unknown state %q", h.State)
	}
	s := newService(m, h.Name)
	m.mu.Lock()
	s.svc = m.plan.Services[h.Name]
	if s.svc != nil {
		s.workload = m.plan.Workloads[s.svc.Workload]
	} else {
		s.svc = &plan.Service{Name: h.Name}
	}
	m.mu.Unlock()
	s.mach = machine{state: st, backoffNum: h.BackoffNum, backoffTime: h.BackoffTime, succeeded: h.Succeeded,
		ready: readyState{check: h.Ready[0], notify: h.Ready[1], done: h.Ready[2], timedOut: h.Ready[3]}}
	s.run, s.startCount, s.state, s.since, s.pid = h.Run, h.StartCount, st, h.Since, h.PID
	s.writer.TakeOver(h.Output)
	now := time.Now()
	for k, at := range h.Timers {
		if k >= 0 && k < numTimers && validTimer(s.mach, k) {
			s.deadlines[k] = now.Add(time.Until(at)) // on the monotonic clock again
		}
	}
	s.rearm()
	if h.PID != 0 {
		if err := s.adoptProcess(a, h); err != nil {
			return err
		}
	}
	m.mu.Lock()
	m.services[h.Name] = s
	m.rosterChangedLocked()
	m.adopted[h.Name] = true
	m.wg.Add(1)
	m.mu.Unlock()
	go s.loop()
	return nil
}

// adoptProcess makes the handed-over process the service's current run.
func (s *service) adoptProcess(a *Adopted, h handedService) error {
	proc, err := os.FindProcess(h.PID) // a pidfd: signals never hit a reused PID
	if err != nil {
		return err
	}
	s.cmd = &exec.Cmd{Process: proc}
	s.tree = &procTree{leader: h.PID, cgroup: h.Cgroup}
	if h.OutputFD != 0 {
		f, err := a.doc.Take(h.OutputFD, s.name+" output")
		if err != nil {
			return err
		}
		s.pipe = s.writer.AdoptPipe(f)
	}
	pipe := s.pipe
	if pipe == nil {
		pipe = logs.FinishedPipe()
	}
	grace := time.Duration(float64(s.config().killDelay) * outputWaitFraction)
	release := func() { proc.Release() }
	s.waiting = 1
	s.m.setRecord(s.name, h.Run, h.PID, h.Cgroup != "")
	if h.Exit != nil {
		go s.exited(h.Run, *h.Exit, release, pipe, grace)
		return nil
	}
	child := a.children[h.Name]
	go func() {
		<-child.Exited()
		s.exited(h.Run, child.Result(), release, pipe, grace)
	}()
	return nil
}

// isAdopted reports whether the service was taken over from an upgraded
// daemon.
func (m *Manager) isAdopted(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.adopted[name]
}
