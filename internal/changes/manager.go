package changes

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/pebble-project/pebble/internal/statefile"
)

// Pruning defaults (behaviour.md §1, §10.3).
const (
	DefaultPruneInterval = 10 * time.Minute
	DefaultReadyAge      = 7 * 24 * time.Hour
	DefaultMaxReady      = 1000
	DefaultEmptyAge      = 7 * 24 * time.Hour
	DefaultAbortAge      = 14 * 24 * time.Hour
)

// maxLog is how many log entries a task keeps.
const maxLog = 10

// Errors. Match them with errors.Is; the texts of the errors returned carry
// the ID in the wording the API needs.
var (
	// ErrNotFound: no change or task with that ID.
	ErrNotFound = errors.New("not found")
	// ErrNothingPending: Abort of a change that is already ready.
	ErrNothingPending = errors.New("nothing pending")
	// ErrClosed: the manager was closed while Wait was waiting.
	ErrClosed = errors.New("changes manager closed")
	// ErrNoData: Task.Get on a task whose data was never set.
	ErrNoData = errors.New("no data")
)

// idError is an error about one change or task; its text is what the API
// shows, and errors.Is matches its sentinel.
type idError struct {
	text     string
	sentinel error
}

func (e *idError) Error() string { return e.text }
func (e *idError) Unwrap() error { return e.sentinel }

func changeNotFound(id string) error {
	return &idError{fmt.Sprintf("cannot find change with id %q", id), ErrNotFound}
}

func taskNotFound(id string) error {
	return &idError{fmt.Sprintf("cannot find task with id %q", id), ErrNotFound}
}

// Handler does the work of a task. ctx is cancelled when the task's change is
// aborted or the manager closes; the handler must then return promptly.
// Returning nil marks the task Done, an error marks it Error (with the error
// text as an ERROR log entry).
type Handler func(ctx context.Context, t *Task) error

// Kind describes one kind of task.
type Kind struct {
	// Run does the work. A nil Run behaves like an unregistered kind: the task
	// is marked Done with a "no handler" log entry.
	Run Handler
	// Interrupted is the error recorded for a task of this kind that was
	// running when the previous daemon stopped (for example "service already
	// started, not retrying"); "" marks such a task Done instead.
	Interrupted string
	// Unstarted, if set, is the error recorded for a task of this kind
	// that had not started when the previous daemon stopped although every
	// task it waits for was Done, so that its change ends in Error rather
	// than Done. Other unstarted tasks go on Hold.
	Unstarted string
	// Resume, if set, is run instead of Run for a task of this kind that
	// was running when an upgraded daemon handed over to this one
	// (Options.TookOver): it picks up the work where the old daemon's
	// handler was.
	Resume Handler
}

// Options configure a Manager. Every field may be left zero.
type Options struct {
	// Store persists the "changes" section; nil keeps everything in memory.
	Store *statefile.Store
	// Logf writes to the daemon log; nil discards. It is called without any
	// lock held.
	Logf func(format string, args ...any)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OnStatus, if set, is called when a change is created and whenever its
	// status changes, except for Do<->Doing and Undo<->Undoing flips. Calls
	// are made in order, one at a time, with no lock held, usually from the
	// goroutine that caused the change (an event raised while another
	// goroutine is delivering is delivered by that goroutine). It may call
	// the Manager, but must not block for long.
	OnStatus func(c ChangeInfo)
	// TookOver says that the daemon took over from an upgraded one
	// (docs/upgrade.md) rather than starting after a stop: Start runs the
	// unfinished changes on instead of resolving them, resuming running
	// tasks of a kind with Resume and running those not yet started.
	TookOver bool

	// PruneInterval is how often the manager prunes; 0 means 10 minutes.
	PruneInterval time.Duration
	// ReadyAge: ready changes whose ready time is older are deleted; 0 means
	// 7 days.
	ReadyAge time.Duration
	// MaxReady is how many ready changes are kept at most; 0 means 1000.
	MaxReady int
	// EmptyAge: unready changes without tasks spawned longer ago are deleted;
	// 0 means 7 days.
	EmptyAge time.Duration
	// AbortAge: unready changes spawned longer ago are aborted, except
	// those created with KeepPending; 0 means 14 days.
	AbortAge time.Duration
}

// TaskSpec describes one task of a new change.
type TaskSpec struct {
	Kind    string
	Summary string
	// Data is marshalled to JSON and becomes the task's data (nil: none).
	// A value json.Marshal rejects is a programming error and panics.
	Data any
	// Lanes lists the lanes (from NewLane) the task belongs to.
	Lanes []int
	// WaitFor lists indexes of earlier specs in the same NewChange that must
	// be Done before this task runs. An index that is not earlier panics.
	WaitFor []int
}

// NewChange describes a change to create.
type NewChange struct {
	Kind    string
	Summary string
	// Services names the services the change concerns, for filtering
	// (GET /v1/changes?for=).
	Services []string
	Tasks    []TaskSpec
	// Data is optional API data, returned as is in ChangeInfo.
	Data map[string]any
	// NoticeData is added to the change's kind in the data of its
	// change-update notices (api.md §13.1): a check change names its check.
	NoticeData map[string]string
	// KeepPending exempts the change from the abort of old unready changes
	// (Options.AbortAge): its work lasts as long as it must, as a check's
	// phase does.
	KeepPending bool
}

// ChangeInfo is a snapshot of a change. Its slices and map belong to the
// caller, except Data, which is shared and must not be modified.
type ChangeInfo struct {
	ID      string
	Kind    string
	Summary string
	Status  Status
	Ready   bool
	// Err is set only when Status is Error (api.md §10.1).
	Err       string
	SpawnTime time.Time
	// ReadyTime is zero until the change is ready.
	ReadyTime time.Time
	// Tasks are in creation order.
	Tasks    []TaskInfo
	Services []string
	Data     map[string]any
	// NoticeData is the data of the change's change-update notices: its
	// kind and the NewChange's NoticeData. It is shared and must not be
	// modified.
	NoticeData map[string]string
}

// TaskInfo is a snapshot of a task.
type TaskInfo struct {
	ID      string
	Kind    string
	Summary string
	Status  Status
	// Log holds the last 10 entries, each "<time> INFO|ERROR <text>".
	Log []string
	// ProgressDone is 0 while the task is Do, else 1; ProgressTotal is 1.
	ProgressDone  int
	ProgressTotal int
	SpawnTime     time.Time
	ReadyTime     time.Time
	// Data is the task's JSON data, nil if never set.
	Data json.RawMessage
}

// Select chooses which changes Changes returns.
type Select int

// The selections of GET /v1/changes?select=.
const (
	SelectInProgress Select = iota // changes that are not ready (the default)
	SelectReady                    // ready changes
	SelectAll                      // every change
)

// Manager owns all changes and tasks. Its methods are safe for concurrent use.
type Manager struct {
	store    *statefile.Store
	logf     func(format string, args ...any)
	now      func() time.Time
	onStatus func(ChangeInfo)

	pruneEvery time.Duration
	readyAge   time.Duration
	maxReady   int
	emptyAge   time.Duration
	abortAge   time.Duration

	ctx    context.Context // parent of every change's context
	cancel context.CancelFunc
	done   chan struct{} // closed by Close
	wg     sync.WaitGroup

	mu         sync.Mutex
	kinds      map[string]Kind
	changes    map[string]*change
	order      []*change // by creation
	tasks      map[string]*Task
	lastChange int
	lastTask   int
	lastLane   int
	started    bool
	closed     bool
	leftovers  []*change // unready changes loaded from the state file
	tookOver   bool      // Options.TookOver
	events     []ChangeInfo
	snapParts  int // pieces in the last snapshot, to size the next one

	deliverMu sync.Mutex // held by the goroutine calling onStatus
}

// change is the manager's record of a change; guarded by Manager.mu.
type change struct {
	id, kind, summary string
	services          []string
	data              map[string]any
	noticeData        map[string]string // kind included; built on first use
	keepPending       bool
	tasks             []*Task
	explicit          Status // Default: derive from tasks
	status            Status // cached derived status
	counts            [nStatus]int
	spawnTime         time.Time
	readyTime         time.Time
	ready             chan struct{} // closed when the change becomes ready or is deleted
	ctx               context.Context
	cancel            context.CancelFunc

	foreign foreign // what the state file had that this daemon does not use
	json    []byte  // cached state file member, nil when stale
}

// New builds a Manager and loads the "changes" section of opts.Store, if any.
// Unfinished work found there is resolved by Start, once the task kinds are
// registered.
func New(opts Options) (*Manager, error) {
	m := &Manager{
		store:      opts.Store,
		logf:       opts.Logf,
		now:        opts.Now,
		onStatus:   opts.OnStatus,
		tookOver:   opts.TookOver,
		pruneEvery: cmp.Or(opts.PruneInterval, DefaultPruneInterval),
		readyAge:   cmp.Or(opts.ReadyAge, DefaultReadyAge),
		maxReady:   cmp.Or(opts.MaxReady, DefaultMaxReady),
		emptyAge:   cmp.Or(opts.EmptyAge, DefaultEmptyAge),
		abortAge:   cmp.Or(opts.AbortAge, DefaultAbortAge),
		done:       make(chan struct{}),
		kinds:      make(map[string]Kind),
		changes:    make(map[string]*change),
		tasks:      make(map[string]*Task),
	}
	if m.logf == nil {
		m.logf = func(string, ...any) {}
	}
	if m.now == nil {
		m.now = time.Now
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	if m.store != nil {
		if err := m.load(m.store); err != nil {
			m.cancel()
			return nil, err
		}
		m.store.RegisterFields(stateKeys, m.snapshot)
	}
	return m, nil
}

// Register sets the handler of a task kind. Call it before Start.
func (m *Manager) Register(kind string, k Kind) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.kinds[kind] = k
}

// Start resolves unfinished work loaded from the state file (see the package
// doc), then runs tasks: those of changes added before Start, and from now
// on those of new changes. It also starts pruning every PruneInterval.
// Calls after the first, or after Close, do nothing.
func (m *Manager) Start() {
	m.mu.Lock()
	if m.started || m.closed {
		m.mu.Unlock()
		return
	}
	m.started = true
	var logs []string
	for _, c := range m.leftovers {
		if m.changes[c.id] != c || c.status.Ready() {
			continue
		}
		if m.tookOver {
			logs = append(logs, m.resumeLocked(c)...)
		} else {
			logs = append(logs, m.resolveLocked(c)...)
		}
	}
	m.leftovers = nil
	for _, c := range m.order {
		for _, t := range c.tasks {
			if t.status == Do && t.pending == 0 {
				m.launchLocked(t)
			}
		}
		m.updateLocked(c)
	}
	m.wg.Add(1)
	go m.pruneLoop()
	m.mu.Unlock()
	for _, line := range logs {
		m.logf("%s", line)
	}
	m.markDirty()
	m.deliver()
}

// resolveLocked settles the unfinished tasks of a change loaded from the
// state file and returns the daemon log lines to write.
func (m *Manager) resolveLocked(c *change) []string {
	var logs []string
	for _, t := range c.tasks {
		if t.status.Ready() {
			continue
		}
		k, ok := m.kinds[t.kind]
		switch {
		case !ok || k.Run == nil:
			t.addLogLocked("INFO", fmt.Sprintf("no handler for task %q, task ignored", t.kind))
			m.setStatusLocked(t, Done)
		case t.status == Doing || t.status == Abort:
			if k.Interrupted == "" {
				m.setStatusLocked(t, Done)
				continue
			}
			t.addLogLocked("ERROR", k.Interrupted)
			m.setStatusLocked(t, Error)
			logs = append(logs, fmt.Sprintf("Change %s task (%s) failed: %s", c.id, t.summary, k.Interrupted))
		case k.Unstarted != "" && t.pending == 0:
			t.addLogLocked("ERROR", k.Unstarted)
			m.setStatusLocked(t, Error)
			logs = append(logs, fmt.Sprintf("Change %s task (%s) failed: %s", c.id, t.summary, k.Unstarted))
		default:
			t.addLogLocked("INFO", "Not run: the daemon stopped before this task started")
			m.setStatusLocked(t, Hold)
		}
	}
	m.updateLocked(c)
	return logs
}

// errUpgraded is the error of a running task that a daemon taking over from
// an upgraded one cannot carry on (its kind has no Resume).
var errUpgraded = errors.New("interrupted by an upgrade of the daemon, not retrying")

// resumeLocked carries on a change that was unfinished when an upgraded
// daemon handed over to this one: running tasks of a kind with Resume are
// run again with it, other running tasks are resolved as interrupted (with
// what waits for them held on an error saying so), and tasks not yet started are left
// to run. It returns the daemon log lines to write.
func (m *Manager) resumeLocked(c *change) []string {
	var logs []string
	for _, t := range c.tasks {
		if t.status != Doing && t.status != Abort {
			continue
		}
		k, ok := m.kinds[t.kind]
		switch {
		case ok && t.status == Doing && k.Resume != nil:
			t.addLogLocked("INFO", "Resumed by the upgraded daemon")
			m.runLocked(t, k.Resume)
		case !ok || k.Run == nil:
			t.addLogLocked("INFO", fmt.Sprintf("no handler for task %q, task ignored", t.kind))
			m.completeLocked(t, nil)
		case k.Interrupted == "":
			m.completeLocked(t, nil)
		default:
			m.completeLocked(t, errUpgraded)
			logs = append(logs, fmt.Sprintf("Change %s task (%s) failed: %s", c.id, t.summary, errUpgraded))
		}
	}
	m.updateLocked(c)
	return logs
}

// Close cancels running handlers, waits for them to return, and stops the
// manager. Tasks are not started after Close. It does not close the Store.
func (m *Manager) Close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	m.cancel()
	close(m.done)
	m.mu.Unlock()
	m.wg.Wait()
	m.markDirty()
	m.deliver()
}

// NewLane returns a new lane number.
func (m *Manager) NewLane() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastLane++
	return m.lastLane
}

// Add creates a change and, once the manager is started, starts its tasks
// that wait for nothing. A change without tasks is Hold (and so ready) at
// once; see AddDone for one that is Done.
func (m *Manager) Add(nc NewChange) ChangeInfo {
	return m.add(nc, false)
}

// AddDone creates a change that is Done and ready from the start (for
// example "Replan - no services"). Its tasks, if any, are recorded as Done
// and never run.
func (m *Manager) AddDone(nc NewChange) ChangeInfo {
	return m.add(nc, true)
}

func (m *Manager) add(nc NewChange, done bool) ChangeInfo {
	datas := make([]json.RawMessage, len(nc.Tasks))
	for i, ts := range nc.Tasks {
		for _, w := range ts.WaitFor {
			if w < 0 || w >= i {
				panic(fmt.Sprintf("changes: task %d of change %q waits for task %d, which is not an earlier one", i, nc.Summary, w))
			}
		}
		if ts.Data == nil {
			continue
		}
		b, err := json.Marshal(ts.Data)
		if err != nil {
			panic(fmt.Sprintf("changes: cannot marshal data of task %q: %v", ts.Summary, err))
		}
		datas[i] = b
	}

	m.mu.Lock()
	now := m.now()
	m.lastChange++
	c := &change{
		id:          strconv.Itoa(m.lastChange),
		kind:        nc.Kind,
		summary:     nc.Summary,
		services:    slices.Clone(nc.Services),
		data:        nc.Data,
		keepPending: nc.KeepPending,
		tasks:       make([]*Task, len(nc.Tasks)),
		spawnTime:   now,
		ready:       make(chan struct{}),
	}
	if len(nc.NoticeData) > 0 {
		c.noticeData = maps.Clone(nc.NoticeData)
		c.noticeData["kind"] = nc.Kind
	}
	for i, ts := range nc.Tasks {
		m.lastTask++
		t := &Task{
			m:         m,
			change:    c,
			id:        strconv.Itoa(m.lastTask),
			kind:      ts.Kind,
			summary:   ts.Summary,
			lanes:     slices.Clone(ts.Lanes),
			status:    Do,
			data:      datas[i],
			spawnTime: now,
		}
		if len(ts.WaitFor) > 0 {
			t.waitFor = make([]*Task, len(ts.WaitFor))
			for j, w := range ts.WaitFor {
				dep := c.tasks[w]
				t.waitFor[j] = dep
				dep.halts = append(dep.halts, t)
			}
			t.pending = len(t.waitFor)
		}
		if done {
			t.status = Done
			t.readyTime = now
			t.pending = 0
		}
		c.tasks[i] = t
		c.counts[t.status]++
		m.tasks[t.id] = t
	}
	if done {
		c.explicit = Done
	}
	c.status = c.derive()
	if c.status.Ready() {
		c.readyTime = now
		close(c.ready)
	}
	m.changes[c.id] = c
	m.order = append(m.order, c)
	if m.onStatus != nil {
		m.events = append(m.events, m.infoLocked(c))
	}
	if m.started && !m.closed {
		for _, t := range c.tasks {
			if t.status == Do && t.pending == 0 {
				m.launchLocked(t)
			}
		}
		m.updateLocked(c)
	}
	info := m.infoLocked(c)
	m.mu.Unlock()
	m.markDirty()
	m.deliver()
	return info
}

// Change returns the change with the given ID, or an error matching
// ErrNotFound.
func (m *Manager) Change(id string) (ChangeInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.changes[id]
	if c == nil {
		return ChangeInfo{}, changeNotFound(id)
	}
	return m.infoLocked(c), nil
}

// Changes returns the selected changes in creation order. A non-empty
// service keeps only changes whose NewChange.Services named it.
func (m *Manager) Changes(sel Select, service string) []ChangeInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []ChangeInfo
	for _, c := range m.order {
		switch {
		case sel == SelectInProgress && c.status.Ready(),
			sel == SelectReady && !c.status.Ready(),
			service != "" && !slices.Contains(c.services, service):
			continue
		}
		out = append(out, m.infoLocked(c))
	}
	return out
}

// Task returns a task and its change, or an error matching ErrNotFound.
func (m *Manager) Task(id string) (TaskInfo, ChangeInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.tasks[id]
	if t == nil {
		return TaskInfo{}, ChangeInfo{}, taskNotFound(id)
	}
	return t.infoLocked(), m.infoLocked(t.change), nil
}

// Wait returns the change once it is ready. It returns ctx's error when ctx
// ends first, ErrClosed when the manager closes first, and an error matching
// ErrNotFound for an unknown (or meanwhile pruned) change. It starts no
// goroutine.
func (m *Manager) Wait(ctx context.Context, id string) (ChangeInfo, error) {
	m.mu.Lock()
	c := m.changes[id]
	if c == nil {
		m.mu.Unlock()
		return ChangeInfo{}, changeNotFound(id)
	}
	ready := c.ready
	m.mu.Unlock()
	select {
	case <-ready:
	default:
		select {
		case <-ready:
		case <-ctx.Done():
			return ChangeInfo{}, ctx.Err()
		case <-m.done:
			select {
			case <-ready:
			default:
				return ChangeInfo{}, ErrClosed
			}
		}
	}
	return m.Change(id)
}

// Abort flags a change: tasks not started yet go on Hold, running tasks go to
// Abort and their handler's context is cancelled (when the handler returns,
// the task becomes Error or Done as usual). It returns the change as it is
// right after flagging. A ready change gives an error matching
// ErrNothingPending, an unknown one an error matching ErrNotFound.
func (m *Manager) Abort(id string) (ChangeInfo, error) {
	m.mu.Lock()
	c := m.changes[id]
	if c == nil {
		m.mu.Unlock()
		return ChangeInfo{}, changeNotFound(id)
	}
	if c.status.Ready() {
		m.mu.Unlock()
		return ChangeInfo{}, &idError{fmt.Sprintf("cannot abort change %s with nothing pending", id), ErrNothingPending}
	}
	m.abortLocked(c)
	info := m.infoLocked(c)
	m.mu.Unlock()
	m.markDirty()
	m.deliver()
	return info, nil
}

func (m *Manager) abortLocked(c *change) {
	running := false
	for _, t := range c.tasks {
		switch t.status {
		case Do, Wait:
			m.setStatusLocked(t, Hold)
		case Doing:
			m.setStatusLocked(t, Abort)
			running = true
		}
	}
	if running && c.cancel != nil {
		c.cancel()
	}
	m.updateLocked(c)
}

// derive computes the change's status from its tasks.
func (c *change) derive() Status {
	if c.explicit != Default {
		return c.explicit
	}
	return deriveStatus(&c.counts, c.blockedByWait)
}

// blockedByWait reports whether every task of c that is not ready is in Wait
// or waits, directly or not, for a task in Wait.
func (c *change) blockedByWait() bool {
	memo := make(map[*Task]bool)
	var blocked func(t *Task) bool
	blocked = func(t *Task) bool {
		if t.status == Wait {
			return true
		}
		if v, ok := memo[t]; ok {
			return v
		}
		memo[t] = false
		for _, w := range t.waitFor {
			if blocked(w) {
				memo[t] = true
				return true
			}
		}
		return false
	}
	for _, t := range c.tasks {
		if !t.status.Ready() && !blocked(t) {
			return false
		}
	}
	return true
}

// setStatusLocked moves a task to status s. The caller calls updateLocked on
// the change afterwards.
func (m *Manager) setStatusLocked(t *Task, s Status) {
	c := t.change
	c.counts[t.status]--
	c.counts[s]++
	t.status = s
	if s.Ready() {
		t.readyTime = m.now()
	}
	t.json = nil
	c.json = nil
}

// updateLocked recomputes a change's status after its tasks changed, records
// readiness and queues the OnStatus event.
func (m *Manager) updateLocked(c *change) {
	old := c.status
	s := c.derive()
	if s == old {
		return
	}
	c.status = s
	c.json = nil
	if s.Ready() && !old.Ready() {
		c.readyTime = m.now()
		close(c.ready)
		if c.cancel != nil {
			c.cancel()
			c.ctx, c.cancel = nil, nil
		}
	}
	if m.onStatus != nil && !isFlip(old, s) {
		m.events = append(m.events, m.infoLocked(c))
	}
}

func (m *Manager) infoLocked(c *change) ChangeInfo {
	info := ChangeInfo{
		ID:        c.id,
		Kind:      c.kind,
		Summary:   c.summary,
		Status:    c.status,
		Ready:     c.status.Ready(),
		SpawnTime: c.spawnTime,
		ReadyTime: c.readyTime,
		Services:  slices.Clone(c.services),
		Data:      c.data,
	}
	if c.noticeData == nil {
		c.noticeData = map[string]string{"kind": c.kind}
	}
	info.NoticeData = c.noticeData
	if c.status == Error {
		info.Err = c.errText()
	}
	if len(c.tasks) > 0 {
		info.Tasks = make([]TaskInfo, len(c.tasks))
		for i, t := range c.tasks {
			info.Tasks[i] = t.infoLocked()
		}
	}
	return info
}

// errText is the err field of a change in Error (api.md §10.1).
func (c *change) errText() string {
	b := []byte("cannot perform the following tasks:")
	for _, t := range c.tasks {
		if t.status != Error {
			continue
		}
		for _, e := range t.log {
			if text, ok := cutLevel(e, "ERROR"); ok {
				b = fmt.Appendf(b, "\n- %s (%s)", t.summary, text)
			}
		}
	}
	return string(b)
}

// markDirty tells the store the section changed. The write may wait to
// join others (statefile.Store.MarkLazy): what a change or task did is news
// to no client until one asks, and every answer that reports a change (the
// async answer naming a new one, and every read of changes) waits for the
// state file first, so a start of a thousand services costs a write per
// lazy delay rather than one per task transition.
func (m *Manager) markDirty() {
	if m.store != nil {
		m.store.MarkLazy()
	}
}

// deliver calls OnStatus for queued events, in order, with no lock held. If
// another goroutine is already delivering, it leaves the events to it.
func (m *Manager) deliver() {
	if m.onStatus == nil {
		return
	}
	for {
		m.mu.Lock()
		empty := len(m.events) == 0
		m.mu.Unlock()
		if empty || !m.deliverMu.TryLock() {
			return
		}
		for {
			m.mu.Lock()
			if len(m.events) == 0 {
				m.events = nil
				m.mu.Unlock()
				break
			}
			ev := m.events[0]
			m.events[0] = ChangeInfo{}
			m.events = m.events[1:]
			m.mu.Unlock()
			m.onStatus(ev)
		}
		m.deliverMu.Unlock()
	}
}
