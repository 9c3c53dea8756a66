package servstate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"slices"
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
// detaches its output pipe and notify socket and then waits, frozen, until
// the exec or Resume), pauses the mirror and puts the services' part in the
// document. The new daemon adopts the processes before it reaps anything
// (Adopt), then rebuilds each record with its state machine, timers, pipe,
// notify socket and output (TakeOver), before KillLeftovers, which leaves
// those processes alone.
//
// A service is handed over in whatever state it is: starting (okay delay,
// readiness, start-timeout), stopping (kill-delay, fail delay), sweeping
// what its last run left, waiting for that before a launch. The start and
// stop requests it was answering go over as held requests: the new daemon
// runs their tasks again (ResumeStart, ResumeStop), and each claims the
// outcome of its held request, given now if it came meanwhile. The one
// thing waited for, before the service is frozen, is the end of the output
// of a run that exited while a child it left holds the pipe: it is bounded
// by the run's output grace (a fraction of kill-delay), by
// handOverOutputWait and by the upgrade's context.

// handOverOutputWait bounds the wait for a service's last run's output
// before it is handed over.
const handOverOutputWait = 5 * time.Second

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
	// CheckRestart, Residue and Pending are the machine's stop for a
	// check-failure restart, sweep of the last run and launch waiting for
	// it.
	CheckRestart bool       `json:"check-restart,omitempty"`
	Residue      bool       `json:"residue,omitempty"`
	Pending      launchKind `json:"pending,omitempty"`
	// Restarts and RestartTimes are the automatic restarts since the last
	// start and those the restart budget counts (budget.go).
	Restarts     int         `json:"restarts,omitempty"`
	RestartTimes []time.Time `json:"restart-times,omitempty"`
	Reason       string      `json:"reason,omitempty"`
	// LastExit and LastExitAt are how and when the last run ended.
	LastExit   *reaper.ExitResult `json:"last-exit,omitempty"`
	LastExitAt time.Time          `json:"last-exit-at,omitzero"`
	Run        int                `json:"run"`
	StartCount int                `json:"start-count"`
	Since      time.Time          `json:"since"`
	// PID, StartTime and Cgroup are the running process's.
	PID       int    `json:"pid,omitempty"`
	StartTime uint64 `json:"start-time,omitempty"`
	Cgroup    string `json:"cgroup,omitempty"`
	// Tree is the last run's process tree while it is swept (Residue).
	Tree *handedTree `json:"tree,omitempty"`
	// Exit is the process's exit, collected but not yet handled.
	Exit *reaper.ExitResult `json:"exit,omitempty"`
	// Timers are the armed deadlines, by timer number, on the wall clock
	// (the monotonic clock does not survive the exec).
	Timers map[timerKind]time.Time `json:"timers,omitempty"`
	// Starts and Stops are the start and stop requests of tasks in
	// progress: waiting for their outcome, or answered but not yet read.
	Starts []handedRequest `json:"starts,omitempty"`
	Stops  []handedRequest `json:"stops,omitempty"`
	// OutputFD is the read end of the output pipe; 0 when none.
	OutputFD int              `json:"output-fd,omitempty"`
	Output   logs.WriterState `json:"output"`
	// NotifyFD and NotifyAddr are the run's notify socket; 0 when none.
	NotifyFD   int    `json:"notify-fd,omitempty"`
	NotifyAddr string `json:"notify-addr,omitempty"`
	Phase      string `json:"phase,omitempty"`
	// StatusText is the last STATUS= of the notify socket; Oneshot the
	// last result of a one-shot, of run OneshotRun (its output all in: a
	// hand-over waits for the output of an exited run).
	StatusText string         `json:"status-text,omitempty"`
	Oneshot    *OneshotResult `json:"oneshot,omitempty"`
	OneshotRun int            `json:"oneshot-run,omitempty"`
	// Usage and Limits are the service's resource accounts and what its
	// limits did (usage.go, limits.go), so counters go on from where they
	// were and an OOM kill of the current run is still seen.
	Usage  *handedUsage  `json:"usage,omitempty"`
	Limits *handedLimits `json:"limits,omitempty"`
}

// handedTree is a procTree in a hand-over.
type handedTree struct {
	Leader int            `json:"leader"`
	Cgroup string         `json:"cgroup,omitempty"`
	Known  map[int]uint64 `json:"known,omitempty"`
}

// handedRequest is a start or stop request of a task in a hand-over: still
// waiting for its outcome, or answered but not yet read by the task.
type handedRequest struct {
	Task     string `json:"task"`
	Answered bool   `json:"answered,omitempty"`
	Err      string `json:"error,omitempty"`
	Note     string `json:"note,omitempty"`
}

// heldRequest is a start or stop request handed over by an upgraded
// daemon, waiting for the task that made it to run again and claim it.
type heldRequest struct {
	task     string
	answered bool
	r        reply
}

// handOverRequest is a cmdHandOver: the goroutine answers on out, and, if
// it handed over, waits until resume is closed.
type handOverRequest struct {
	// preview asks only for the state, without freezing (Preview).
	preview bool
	doc     *handover.Document
	out     chan handOverAnswer
	resume  chan struct{}
}

// handOverAnswer is a goroutine's answer to a cmdHandOver: its hand-over,
// or a channel to wait on before asking again, or why it cannot hand over.
type handOverAnswer struct {
	h     handedService
	later <-chan struct{}
	err   error
}

// HandOver freezes every service record and puts the services' part into
// doc, passing the output pipes and notify sockets. A service whose last
// run's output is still being read is waited for first (at most
// handOverOutputWait, and until ctx ends). It fails, with nothing frozen, when a service cannot be handed
// over. After it succeeds, call Resume unless the exec happens.
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
		ans, gone := s.askHandOver(ctx, doc, resume)
		if gone {
			continue // forgotten: nothing to hand over
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

// askHandOver asks s's goroutine for its hand-over until it gives it or
// fails; gone reports a record forgotten meanwhile.
func (s *service) askHandOver(ctx context.Context, doc *handover.Document, resume chan struct{}) (ans handOverAnswer, gone bool) {
	waited := false
	var timeout *time.Timer
	for {
		req := &handOverRequest{doc: doc, out: make(chan handOverAnswer, 1), resume: resume}
		select {
		case s.cmds <- command{kind: cmdHandOver, handover: req}:
			ans = <-req.out
		case <-s.gone:
			return ans, true
		case <-ctx.Done():
			return handOverAnswer{err: ctx.Err()}, false
		}
		if ans.later == nil {
			return ans, false
		}
		if !waited {
			waited = true
			timeout = time.NewTimer(handOverOutputWait)
			defer timeout.Stop()
		}
		select {
		case <-ans.later:
		case <-timeout.C:
			return handOverAnswer{err: fmt.Errorf("output of its last run is still being read after %v", handOverOutputWait)}, false
		case <-ctx.Done():
			return handOverAnswer{err: fmt.Errorf("output of its last run is still being read: %w", ctx.Err())}, false
		}
	}
}

// Preview puts the services' part into doc as HandOver would, without
// descriptors or output and without stopping anything: the document the
// new binary reads in its check run.
func (m *Manager) Preview(ctx context.Context, doc *handover.Document) error {
	var handed []handedService
	for _, s := range m.allRecords() {
		req := &handOverRequest{preview: true, out: make(chan handOverAnswer, 1)}
		select {
		case s.cmds <- command{kind: cmdHandOver, handover: req}:
			handed = append(handed, (<-req.out).h)
		case <-s.gone:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
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
	if req.preview {
		req.out <- handOverAnswer{h: s.snapshot()}
		return
	}
	if s.released != nil {
		select {
		case <-s.released:
		default:
			req.out <- handOverAnswer{later: s.released}
			return
		}
	}
	h, err := s.handed(req.doc)
	if err != nil {
		req.out <- handOverAnswer{err: err}
		s.reattach(h)
		return
	}
	// Last, as the replies are back in their channels only on resume.
	taken := s.takeUnread(&h)
	req.out <- handOverAnswer{h: h}
	select {
	case <-req.resume:
		putBack(taken)
		s.reattach(h)
	case <-s.m.done:
	}
}

// handed returns the service's hand-over, detaching its output pipe and
// notify socket; on error, what it detached is in h for reattach.
func (s *service) handed(doc *handover.Document) (h handedService, err error) {
	if s.notify != nil {
		s.detachNotify()
	}
	h = s.snapshot()
	if h.PID == 0 {
		return h, nil
	}
	st, err := osutil.ReadProcStat(h.PID)
	if err != nil {
		return h, fmt.Errorf("cannot read its process: %w", err)
	}
	h.StartTime, h.Cgroup = st.StartTime, s.tree.cgroup
	if s.notify != nil {
		f, err := s.notify.conn.File()
		if err == nil {
			h.NotifyFD, err = doc.Pass(f)
		}
		if err != nil {
			return h, fmt.Errorf("cannot pass its notify socket: %w", err)
		}
		h.NotifyAddr = s.notify.addr
	}
	if r := s.pipe.Detach(); r != nil {
		if h.OutputFD, err = doc.Pass(r); err != nil {
			return h, err // OutputFD -1: detached
		}
	}
	// Last, as it cannot be undone: the exit goes over with the process.
	select {
	case <-reaper.Exited(s.cmd):
		res, _ := reaper.WaitExit(s.cmd)
		h.Exit = &res
	default:
	}
	return h, nil
}

// reattach undoes what handed detached: the upgrade did not happen.
func (s *service) reattach(h handedService) {
	if h.OutputFD != 0 {
		s.pipe.Reattach()
	}
	if s.notify != nil {
		s.notify.conn.SetReadDeadline(time.Time{})
		s.readNotes()
	}
}

// snapshot returns the service's state as it goes into a hand-over,
// without its descriptors, output or collected exit.
func (s *service) snapshot() handedService {
	s.mu.Lock()
	h := handedService{
		Name: s.name, State: s.mach.state.String(), BackoffNum: s.mach.backoffNum, BackoffTime: s.mach.backoffTime,
		Ready:     [4]bool{s.mach.ready.check, s.mach.ready.notify, s.mach.ready.done, s.mach.ready.timedOut},
		Succeeded: s.mach.succeeded, CheckRestart: s.mach.checkRestart, Residue: s.mach.residue, Pending: s.mach.pending,
		Restarts: s.mach.restarts, RestartTimes: roundTimes(s.mach.restartTimes), Reason: s.mach.reason,
		Run: s.run, StartCount: s.startCount, Since: s.since, PID: s.pid, Phase: s.phase,
	}
	// Copies: Preview encodes them while the service goes on.
	if !s.lastExit.at.IsZero() {
		exit := s.lastExit.result
		h.LastExit, h.LastExitAt = &exit, s.lastExit.at.Round(0)
	}
	if s.life.oneshot != nil {
		result := *s.life.oneshot
		h.Oneshot, h.OneshotRun = &result, s.life.oneshotRun
	}
	h.StatusText = s.life.statusText
	s.mu.Unlock()
	for k, d := range s.deadlines {
		if !d.IsZero() {
			if h.Timers == nil {
				h.Timers = make(map[timerKind]time.Time)
			}
			h.Timers[timerKind(k)] = d.Round(0)
		}
	}
	h.Starts, h.Stops = s.handedRequests()
	h.Usage = s.m.usage.handOver(s.name)
	h.Limits = s.m.limitBook.handOver(s.name)
	if s.mach.residue && s.tree != nil {
		s.tree.mu.Lock()
		h.Tree = &handedTree{Leader: s.tree.leader, Cgroup: s.tree.cgroup, Known: maps.Clone(s.tree.known)}
		s.tree.mu.Unlock()
	}
	return h
}

// roundTimes returns ts without their monotonic readings.
func roundTimes(ts []time.Time) []time.Time {
	var out []time.Time
	for _, t := range ts {
		out = append(out, t.Round(0))
	}
	return out
}

// handedRequests returns the start and stop requests of tasks in
// progress: those waiting for their outcome here, and those still held for
// tasks of the daemon before. The answered ones whose reply is not read
// yet are added by takeUnread.
func (s *service) handedRequests() (starts, stops []handedRequest) {
	if w := s.startWaiter; w != nil && w.task != "" {
		starts = append(starts, handedRequest{Task: w.task})
	}
	for _, w := range s.stopWaiters {
		if w.task != "" {
			stops = append(stops, handedRequest{Task: w.task})
		}
	}
	for _, held := range s.heldStarts {
		starts = append(starts, held.handed())
	}
	for _, held := range s.heldStops {
		stops = append(stops, held.handed())
	}
	return starts, stops
}

// takenReply is a reply takeUnread took from its channel.
type takenReply struct {
	ch chan reply
	r  reply
}

// takeUnread takes the replies sent to tasks that have not read them yet
// and adds them to h as answered requests: the task goes on in the new
// daemon, which gives it that reply. putBack returns them if the exec does
// not happen.
func (s *service) takeUnread(h *handedService) []takenReply {
	var taken []takenReply
	for _, w := range s.answered {
		select {
		case r := <-w.ch:
			taken = append(taken, takenReply{w.ch, r})
			held := heldRequest{task: w.task, answered: true, r: r}
			if w.start {
				h.Starts = append(h.Starts, held.handed())
			} else {
				h.Stops = append(h.Stops, held.handed())
			}
		default: // read meanwhile
		}
	}
	return taken
}

// putBack returns the replies takeUnread took to their channels.
func putBack(taken []takenReply) {
	for _, t := range taken {
		t.ch <- t.r
	}
}

// handed returns the request as it goes into a hand-over.
func (r *heldRequest) handed() handedRequest {
	h := handedRequest{Task: r.task, Answered: r.answered, Note: r.r.note}
	if r.r.err != nil {
		h.Err = r.r.err.Error()
	}
	return h
}

// held returns the request handed over as h.
func (h handedRequest) held() *heldRequest {
	r := &heldRequest{task: h.Task, answered: h.Answered, r: reply{note: h.Note}}
	if h.Err != "" {
		r.r.err = errors.New(h.Err)
	}
	return r
}

// claim gives a resumed start or stop request (command.resumed) the
// outcome of the request its task made before the upgrade, at once when it
// is known, and reports whether there was one; without one, the request is
// handled afresh.
func (s *service) claim(c command) bool {
	held := &s.heldStops
	if c.kind == evStart {
		held = &s.heldStarts
	}
	i := slices.IndexFunc(*held, func(r *heldRequest) bool { return r.task == c.task })
	if c.task == "" || i < 0 {
		return false
	}
	r := (*held)[i]
	*held = slices.Delete(*held, i, i+1)
	s.curDone = true
	w := s.curWaiter()
	switch {
	case r.answered:
		s.answer(w, r.r)
	case c.kind == evStart:
		s.startWaiter = &w
	default:
		s.stopWaiters = append(s.stopWaiters, w)
	}
	return true
}

// answerHeld records the outcome of the held start (start) or stop
// requests still waiting, for their tasks to claim.
func (s *service) answerHeld(start bool, r reply) {
	r.released = nil
	held := s.heldStops
	if start {
		held = s.heldStarts
	}
	for _, h := range held {
		if !h.answered {
			h.answered, h.r = true, r
		}
	}
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
	var err error
	if a.services, err = readServices(doc); err != nil {
		return nil, err
	}
	for _, h := range a.services {
		if h.PID != 0 && h.Exit == nil {
			a.children[h.Name] = reaper.Adopt(h.PID)
		}
	}
	return a, nil
}

// readServices returns the services' part of doc, checked.
func readServices(doc *handover.Document) ([]handedService, error) {
	var handed []handedService
	if _, err := doc.Get(handoverPart, &handed); err != nil {
		return nil, err
	}
	for _, h := range handed {
		if _, ok := stateByName(h.State); !ok {
			return nil, fmt.Errorf("cannot take over service %q: unknown state %q", h.Name, h.State)
		}
		for k := range h.Timers {
			if k < 0 || k >= numTimers {
				return nil, fmt.Errorf("cannot take over service %q: unknown timer %d", h.Name, k)
			}
		}
		if h.Pending < launchNone || h.Pending > launchAuto {
			return nil, fmt.Errorf("cannot take over service %q: unknown pending launch %d", h.Name, h.Pending)
		}
	}
	return handed, nil
}

// CheckHandover reads the services' part of doc as Adopt and TakeOver
// would, without acting on it.
func CheckHandover(doc *handover.Document) error {
	_, err := readServices(doc)
	return err
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
	st, _ := stateByName(h.State) // known: readServices checked it
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
		ready:        readyState{check: h.Ready[0], notify: h.Ready[1], done: h.Ready[2], timedOut: h.Ready[3]},
		checkRestart: h.CheckRestart, residue: h.Residue, pending: h.Pending,
		restarts: h.Restarts, restartTimes: h.RestartTimes, reason: h.Reason}
	s.run, s.startCount, s.state, s.since, s.pid, s.phase = h.Run, h.StartCount, st, h.Since, h.PID, h.Phase
	s.restarts, s.reason = h.Restarts, h.Reason
	if h.LastExit != nil {
		s.lastExit = exitRecord{result: *h.LastExit, at: h.LastExitAt}
	}
	s.life.statusText, s.life.oneshot = h.StatusText, h.Oneshot
	if h.Oneshot != nil {
		s.life.oneshotRun, s.life.outputRun = h.OneshotRun, h.OneshotRun
	}
	s.publishLifecycle(s.config())
	for _, r := range h.Starts {
		s.heldStarts = append(s.heldStarts, r.held())
	}
	for _, r := range h.Stops {
		s.heldStops = append(s.heldStops, r.held())
	}
	s.writer.TakeOver(h.Output)
	m.usage.takeOver(h.Name, h.Usage)
	m.limitBook.takeOver(h.Name, h.Limits)
	now := time.Now()
	for k, at := range h.Timers {
		if validTimer(s.mach, k) {
			s.deadlines[k] = now.Add(time.Until(at)) // on the monotonic clock again
		}
	}
	s.rearm()
	if h.PID != 0 {
		if err := s.adoptProcess(a, h); err != nil {
			return err
		}
	}
	if h.Tree != nil {
		s.tree = &procTree{leader: h.Tree.Leader, cgroup: h.Tree.Cgroup, known: h.Tree.Known}
		if h.PID == 0 {
			// The main process is gone: sweep the rest, as the old
			// daemon was doing.
			m.wg.Add(1)
			go s.watchTree(s.run, s.tree)
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
	if h.NotifyFD != 0 {
		if err := s.adoptNotify(a.doc, h); err != nil {
			return err
		}
	}
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
	child.AfterExit(func() { s.exited(h.Run, child.Result(), release, pipe, grace) })
	return nil
}

// adoptNotify makes the handed-over notify socket the current run's.
func (s *service) adoptNotify(doc *handover.Document, h handedService) error {
	f, err := doc.Take(h.NotifyFD, s.name+" notify socket")
	if err != nil {
		return err
	}
	defer f.Close()
	conn, err := net.FileConn(f)
	if err != nil {
		return fmt.Errorf("cannot take its notify socket: %w", err)
	}
	unix, ok := conn.(*net.UnixConn)
	if !ok {
		conn.Close()
		return fmt.Errorf("cannot take its notify socket: not a UNIX socket")
	}
	s.notify = &notifySocket{conn: unix, addr: h.NotifyAddr}
	s.readNotes()
	return nil
}

// isAdopted reports whether the service was taken over from an upgraded
// daemon.
func (m *Manager) isAdopted(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.adopted[name]
}
