package servstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pebble-project/pebble/internal/cgroup"
	"github.com/pebble-project/pebble/internal/limits"
	"github.com/pebble-project/pebble/internal/logs"
	"github.com/pebble-project/pebble/internal/osutil"
	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/reaper"
	"github.com/pebble-project/pebble/internal/statefile"
)

// Options configure a Manager. The zero value of every field is valid.
type Options struct {
	// Logf receives the daemon's log messages (behaviour.md §3–5, §8, §12).
	// nil discards them.
	Logf func(format string, args ...any)
	// Verbose, if not nil, receives a copy of every formatted output line
	// (the daemon's stdout in verbose mode). Nothing is dropped: a writer
	// slower than a service slows that service (logs.Mirror), and only it.
	Verbose io.Writer
	// Store keeps the PIDs of running services in its "services" section,
	// for KillLeftovers. nil means nothing is persisted.
	Store *statefile.Store
	// Dir is $PEBBLE. It names this daemon's cgroup directory, so a daemon
	// restarted on the same directory finds the previous one's processes.
	Dir string
	// Shutdown asks the daemon to shut down with an exit code (0, 10 or
	// 11) after a shutdown action. It is called from a service's goroutine:
	// it must return promptly and must not wait for services to stop. nil
	// ignores shutdown actions.
	Shutdown func(exitCode int)
	// OkayDelay is how long a starting service must survive; 0 means 1s.
	OkayDelay time.Duration
	// KillFailDelay is how long to wait after SIGKILL before a stop fails;
	// 0 means 5s.
	KillFailDelay time.Duration
	// Starting, if not nil, is called on the service's goroutine just
	// before each run of a service is launched, with the buffer its output
	// goes to; nothing of that run is in the buffer yet. Log forwarding uses
	// it to start reading at the run's first line. It must not block.
	Starting func(service string, buf *logs.Buffer)
	// OnEvent, if not nil, is called on the service's goroutine for every
	// transition of a service (events.go), after the new state is visible
	// in Services and before the transition's effects run (a reply to a
	// start or stop comes after its event). It must not block.
	OnEvent func(Event)
	// NoCgroups disables the per-service cgroups even where cgroup v2 is
	// writable, so process trees are found by walking /proc instead.
	NoCgroups bool
	// PruneAge is how long a record may stay inactive before it is
	// forgotten (behaviour.md §10.3); 0 means 7 days.
	PruneAge time.Duration
	// PruneMax is how many inactive records are kept at most; 0 means 100.
	PruneMax int
	// PruneInterval is how often the manager prunes; 0 means 10 minutes.
	PruneInterval time.Duration
	// Now is the clock of status times (CurrentSince) and of pruning; nil
	// means time.Now. Timers always use the real clock.
	Now func() time.Time
	// Warn, if not nil, receives a warning for the user (a notice), such
	// as a service limit that cannot be enforced. It must not block.
	Warn func(message string)
	// DisabledControllers are cgroup controllers ("memory", "pids",
	// "cpu") that limits must not use, as if the host had none: a test
	// seam for the reports of unenforced limits.
	DisabledControllers []string
}

// TaskLog receives the INFO entries of a start or stop task.
type TaskLog interface {
	Logf(format string, args ...any)
}

// ServiceInfo is a snapshot of one service for the API.
type ServiceInfo struct {
	Name string
	// Startup is "enabled" or "disabled" (anything but enabled in the plan).
	Startup string
	// Current is "active", "inactive", "backoff" or "error".
	Current string
	// CurrentSince is when Current last changed; zero if never started.
	CurrentSince time.Time
	// StartCount is how many times the process was launched.
	StartCount int
	// PID is the main process's PID while it runs, else 0.
	PID int
	// Restarts counts the automatic restarts since the last start.
	Restarts int
	// LastExit is how the last run ended; nil if no run ended yet.
	LastExit *ExitInfo
	// Failure says why Current is "error": the exit of a service that is
	// not restarted, or its restart limit; "" otherwise.
	Failure string
	// NotEnforced lists the limits of the last run that are set but not
	// enforced, and why (limits.go).
	NotEnforced []limits.NotEnforced
	// ExitReason is ExitOOMKilled when the OOM killer ended the last run,
	// else "".
	ExitReason string
	// Readiness is "waiting", "ready", "reloading", "stopping" or
	// "timed-out" for a service with readiness that was started, else ""
	// (docs/readiness.md).
	Readiness string
	// StatusText is the last STATUS= the service sent on its notify socket.
	StatusText string
	// Oneshot is the result of a one-shot's last run; nil before it ran
	// (docs/oneshot.md).
	Oneshot *OneshotResult
}

// ErrNotFound is wrapped by errors about a service that is not in the plan.
var ErrNotFound = errors.New("service not found")

// ErrClosed is returned by requests made to, or cut short by, a closed
// Manager.
var ErrClosed = errors.New("cannot use service manager: closed")

// notFoundError is `cannot find service "<s>" in plan`.
type notFoundError struct{ name string }

func (e *notFoundError) Error() string { return fmt.Sprintf("cannot find service %q in plan", e.name) }
func (e *notFoundError) Unwrap() error { return ErrNotFound }

// Manager owns the processes of the plan's services. Its methods are safe
// for concurrent use.
type Manager struct {
	opts     Options
	logf     func(format string, args ...any)
	mirror   *logs.Mirror
	cgroups  *cgroup.Tree // nil: walk /proc instead
	cgroupFD atomic.Bool
	done     chan struct{}
	wg       sync.WaitGroup

	mu   sync.Mutex
	plan *plan.Plan
	// services are the records; every change to it calls
	// rosterChangedLocked.
	services map[string]*service
	// roster is what Services lists (rosterLocked); nil when stale.
	roster  []rosterEntry
	records map[string]procRecord
	closed  bool
	// leftovers holds, by service name, a channel closed once the
	// leftovers a previous daemon left of that service are gone
	// (leftovers.go); a start waits for it.
	leftovers map[string]chan struct{}

	usage usageBook // CPU time of ended runs (usage.go)

	// devNull is every run's stdin, opened once (else os/exec opens
	// /dev/null at every launch); nil if it cannot be opened.
	devNull *os.File

	limits    *limits.Enforcer // limits.go
	v1        *cgroup.V1       // nil: no cgroup v1 hierarchies used
	limitBook limitBook

	// adopted names the services taken over from an upgraded daemon,
	// guarded by mu; resume and mirrorPaused undo a HandOver (handover.go).
	adopted      map[string]bool
	resume       func()
	mirrorPaused bool
}

// New returns a Manager. It starts the process's reaper (reaper.Start), and
// Close stops it again.
func New(opts Options) (*Manager, error) {
	if opts.OkayDelay <= 0 {
		opts.OkayDelay = defaultOkayDelay
	}
	if opts.KillFailDelay <= 0 {
		opts.KillFailDelay = defaultKillFailDelay
	}
	if opts.PruneAge <= 0 {
		opts.PruneAge = defaultPruneAge
	}
	if opts.PruneMax <= 0 {
		opts.PruneMax = defaultPruneMax
	}
	if opts.PruneInterval <= 0 {
		opts.PruneInterval = defaultPruneInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := reaper.Start(); err != nil {
		return nil, err
	}
	m := &Manager{
		opts:     opts,
		logf:     opts.Logf,
		done:     make(chan struct{}),
		plan:     &plan.Plan{},
		services: make(map[string]*service),
		records:  make(map[string]procRecord),
		adopted:  make(map[string]bool),

		leftovers: make(map[string]chan struct{}),
	}
	if m.logf == nil {
		m.logf = func(string, ...any) {}
	}
	if f, err := os.Open(os.DevNull); err == nil {
		m.devNull = f
	}
	if opts.Verbose != nil {
		m.mirror = logs.NewMirror(opts.Verbose, 0)
	}
	if !opts.NoCgroups {
		if cg, err := cgroup.Open(opts.Dir); err == nil {
			m.cgroups = cg
			m.cgroupFD.Store(true)
		}
	}
	m.openLimits()
	if opts.Store != nil {
		opts.Store.Register(stateSection, m.recordsSnapshot)
	}
	m.wg.Add(1)
	go m.pruneLoop()
	return m, nil
}

// Close stops the services' goroutines and releases the manager's
// resources. It does not stop services (the daemon stops them first with
// Stop); a main process still running then is left alone, and its waiter
// ends when it exits. What is left of a run whose main process exited gets
// SIGKILL. Requests waiting for a reply get ErrClosed.
func (m *Manager) Close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	close(m.done)
	m.mu.Unlock()
	m.wg.Wait()
	m.killResidues()
	if m.mirror != nil {
		m.mirror.Close()
	}
	if m.cgroups != nil {
		m.cgroups.Close()
	}
	m.v1.Close()
	if m.devNull != nil {
		m.devNull.Close()
	}
	reaper.Stop()
}

// killResidues kills what is left of the services' exited runs, once their
// goroutines have ended, and waits up to cgroup.RemoveWait for it to go, so
// that their cgroups can be removed.
func (m *Manager) killResidues() {
	var trees []*procTree
	for _, s := range m.allRecords() {
		if s.mach.residue && s.tree != nil {
			s.tree.signal(syscall.SIGKILL)
			trees = append(trees, s.tree)
		}
	}
	timeout := make(chan struct{})
	timer := time.AfterFunc(cgroup.RemoveWait, func() { close(timeout) })
	defer timer.Stop()
	for _, t := range trees {
		t.waitEmpty(timeout)
	}
}

// SetPlan publishes the current plan. Services keep running; their new
// definitions take effect at their next manual start or Replan.
func (m *Manager) SetPlan(p *plan.Plan) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.plan = p
	m.rosterChangedLocked()
}

// lookup returns the current definition of a service and its workload.
func (m *Manager) lookup(name string) (*plan.Service, *plan.Workload, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	svc := m.plan.Services[name]
	if svc == nil {
		return nil, nil, &notFoundError{name}
	}
	return svc, m.plan.Workloads[svc.Workload], nil
}

// record returns the service record, creating it (and starting its
// goroutine) if create is set.
func (m *Manager) record(name string, create bool) *service {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.services[name]
	if s == nil && create && !m.closed {
		s = newService(m, name)
		m.services[name] = s
		m.rosterChangedLocked()
		m.wg.Add(1)
		go s.loop()
	}
	return s
}

// send delivers c to the goroutine of the service's record, creating the
// record if create is set; without a record (and create unset) it returns
// nil. A record forgotten by Prune before it took c is replaced by a fresh
// one (or by none).
func (m *Manager) send(ctx context.Context, name string, create bool, c command) (*service, error) {
	for {
		s := m.record(name, create)
		if s == nil {
			if create {
				return nil, ErrClosed
			}
			return nil, nil
		}
		select {
		case s.cmds <- c:
			return s, nil
		case <-s.gone:
		case <-m.done:
			return nil, ErrClosed
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Start runs the "start" task of behaviour.md §3: it launches the service
// unless it is already active and waits through the okay delay, or until it
// is ready (docs/readiness.md) or, a one-shot, has exited (docs/oneshot.md).
// Cancelling ctx aborts the start: the process group gets SIGKILL.
func (m *Manager) Start(ctx context.Context, name string, tl TaskLog) error {
	return m.start(ctx, name, tl, command{})
}

// StartWithEnv is Start with env added to the environment of the runs this
// start launches, on top of the plan's (a workflow's run step gives its
// parameters so, docs/workflows.md). The plan's definition is what Replan
// compares; a later start without env drops it.
func (m *Manager) StartWithEnv(ctx context.Context, name string, tl TaskLog, env map[string]string) error {
	return m.start(ctx, name, tl, command{env: env})
}

// StartUnlessSucceeded is Start, except that a one-shot whose last run
// succeeded, with the definition of the current plan, is left alone (its
// task logs so): the start of autostart and replan (docs/oneshot.md).
func (m *Manager) StartUnlessSucceeded(ctx context.Context, name string, tl TaskLog) error {
	return m.start(ctx, name, tl, command{keepDone: true})
}

// taskID returns the ID of the task tl logs for ("" if it has none): a
// start or stop request handed over by an upgrade is claimed by it again.
func taskID(tl TaskLog) string {
	if t, ok := tl.(interface{ ID() string }); ok {
		return t.ID()
	}
	return ""
}

// ResumeStart is Start (StartUnlessSucceeded with keepDone) for a start
// task that was running when an upgraded daemon handed over
// (docs/upgrade.md): it gets the outcome of the start the old daemon had
// asked for, or starts afresh when the hand-over held none.
func (m *Manager) ResumeStart(ctx context.Context, name string, tl TaskLog, keepDone bool) error {
	return m.start(ctx, name, tl, command{keepDone: keepDone, resumed: true})
}

// start sends c, an evStart with its options, and waits for its outcome.
func (m *Manager) start(ctx context.Context, name string, tl TaskLog, c command) error {
	svc, workload, err := m.lookup(name)
	if err != nil {
		return err
	}
	if err := m.awaitLeftovers(ctx, name, tl); err != nil {
		return err
	}
	if c.keepDone {
		c.keepDone = m.unchanged(name, svc, workload)
	}
	c.kind, c.svc, c.workload, c.reply, c.task = evStart, svc, workload, make(chan reply, 1), taskID(tl)
	s, err := m.send(ctx, name, true, c)
	if err != nil {
		return err
	}
	r, err := s.await(ctx, c.reply)
	if err != nil && err != ErrClosed {
		// The change was aborted: kill the process if still starting. If
		// the start finished meanwhile, the abort does nothing and its
		// outcome is reported.
		if _, err := s.request(context.Background(), command{kind: evAbortStart}); err != nil {
			return err
		}
		if r, err = s.await(context.Background(), c.reply); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	if r.note != "" && tl != nil {
		tl.Logf("%s", r.note)
	}
	if r.err != nil {
		if r.released != nil && tl != nil {
			awaitOutput(r.released)
			if lines, cut := s.buf.LastLines(startOutputLines); len(lines) > 0 {
				if svc.LogsRestricted() {
					// Task logs are for every reader; the output is not.
					tl.Logf("Its last output is not shown here: the service's log-access is admin.")
				} else {
					tl.Logf("%s", formatOutput(lines, cut))
					if svc.IsOneshot() {
						return withOutputTail(r.err, lines)
					}
				}
			}
		}
		return r.err
	}
	return nil
}

// Stop runs the "stop" task of behaviour.md §8. Cancelling ctx cannot recall
// signals already sent: it is logged and the stop still waits for the
// outcome.
func (m *Manager) Stop(ctx context.Context, name string, tl TaskLog) error {
	return m.stop(ctx, name, tl, false)
}

// ResumeStop is Stop for a stop task that was running when an upgraded
// daemon handed over (docs/upgrade.md): it gets the outcome of the stop
// the old daemon had asked for, or stops afresh when the hand-over held
// none.
func (m *Manager) ResumeStop(ctx context.Context, name string, tl TaskLog) error {
	return m.stop(ctx, name, tl, true)
}

func (m *Manager) stop(ctx context.Context, name string, tl TaskLog, resumed bool) error {
	c := command{kind: evStop, resumed: resumed, task: taskID(tl), reply: make(chan reply, 1)}
	s, err := m.send(context.Background(), name, false, c)
	if err != nil {
		return err
	}
	if s == nil {
		if tl != nil {
			tl.Logf("Service %q has never been started.", name)
		}
		return nil
	}
	r, err := s.await(ctx, c.reply)
	if err != nil && err != ErrClosed {
		m.logf("Cannot abort stop for service %q, signals already sent", name)
		r, err = s.await(context.Background(), c.reply)
	}
	if err != nil {
		return err
	}
	// What the process wrote last is in its buffer before the stop is done.
	awaitOutput(r.released)
	if r.note != "" && tl != nil {
		tl.Logf("%s", r.note)
	}
	return r.err
}

// Services returns a snapshot of every service in the current plan, or of
// those named (unknown names are dropped), sorted by name. It holds the
// manager's lock only to read the roster, so concurrent calls (each API
// request) do not queue behind one another.
func (m *Manager) Services(names []string) []ServiceInfo {
	return m.AppendServices(nil, names)
}

// AppendServices appends what Services returns to infos, so that a caller
// asking often (the API) can reuse the slice.
func (m *Manager) AppendServices(infos []ServiceInfo, names []string) []ServiceInfo {
	m.mu.Lock()
	roster := m.rosterLocked()
	m.mu.Unlock()
	var want map[string]bool
	size := len(roster)
	if len(names) > 0 {
		want = make(map[string]bool, len(names))
		for _, n := range names {
			want[n] = true
		}
		size = min(size, len(want))
	}
	// Sized once: ServiceInfo is large, and growing the slice from empty
	// was most of the cost of a request for 10 services.
	infos = slices.Grow(infos, size)
	first := len(infos)
	for _, e := range roster {
		if want != nil && !want[e.name] {
			continue
		}
		info := ServiceInfo{Name: e.name, Startup: "disabled", Current: StatusInactive}
		if e.enabled {
			info.Startup = "enabled"
		}
		if s := e.rec; s != nil {
			s.mu.Lock()
			if !s.forgotten {
				if !s.since.IsZero() {
					info.Current = s.state.status()
					info.CurrentSince = s.since
				}
				info.StartCount = s.startCount
				info.PID = s.pid
				s.exitInfo(&info)
				s.lifeInfoLocked(&info)
			}
			s.mu.Unlock()
		}
		infos = append(infos, info)
	}
	m.addLimitInfo(infos[first:])
	return infos
}

// rosterEntry is a service of the plan as Services lists it.
type rosterEntry struct {
	name    string
	enabled bool
	// rec is the service's record; nil if it has none.
	rec *service
}

// rosterLocked returns the plan's services sorted by name, with their
// records. It is built once for each plan and set of records (SetPlan and
// every change to m.services call rosterChangedLocked) and never changed
// afterwards, so callers read it without the lock.
func (m *Manager) rosterLocked() []rosterEntry {
	if m.roster != nil {
		return m.roster
	}
	roster := make([]rosterEntry, 0, len(m.plan.Services))
	for name, svc := range m.plan.Services {
		roster = append(roster, rosterEntry{name: name, enabled: svc.Startup == plan.StartupEnabled, rec: m.services[name]})
	}
	slices.SortFunc(roster, func(a, b rosterEntry) int { return strings.Compare(a.name, b.name) })
	m.roster = roster
	return roster
}

// rosterChangedLocked drops the roster after a change of the plan or of
// the records.
func (m *Manager) rosterChangedLocked() { m.roster = nil }

// ActiveServices returns the names, sorted, of services that are starting,
// running, in backoff or stopping: those the daemon stops, or waits for, at
// shutdown.
func (m *Manager) ActiveServices() []string {
	var names []string
	for _, s := range m.allRecords() {
		s.mu.Lock()
		switch s.state {
		case stateStarting, stateRunning, stateBackoff, stateTerminating, stateKilling:
			names = append(names, s.name)
		}
		s.mu.Unlock()
	}
	sort.Strings(names)
	return names
}

func (m *Manager) allRecords() []*service {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*service, 0, len(m.services))
	for _, s := range m.services {
		out = append(out, s)
	}
	return out
}

// Replan returns the diff of behaviour.md §6.5 step 1: the names, sorted,
// of the services with a record whose definition in the current plan (or
// whose workload) differs from the one last started. It changes nothing:
// the start task of each (Start) adopts the new definition, so until then
// Replan keeps reporting it.
func (m *Manager) Replan() []string {
	m.mu.Lock()
	p := m.plan
	m.mu.Unlock()
	var changed []string
	for _, s := range m.allRecords() {
		svc := p.Services[s.name]
		if svc == nil {
			continue
		}
		workload := p.Workloads[svc.Workload]
		s.mu.Lock()
		if !s.forgotten && s.svc != nil && (!s.svc.Equal(svc) || !s.workload.Equal(workload)) {
			changed = append(changed, s.name)
		}
		s.mu.Unlock()
	}
	sort.Strings(changed)
	return changed
}

// SendSignal sends a signal, named like "SIGHUP", to the main process of
// each named service (behaviour.md §14). Failures are joined with "; ".
func (m *Manager) SendSignal(names []string, signal string) error {
	sig, ok := osutil.SignalByName(signal)
	var errs []string
	for _, name := range names {
		if !ok {
			errs = append(errs, fmt.Sprintf("cannot send signal to %q: invalid signal name %q", name, signal))
			continue
		}
		var err error = errNotRunning
		if _, _, lerr := m.lookup(name); lerr == nil {
			if s := m.record(name, false); s != nil {
				var r reply
				if r, err = s.request(context.Background(), command{kind: cmdSignal, sig: sig}); err == nil {
					err = r.err
				}
			}
		}
		if err != nil {
			errs = append(errs, fmt.Sprintf("cannot send signal to %q: %v", name, err))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// CheckFailed applies the on-check-failure action of every service that
// names check (behaviour.md §7.5). Services never started ignore it.
func (m *Manager) CheckFailed(check string) {
	m.mu.Lock()
	type target struct {
		s      *service
		action plan.ServiceAction
	}
	var targets []target
	for name, svc := range m.plan.Services {
		action, ok := svc.OnCheckFailure[check]
		if !ok {
			continue
		}
		if s := m.services[name]; s != nil {
			targets = append(targets, target{s, action})
		}
	}
	m.mu.Unlock()
	for _, t := range targets {
		t.s.request(context.Background(), command{kind: evCheckFailed, action: t.action})
	}
}

// Buffer returns the output buffer of a service, or nil if it was never
// started.
func (m *Manager) Buffer(name string) *logs.Buffer {
	if s := m.record(name, false); s != nil {
		return s.buf
	}
	return nil
}

// stateSection is the state file section holding running services' PIDs.
const stateSection = "services"

// procRecord identifies a running service's main process across a daemon
// crash: PID plus start time, so a reused PID is never mistaken for it.
type procRecord struct {
	PID       int    `json:"pid"`
	StartTime uint64 `json:"start-time"`
	run       int
}

// setRecord records the main process of run. A run inside its service's
// cgroup is found by the next daemon through the cgroup even if the record
// never reaches the disk, so its record rides along with the next write
// (MarkLazy, at most lazyDelay later), and its start time is read only
// then (recordsSnapshot): in a crash loop most runs are over before any
// write. A run without one is written at once, the record being all the
// next daemon would have.
func (m *Manager) setRecord(name string, run, pid int, contained bool) {
	if m.opts.Store == nil {
		return
	}
	rec := procRecord{PID: pid, run: run}
	if !contained {
		st, err := osutil.ReadProcStat(pid)
		if err != nil {
			return // already gone
		}
		rec.StartTime = st.StartTime
	}
	m.mu.Lock()
	m.records[name] = rec
	m.mu.Unlock()
	if contained {
		m.opts.Store.MarkLazy()
	} else {
		m.opts.Store.MarkDirty()
	}
}

// clearRecord forgets the record of run once its main process has exited.
// The file is rewritten only if write is set: a service in backoff is
// relaunched soon, and that launch's setRecord rewrites it, so a crash loop
// costs one write per restart, not two. Until then the file may name the
// exited process, which is harmless: KillLeftovers ignores a record whose
// start time no longer matches, and any other write drops it.
func (m *Manager) clearRecord(name string, run int, write bool) {
	if m.opts.Store == nil {
		return
	}
	m.mu.Lock()
	r, ok := m.records[name]
	if ok && r.run == run {
		delete(m.records, name)
	}
	m.mu.Unlock()
	if ok && r.run == run && write {
		m.opts.Store.MarkDirty()
	}
}

// recordsSnapshot is the state file's "services" section. The start time
// of a run recorded without one (setRecord) is read now, and kept: its
// main process must still be this daemon's child and not a zombie, so a
// PID that the run's exit freed and another process took is never named.
// A run found gone is left out; its cgroup would have found it anyway.
func (m *Manager) recordsSnapshot() any {
	m.mu.Lock()
	out := make(map[string]procRecord, len(m.records))
	var unknown []string
	for k, v := range m.records {
		if v.StartTime == 0 {
			unknown = append(unknown, k)
			continue
		}
		out[k] = v
	}
	m.mu.Unlock()
	for _, name := range unknown {
		m.mu.Lock()
		rec, ok := m.records[name]
		m.mu.Unlock()
		if !ok || rec.StartTime != 0 {
			continue
		}
		st, err := osutil.ReadProcStat(rec.PID)
		if err != nil || st.PPID != os.Getpid() || st.State == 'Z' {
			continue
		}
		rec.StartTime = st.StartTime
		m.mu.Lock()
		if cur, ok := m.records[name]; ok && cur.run == rec.run && cur.PID == rec.PID {
			m.records[name] = rec
			out[name] = rec
		}
		m.mu.Unlock()
	}
	return out
}

// loadedRecords parses the records a previous daemon left in the state file.
func (m *Manager) loadedRecords() (map[string]procRecord, error) {
	if m.opts.Store == nil {
		return nil, nil
	}
	raw := m.opts.Store.Loaded(stateSection)
	if raw == nil {
		return nil, nil
	}
	var recs map[string]procRecord
	if err := json.Unmarshal(raw, &recs); err != nil {
		return nil, fmt.Errorf("cannot parse %q section of state file: %w", stateSection, err)
	}
	return recs, nil
}
