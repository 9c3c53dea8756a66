package servstate

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/pebble-project/pebble/internal/cgroup"
	"github.com/pebble-project/pebble/internal/logs"
	"github.com/pebble-project/pebble/internal/osutil"
	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/reaper"
	"golang.org/x/sys/unix"
)

// reply answers a start or stop request.
type reply struct {
	err  error
	note string // task-log line for a no-op ("already started" ...)
	// released is closed once the output of the run that exited has been
	// read; set with a quick-exit error and on a stop.
	released <-chan struct{}
}

// command is a request to a service's goroutine.
type command struct {
	kind     eventKind // evStart, evStop, evAbortStart, evCheckFailed; or cmdSignal, cmdForget
	svc      *plan.Service
	workload *plan.Workload
	action   plan.ServiceAction
	sig      syscall.Signal
	group    bool      // cmdSignal: to the whole process group (a reload)
	since    time.Time // cmdForget: the inactive-since time Prune saw
	source   readySource
	keepDone bool              // evStart: leave a succeeded one-shot alone
	env      map[string]string // evStart: added to the runs' environment
	task     string            // evStart, evStop: the task asking, for the hand-over ("" for none)
	resumed  bool              // evStart, evStop: a task run again after an upgrade claims its held request
	handover *handOverRequest  // cmdHandOver
	reply    chan reply        // buffered, capacity 1
}

// cmdSignal asks the goroutine to signal the main process.
const cmdSignal = numEvents

// cmdForget asks the goroutine to drop its record and end (prune.go).
const cmdForget = numEvents + 1

// cmdHandOver asks the goroutine for its hand-over and to wait (handover.go).
const cmdHandOver = numEvents + 2

// cmdAwaitStop asks the goroutine to answer once the service is no longer
// stopping (AwaitStopping).
const cmdAwaitStop = numEvents + 3

// exitEvent is the exit of one run's main process.
type exitEvent struct {
	run      int
	res      reaper.ExitResult
	released <-chan struct{} // closed once os/exec's pipes are released
}

// service is one service record. Its goroutine (loop) owns the process and
// the fields marked "goroutine"; everything else is guarded by mu and read
// by the Manager as snapshots.
type service struct {
	name  string
	m     *Manager
	cmds  chan command
	exits chan exitEvent
	// emptied receives the run number of a tree found empty (watchTree).
	emptied chan int
	buf     *logs.Buffer
	writer  *logs.Writer
	gone    chan struct{} // closed when the record is forgotten

	mu         sync.Mutex
	state      state
	since      time.Time
	startCount int
	pid        int
	svc        *plan.Service     // definition last started (adopted by Replan)
	workload   *plan.Workload    // its workload, if any
	env        map[string]string // added to the environment by the last start (StartWithEnv)
	created    time.Time         // inactive since, while never launched
	forgotten  bool              // pruned: no longer in Manager.services
	restarts   int               // automatic restarts since the last start
	reason     string            // why it is exited or failed
	lastExit   exitRecord        // how the last run ended
	life       lifeInfo          // readiness, status text, one-shot result

	// goroutine
	mach        machine
	run         int
	cmd         *exec.Cmd
	tree        *procTree
	deadlines   [numTimers]time.Time
	timer       *time.Timer
	cur         *command // the request being handled
	curDone     bool     // cur was answered or kept for later
	startWaiter *waiter
	stopWaiters []waiter
	released    <-chan struct{} // of the last exit
	// keptCgroup is set while the cgroup of the last run, which is over,
	// waits in backoff for the restart (effRetire).
	keptCgroup bool
	// sweptEmpty is set when the sweep of an exited run found its tree
	// empty: the loop delivers the tree-empty event once the exit is
	// handled and the run's record cleared.
	sweptEmpty bool
	// events is the open cgroup.events of the cgroup eventsDir, or -1
	// (populated).
	events    int
	eventsDir string
	waiting   int // runs whose exit was not received yet
	rand      *rand.Rand
	pipe      *logs.Pipe      // of the current run
	notify    *notifySocket   // of the current run, with notify readiness
	notes     chan notifyNote // from the notify socket's reader
	phase     string          // "reloading" or "stopping" since the last READY=1
	// answered are the requests of tasks answered lately, until their
	// reply is read; heldStarts and heldStops are requests handed over by an
	// upgraded daemon, for their tasks to claim (handover.go).
	answered   []waiter
	heldStarts []*heldRequest
	heldStops  []*heldRequest
}

// waiter is a start or stop request that gets a reply: its channel and,
// for the hand-over, the task that made it ("" for none).
type waiter struct {
	ch    chan reply
	task  string
	start bool
}

// answer sends r to w and, for a task's request, remembers it until the
// reply is read (handover.go).
func (s *service) answer(w waiter, r reply) {
	w.ch <- r
	if w.task == "" {
		return
	}
	unread := s.answered[:0]
	for _, a := range s.answered {
		if len(a.ch) > 0 {
			unread = append(unread, a)
		}
	}
	s.answered = append(unread, w)
}

// curWaiter is the request being handled as a waiter.
func (s *service) curWaiter() waiter {
	return waiter{ch: s.cur.reply, task: s.cur.task, start: s.cur.kind == evStart}
}

func newService(m *Manager, name string) *service {
	buf := logs.NewBuffer(logs.DefaultBufferSize)
	s := &service{
		name:    name,
		m:       m,
		cmds:    make(chan command),
		exits:   make(chan exitEvent),
		emptied: make(chan int),
		notes:   make(chan notifyNote),
		buf:     buf,
		writer:  logs.NewWriter(name, buf, m.mirror),
		gone:    make(chan struct{}),
		created: m.opts.Now(),
		timer:   time.NewTimer(time.Hour),
		events:  -1,
		rand:    rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(len(name)))),
	}
	s.timer.Stop()
	return s
}

// loop is the service's goroutine: it handles requests, exits and its one
// timer until the manager closes or the record is forgotten.
func (s *service) loop() {
	defer s.m.wg.Done()
	defer s.closeEvents()
	for {
		select {
		case c := <-s.cmds:
			switch c.kind {
			case cmdForget:
				if s.forget(c) {
					return
				}
				continue
			case cmdHandOver:
				s.handOver(c.handover)
				continue
			}
			s.command(c)
		case e := <-s.exits:
			s.waiting--
			if e.run == s.run {
				s.released = e.released
				s.m.noteLimitExit(s.name, e.res)
				s.mu.Lock()
				s.pid = 0
				s.lastExit = exitRecord{result: e.res, at: s.m.opts.Now()}
				s.mu.Unlock()
				s.closeNotify()
				s.noteExit(e.run, e.res)
				s.handle(event{kind: evExit, exit: e.res})
			}
			s.m.clearRecord(s.name, e.run, s.mach.state != stateBackoff)
			if s.sweptEmpty {
				// After the record is cleared, as when a watcher
				// reports the tree empty: a stop is done only then.
				s.sweptEmpty = false
				s.handle(event{kind: evTreeEmpty})
			}
		case n := <-s.notes:
			if n.run == s.run {
				s.notified(n)
			}
		case run := <-s.emptied:
			if run == s.run {
				s.handle(event{kind: evTreeEmpty})
			}
		case <-s.timer.C:
			s.fireDue()
		case <-s.m.done:
			s.timer.Stop()
			s.closeNotify()
			closed := reply{err: ErrClosed}
			if s.startWaiter != nil {
				s.startWaiter.ch <- closed
			}
			for _, w := range s.stopWaiters {
				w.ch <- closed
			}
			return
		}
	}
}

func (s *service) command(c command) {
	s.cur = &c
	s.curDone = false
	defer func() {
		if !s.curDone {
			s.answer(s.curWaiter(), reply{}) // a request with nothing to report
		}
		s.cur = nil
	}()
	switch c.kind {
	case cmdSignal:
		signal := s.signal
		if c.group {
			signal = s.signalGroup
		}
		c.reply <- reply{err: signal(c.sig)}
		s.curDone = true
		return
	case cmdAwaitStop:
		// The answer to the stop under way answers this one too; a
		// service not stopping is answered at once.
		if s.mach.state == stateTerminating || s.mach.state == stateKilling {
			s.stopWaiters = append(s.stopWaiters, s.curWaiter())
			s.curDone = true
		}
		return
	case evStart:
		if c.resumed && s.claim(c) {
			return
		}
		s.mu.Lock()
		s.svc, s.workload, s.env = c.svc, c.workload, c.env
		s.mu.Unlock()
	case evStop:
		if c.resumed && s.claim(c) {
			return
		}
	}
	s.handle(event{kind: c.kind, action: c.action, source: c.source, keepDone: c.keepDone})
}

// signal sends sig to the main process if it is starting or running.
func (s *service) signal(sig syscall.Signal) error {
	if s.mach.state != stateStarting && s.mach.state != stateRunning {
		return errNotRunning
	}
	s.m.logf("Sending %s to service %q", osutil.SignalName(sig), s.name)
	// Signal goes through the process's pidfd, so a reused PID is never hit.
	if err := s.cmd.Process.Signal(sig); err != nil {
		return errNotRunning
	}
	return nil
}

var errNotRunning = errors.New("service is not running")

// config returns the state machine's view of the current definition.
func (s *service) config() config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return configFor(s.svc, s.m.opts.OkayDelay, s.m.opts.KillFailDelay)
}

// handle runs one event through the transition function and applies its
// effects, then publishes the new state and re-arms the timer.
func (s *service) handle(ev event) {
	cfg := s.config()
	was := s.mach
	prev := was.state
	var effs []effect
	ev.at = time.Now()
	s.mach, effs = next(s.mach, cfg, ev)
	for k := range s.deadlines {
		if !validTimer(s.mach, timerKind(k)) {
			s.deadlines[k] = time.Time{}
		}
	}
	// Publish before the effects run, so a reply never arrives ahead of
	// the state it reports.
	if s.mach.state != prev {
		s.publish()
	}
	s.publishLifecycle(cfg)
	if on := s.m.opts.OnEvent; on != nil {
		for _, e := range events(s.name, was, s.mach, ev) {
			if e.Kind == EventExited {
				e.ExitReason = s.m.exitReason(s.name)
			}
			on(e)
		}
	}
	for _, e := range effs {
		s.apply(e, cfg)
	}
	if s.keptCgroup && s.mach.state != stateBackoff {
		s.retire() // no restart comes (a stop during the backoff, say)
	}
	s.rearm()
}

// populated reports whether the cgroup dir of the last run has a process
// left. It reads cgroup.events through a descriptor kept open for as long
// as the cgroup serves the service's runs (across restarts after backoff),
// which costs the daemon less at every exit than opening the file.
func (s *service) populated(dir string) bool {
	if s.eventsDir != dir {
		s.closeEvents()
		fd, err := unix.Open(filepath.Join(dir, "cgroup.events"), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return cgroup.Populated(dir)
		}
		s.events, s.eventsDir = fd, dir
	}
	var buf [128]byte
	n, err := unix.Pread(s.events, buf[:], 0)
	if err != nil {
		s.closeEvents()
		return cgroup.Populated(dir)
	}
	return cgroup.ParsePopulated(buf[:n])
}

// closeEvents closes the descriptor populated keeps open, if any.
func (s *service) closeEvents() {
	if s.eventsDir != "" {
		unix.Close(s.events)
		s.events, s.eventsDir = -1, ""
	}
}

// retire takes the last readings of the cgroup of the last run, which is
// over, and removes it.
func (s *service) retire() {
	s.closeEvents()
	s.keptCgroup = false
	s.m.retireUsage(s.name, s.tree.cgroup)
	s.m.retireLimits(s.name)
}

func (s *service) apply(e effect, cfg config) {
	switch e.kind {
	case effLaunch:
		if s.keptCgroup && e.okay {
			// A start may bring a new definition, and its limits: it
			// gets a fresh cgroup.
			s.retire()
		}
		s.keptCgroup = false
		if err := s.launch(cfg); err != nil {
			s.handle(event{kind: evLaunchFailed, okay: e.okay, err: err})
		} else {
			s.handle(event{kind: evLaunched, okay: e.okay})
		}
	case effTerminate:
		s.tree.refresh()
		s.tree.signal(cfg.stopSignal)
	case effKill:
		s.tree.signal(syscall.SIGKILL)
	case effSweep:
		if s.tree.cgroup != "" && !s.populated(s.tree.cgroup) {
			// Nothing is left, as is usual: no signal, no watch.
			s.sweptEmpty = true
			break
		}
		if e.term {
			s.tree.signal(cfg.stopSignal)
		}
		s.m.wg.Add(1)
		go s.watchTree(s.run, s.tree)
	case effRetire:
		if s.mach.state == stateBackoff && s.tree.cgroup != "" && !s.tree.cgroupKilled.Load() {
			// The restart after the backoff runs in the same cgroup:
			// removing it and creating it again would cost the daemon
			// more than the rest of a restart. Its counters go on.
			s.keptCgroup = true
			break
		}
		s.retire()
	case effArm:
		d := e.d
		if e.timer == timerBackoff {
			d += jitter(d, s.rand)
		}
		at := time.Now().Add(d)
		if cur := s.deadlines[e.timer]; e.sooner && !cur.IsZero() && cur.Before(at) {
			break
		}
		s.deadlines[e.timer] = at
	case effLog:
		s.m.logf("%s", e.text)
	case effStartWait:
		w := s.curWaiter()
		s.startWaiter = &w
		s.curDone = true
	case effStopWait:
		s.stopWaiters = append(s.stopWaiters, s.curWaiter())
		s.curDone = true
	case effStartReply:
		r := reply{err: e.err, note: e.text}
		if e.quick {
			r.released = s.released
		}
		if e.now {
			s.answer(s.curWaiter(), r)
			s.curDone = true
		} else if s.startWaiter != nil {
			s.answer(*s.startWaiter, r)
			s.startWaiter = nil
		} else {
			s.answerHeld(true, r)
		}
	case effStopReply:
		r := reply{err: e.err, note: e.text, released: s.released}
		if e.now {
			s.answer(s.curWaiter(), r)
			s.curDone = true
			break
		}
		for _, w := range s.stopWaiters {
			s.answer(w, r)
		}
		s.stopWaiters = nil
		s.answerHeld(false, r)
	case effShutdown:
		if s.m.opts.Shutdown != nil {
			s.m.opts.Shutdown(e.code)
		}
	}
}

// launch starts a new run of the service's process, with its notify
// socket when its readiness asks for one.
func (s *service) launch(cfg config) error {
	var ns *notifySocket
	if cfg.needNotify {
		var err error
		if ns, err = openNotify(); err != nil {
			return err
		}
	}
	s.resetLifecycle()
	if err := s.launchWith(cfg, ns); err != nil {
		ns.close()
		return err
	}
	if ns != nil {
		s.notify = ns
		s.readNotes()
	}
	return nil
}

// launchWith starts the process, giving it ns's address if ns is not nil,
// its output going through a new pipe into the service's writer.
func (s *service) launchWith(cfg config, ns *notifySocket) error {
	// A run's output starts on a line of its own.
	s.writer.EndLine()
	pipe, child, err := s.writer.NewPipe()
	if err != nil {
		return fmt.Errorf("cannot make output pipe: %w", err)
	}
	cmd, cgroupDir, err := s.startProcess(ns, child)
	child.Close() // the process has its own copy
	if err != nil {
		pipe.Close()
		return err
	}
	pipe.Start()
	s.started(cmd, cgroupDir, pipe, time.Duration(float64(cfg.killDelay)*outputWaitFraction))
	return nil
}

// startProcess starts the service's process with out as its stdout and
// stderr, in the service's cgroup where there is one, and returns the
// cgroup's directory ("" without one).
func (s *service) startProcess(ns *notifySocket, out *os.File) (*exec.Cmd, string, error) {
	s.mu.Lock()
	svc, workload, env := s.svc, s.workload, s.env
	s.mu.Unlock()
	cmd, err := s.runCommand(ns, svc, workload, env, out)
	if err == nil {
		err = s.applyLimits(cmd, svc)
	}
	if err != nil {
		return nil, "", err
	}
	s.m.logf("Service %q starting: %s", s.name, svc.Command)
	if s.m.opts.Starting != nil {
		s.m.opts.Starting(s.name, s.buf)
	}
	cg := s.m.cgroups
	if cg == nil {
		return cmd, "", reaper.StartCommand(cmd)
	}
	cgroupDir := cg.Path(s.name)
	viaFD := false
	if s.m.cgroupFD.Load() {
		fd, err := cg.OpenDir(s.name)
		if err != nil {
			return nil, "", err
		}
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = fd
		err = reaper.StartCommand(cmd)
		unix.Close(fd)
		if err == nil {
			return cmd, cgroupDir, nil
		}
		if !cgroupFDUnsupported(err) {
			return nil, "", err
		}
		// Perhaps the kernel (or a seccomp filter) refuses clone3 into a
		// cgroup: try again, joining the cgroup after the start.
		viaFD = true
		if cmd, err = s.runCommand(ns, svc, workload, env, out); err != nil {
			return nil, "", err
		}
		if err = s.applyLimits(cmd, svc); err != nil {
			return nil, "", err
		}
	}
	if err := reaper.StartCommand(cmd); err != nil {
		return nil, "", err
	}
	if viaFD {
		s.m.cgroupFD.Store(false)
	}
	if err := cg.Join(s.name, cmd.Process.Pid); err != nil {
		s.m.logf("Cannot move service %q to its cgroup: %v", s.name, err)
		cgroupDir = ""
	}
	return cmd, cgroupDir, nil
}

// runCommand is ns.command with the manager's /dev/null as stdin.
func (s *service) runCommand(ns *notifySocket, svc *plan.Service, workload *plan.Workload, env map[string]string, out *os.File) (*exec.Cmd, error) {
	cmd, err := ns.command(svc, workload, env, out)
	if err == nil && s.m.devNull != nil {
		cmd.Stdin = s.m.devNull
	}
	return cmd, err
}

// cgroupFDUnsupported reports whether a start failed because the kernel
// cannot clone into a cgroup (old kernel, seccomp filter).
func cgroupFDUnsupported(err error) bool {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	switch errno {
	case unix.ENOSYS, unix.EINVAL, unix.EPERM, unix.EOPNOTSUPP, unix.EBUSY:
		return true
	}
	return false
}

// started records a successful launch; grace is how long the output pipe
// is read after the process exits while something else still holds it.
func (s *service) started(cmd *exec.Cmd, cgroupDir string, pipe *logs.Pipe, grace time.Duration) {
	s.run++
	s.waiting++
	s.cmd, s.pipe = cmd, pipe
	pid := cmd.Process.Pid
	s.tree = &procTree{leader: pid, cgroup: cgroupDir}
	s.mu.Lock()
	s.startCount++
	s.pid = pid
	s.mu.Unlock()
	s.m.setRecord(s.name, s.run, pid, cgroupDir != "")
	run, inCgroup := s.run, cgroupDir != ""
	// cmd is StartCommand's, so AfterExit cannot fail.
	reaper.AfterExit(cmd, func() { s.wait(run, cmd, inCgroup, pipe, grace) })
}

// wait delivers the exit of one run to the goroutine, then waits for the
// rest of its output (at most grace, when a child it left holds the pipe).
// Before, it gives the usage book the figures wait4 gave for the main
// process (inCgroup: the run has its own cgroup).
func (s *service) wait(run int, cmd *exec.Cmd, inCgroup bool, pipe *logs.Pipe, grace time.Duration) {
	res, _ := reaper.WaitExit(cmd)
	if usage, ok := reaper.ExitUsage(cmd); ok {
		_, ioV2 := s.m.serviceControllers()
		s.m.usage.noteExit(s.name, cmd.Process.Pid, usage, inCgroup, inCgroup && ioV2)
	}
	s.exited(run, res, func() { reaper.Release(cmd) }, pipe, grace)
}

// exited delivers the exit of run, calls release, then waits for the rest
// of its output (at most grace).
func (s *service) exited(run int, res reaper.ExitResult, release func(), pipe *logs.Pipe, grace time.Duration) {
	released := make(chan struct{})
	select {
	case s.exits <- exitEvent{run: run, res: res, released: released}:
	case <-s.m.done:
	}
	release()
	pipe.Finish(grace)
	// Its output is all in: last words without a newline end their line.
	s.writer.EndLine()
	close(released)
	s.noteOutput(run)
}

// watchTree tells the goroutine once the tree of run is empty. It ends
// early when the manager closes or the record is forgotten. A tree already
// empty, as is usual when the main process had no children, is reported
// without setting up a watch.
func (s *service) watchTree(run int, t *procTree) {
	defer s.m.wg.Done()
	if !t.empty() && !s.awaitEmpty(t) {
		return
	}
	select {
	case s.emptied <- run:
	case <-s.m.done:
	case <-s.gone:
	}
}

// awaitEmpty waits until t is empty (true), or the manager closes or the
// record is forgotten (false).
func (s *service) awaitEmpty(t *procTree) bool {
	stop, finished := make(chan struct{}), make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-s.m.done:
		case <-s.gone:
		case <-finished:
			return
		}
		close(stop)
	}()
	return t.waitEmpty(stop)
}

// fireDue turns every deadline that has passed into its event.
func (s *service) fireDue() {
	now := time.Now()
	for k := range s.deadlines {
		d := s.deadlines[k]
		if d.IsZero() || d.After(now) {
			continue
		}
		s.deadlines[k] = time.Time{}
		s.handle(event{kind: timerEvents[k]})
	}
	s.rearm()
}

// rearm sets the one timer to the earliest deadline.
func (s *service) rearm() {
	var first time.Time
	for _, d := range s.deadlines {
		if !d.IsZero() && (first.IsZero() || d.Before(first)) {
			first = d
		}
	}
	s.timer.Stop()
	if !first.IsZero() {
		s.timer.Reset(time.Until(first))
	}
}

// publish copies the goroutine's state to the snapshot fields.
func (s *service) publish() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mach.state.status() != s.state.status() || s.since.IsZero() {
		s.since = s.m.opts.Now()
	}
	s.state = s.mach.state
	s.restarts, s.reason = s.mach.restarts, s.mach.reason
	switch s.state {
	case stateStarting, stateRunning, stateTerminating, stateKilling:
	default:
		s.pid = 0
	}
}

// request sends a command to the goroutine and waits for the reply.
func (s *service) request(ctx context.Context, c command) (reply, error) {
	c.reply = make(chan reply, 1)
	select {
	case s.cmds <- c:
	case <-s.gone:
		// Forgotten: the record has no process, and any request it took
		// before was answered.
		return reply{err: errNotRunning}, nil
	case <-s.m.done:
		return reply{}, ErrClosed
	case <-ctx.Done():
		return reply{}, ctx.Err()
	}
	return s.await(ctx, c.reply)
}

// await waits for a reply, the manager's close, or ctx.
func (s *service) await(ctx context.Context, ch chan reply) (reply, error) {
	select {
	case r := <-ch:
		return r, nil
	case <-s.m.done:
		return reply{}, ErrClosed
	case <-ctx.Done():
		return reply{}, ctx.Err()
	}
}

// awaitOutput waits briefly for the output of an exited process.
func awaitOutput(released <-chan struct{}) {
	if released == nil {
		return
	}
	select {
	case <-released:
	case <-time.After(outputWait):
	}
}

// formatOutput renders the task-log entry with a service's recent output.
func formatOutput(lines []string, cut bool) string {
	out := "Most recent service output:"
	if cut {
		out += "\n    (...)"
	}
	for _, l := range lines {
		out += "\n    " + l
	}
	return out
}

func (s *service) String() string { return fmt.Sprintf("service %q", s.name) }
