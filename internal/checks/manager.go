package checks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pebble-project/pebble/internal/changes"
	"github.com/pebble-project/pebble/internal/plan"
)

// The change and task kinds that drive a check (api.md §10.4).
const (
	KindPerform = "perform-check"
	KindRecover = "recover-check"
)

// Status is a check's status as the API reports it.
type Status string

// The check statuses.
const (
	StatusUp       Status = "up"
	StatusDown     Status = "down"
	StatusInactive Status = "inactive"
)

// FailureHandler is told when a check hits its failure threshold, once per
// down-transition. servstate.Manager implements it (on-check-failure).
type FailureHandler interface {
	CheckFailed(check string)
}

// SuccessHandler is told after every successful run of a check.
// servstate.Manager implements it (readiness checks, docs/readiness.md).
type SuccessHandler interface {
	CheckSucceeded(check string)
}

// Options configure a Manager.
type Options struct {
	// Changes runs the perform-check and recover-check changes; required.
	// New registers the two task kinds, so it must not be started yet.
	Changes *changes.Manager
	// OnFailure is told when a check hits its threshold; nil ignores it.
	// It is called from the check's goroutine without any lock held.
	OnFailure FailureHandler
	// OnSuccess is told after every success; nil ignores it. It is called
	// like OnFailure.
	OnSuccess SuccessHandler
	// Logf writes daemon log lines; nil discards them.
	Logf func(format string, args ...any)
	// NewChecker returns the checker of a check configuration; required.
	// The daemon passes internal/checks/checker's New, tests may pass
	// fakes.
	NewChecker func(c *plan.Check) Checker
}

// Info is a snapshot of one check (api.md §12.1).
type Info struct {
	Name  string
	Level plan.CheckLevel
	// Startup is "enabled" or "disabled" (unset reads as enabled).
	Startup   plan.CheckStartup
	Status    Status
	Successes int
	Failures  int
	Threshold int
	// ChangeID is the change driving the check; "" when inactive.
	ChangeID string
	// PrevChangeID is the change that drove it before, if any.
	PrevChangeID string
}

// Metric is a check's counters since the daemon started (api.md §8).
type Metric struct {
	Name      string
	Status    Status
	Successes int64
	Failures  int64
}

// ErrNotFound is wrapped by errors about checks that are not in the plan.
var ErrNotFound = errors.New("check not found")

// NotFoundError names the checks a request asked for that are not in the
// plan; its text is "cannot find checks in plan: a, b".
type NotFoundError struct {
	// Names are sorted.
	Names []string
}

func (e *NotFoundError) Error() string {
	return "cannot find checks in plan: " + strings.Join(e.Names, ", ")
}

func (e *NotFoundError) Unwrap() error { return ErrNotFound }

// Manager runs the plan's checks. Its methods are safe for concurrent use.
type Manager struct {
	changes   *changes.Manager
	onFailure FailureHandler
	onSuccess SuccessHandler
	logf      func(format string, args ...any)
	newCk     func(c *plan.Check) Checker

	ctx    context.Context // ended by Close; every check loop ends with it
	cancel context.CancelFunc
	wg     sync.WaitGroup // check loops

	mu     sync.Mutex
	checks map[string]*check
	runs   map[string]*run // by change ID, until the loop ends
	closed bool
	// handedOver is set while results are not counted (handover.go).
	handedOver bool
	// changed is closed, and replaced, when a check's status or counters
	// may have changed (Changed).
	changed chan struct{}
}

// check is the manager's record of one check in the plan; guarded by
// Manager.mu.
type check struct {
	name      string
	cfg       *plan.Check // effective configuration
	private   bool        // its output stays out of its task log (outputPrivate)
	successes int
	failures  int
	prevID    string // the change that drove it before, if any
	run       *run   // nil while inactive

	metricSuccesses int64
	metricFailures  int64
}

// run is one change driving a check, with the configuration it was started
// with.
type run struct {
	check    *check
	cfg      *plan.Check
	kind     string
	changeID string
	// graceUntil is the end of the check's start-period (startperiod.go),
	// zero when it has none or it ended at a success; guarded by m.mu.
	graceUntil time.Time
	refresh    chan *refreshRequest
	done       chan struct{} // closed once the run no longer serves refreshes
	doneOnce   sync.Once
}

func (r *run) end() { r.doneOnce.Do(func() { close(r.done) }) }

// New returns a Manager and registers its task kinds with opts.Changes.
// Checks start when SetPlan gives it a plan.
func New(opts Options) *Manager {
	if opts.Changes == nil || opts.NewChecker == nil {
		panic("checks: Options.Changes and Options.NewChecker are required")
	}
	m := &Manager{
		changes:   opts.Changes,
		onFailure: opts.OnFailure,
		onSuccess: opts.OnSuccess,
		logf:      opts.Logf,
		newCk:     opts.NewChecker,
		checks:    make(map[string]*check),
		runs:      make(map[string]*run),
		changed:   make(chan struct{}),
	}
	if m.logf == nil {
		m.logf = func(string, ...any) {}
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	// A check task left running by a previous daemon is marked Done on
	// restart (Interrupted ""), and fresh changes replace it (§7.8); one
	// handed over by an upgraded daemon goes on with its run (TakeOver).
	opts.Changes.Register(KindPerform, changes.Kind{Run: m.runTask, Resume: m.runTask})
	opts.Changes.Register(KindRecover, changes.Kind{Run: m.runTask, Resume: m.runTask})
	return m
}

// Close stops every check loop and waits for them to end; their tasks end
// Done and the checks read as inactive. Nothing starts afterwards.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	m.notifyLocked()
	var ended []*run
	for _, r := range m.runs {
		m.endRunLocked(r)
		ended = append(ended, r)
	}
	m.mu.Unlock()
	for _, r := range ended {
		r.end()
	}
	m.cancel()
	m.wg.Wait()
}

// SetPlan applies a new plan (behaviour.md §7.8): checks removed from the
// plan stop and are forgotten; running checks whose effective configuration
// changed restart with their counters reset; checks that are not running
// start if their startup is enabled or unset; new disabled checks are
// registered inactive. It is meant for planstate's Subscribe.
func (m *Manager) SetPlan(p *plan.Plan) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	m.notifyLocked() // a new threshold may change a status
	for name, c := range m.checks {
		if p.Checks[name] == nil {
			m.stopLocked(c)
			delete(m.checks, name)
		}
	}
	for _, name := range sortedKeys(p.Checks) {
		cfg := effectiveConfig(p, p.Checks[name])
		c := m.checks[name]
		if c != nil {
			c.private = outputPrivate(p, cfg)
		}
		switch {
		case c == nil:
			c = &check{name: name, cfg: cfg, private: outputPrivate(p, cfg)}
			m.checks[name] = c
		case c.run != nil && !sameRun(c.cfg, cfg):
			m.stopLocked(c)
			c.cfg = cfg
			m.startLocked(c, KindPerform, false, true)
			continue
		default:
			c.cfg = cfg
		}
		if c.run == nil && cfg.Enabled() {
			m.startLocked(c, KindPerform, false, true)
		}
	}
}

// Replan starts every check whose startup is enabled or unset and that is
// inactive (behaviour.md §6.5 step 5). It returns the names started, sorted.
func (m *Manager) Replan() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var started []string
	for _, name := range sortedKeys(m.checks) {
		c := m.checks[name]
		if c.run == nil && c.cfg.Enabled() && !m.closed {
			m.startLocked(c, KindPerform, false, true)
			started = append(started, name)
		}
	}
	return started
}

// StartChecks starts the named checks that are inactive, with their
// counters reset, and returns their names, sorted. Unknown names fail the
// whole request with a *NotFoundError and start nothing.
func (m *Manager) StartChecks(names []string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.findLocked(names); err != nil {
		return nil, err
	}
	var started []string
	for _, name := range uniqueSorted(names) {
		c := m.checks[name]
		if c.run == nil && !m.closed {
			m.startLocked(c, KindPerform, false, true)
			started = append(started, name)
		}
	}
	return started, nil
}

// StopChecks stops the named checks that are running and returns their
// names, sorted. Their changes end Done; successes, failures and the
// previous change ID are kept. Unknown names fail the whole request with a
// *NotFoundError and stop nothing.
func (m *Manager) StopChecks(names []string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.findLocked(names); err != nil {
		return nil, err
	}
	var stopped []string
	for _, name := range uniqueSorted(names) {
		c := m.checks[name]
		if c.run != nil {
			m.stopLocked(c)
			stopped = append(stopped, name)
		}
	}
	return stopped, nil
}

func (m *Manager) findLocked(names []string) error {
	var missing []string
	for _, name := range uniqueSorted(names) {
		if m.checks[name] == nil {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return &NotFoundError{Names: missing}
	}
	return nil
}

// startLocked creates the change that drives c from now on. transition
// records the current change as the previous one; reset zeroes the counters.
func (m *Manager) startLocked(c *check, kind string, transition, reset bool) {
	verb := "Perform"
	if kind == KindRecover {
		verb = "Recover"
	}
	summary := fmt.Sprintf("%s %s check %q", verb, checkType(c.cfg), c.name)
	r := &run{
		check:   c,
		cfg:     c.cfg,
		kind:    kind,
		refresh: make(chan *refreshRequest),
		done:    make(chan struct{}),
	}
	// The task's handler looks its run up under m.mu, so it waits until the
	// run is recorded below.
	// The change lasts as long as the check's phase, however long that
	// is, and its change-update notices name the check (api.md §13.1).
	info := m.changes.Add(changes.NewChange{
		Kind:        kind,
		Summary:     summary,
		Tasks:       []changes.TaskSpec{{Kind: kind, Summary: summary}},
		NoticeData:  map[string]string{"check-name": c.name},
		KeepPending: true,
	})
	r.changeID = info.ID
	m.runs[info.ID] = r
	if transition {
		c.prevID = c.changeIDLocked()
	}
	if reset {
		c.successes, c.failures = 0, 0
		if kind == KindPerform {
			r.graceUntil = startPeriodEnd(c.cfg, time.Now())
		}
	}
	c.run = r
	m.notifyLocked()
}

// stopLocked aborts the change driving c, if any; it ends Done.
func (m *Manager) stopLocked(c *check) {
	r := c.run
	if r == nil {
		return
	}
	c.run = nil
	m.notifyLocked()
	r.end()
	m.changes.Abort(r.changeID) // an error means it already ended
}

// Changed returns a channel that is closed at the next change of a check's
// status or counters (Metrics, Checks). A waiter takes the channel, reads
// the checks, and reads them again once it is closed, so no change is
// missed.
func (m *Manager) Changed() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.changed
}

// notifyLocked wakes the waiters on Changed.
func (m *Manager) notifyLocked() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// Checks returns the checks in the plan, sorted by name, keeping those whose
// level is level (exact match; unset keeps all) and, if names is not empty,
// whose name is in names.
func (m *Manager) Checks(level plan.CheckLevel, names []string) []Info {
	m.mu.Lock()
	defer m.mu.Unlock()
	infos := make([]Info, 0, len(m.checks))
	for _, name := range sortedKeys(m.checks) {
		c := m.checks[name]
		if level != plan.UnsetLevel && c.cfg.Level != level {
			continue
		}
		if len(names) > 0 && !slices.Contains(names, name) {
			continue
		}
		infos = append(infos, c.infoLocked())
	}
	return infos
}

// Healthy aggregates the status of the checks as api.md §7 says.
func (m *Manager) Healthy(level plan.CheckLevel, names []string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for name, c := range m.checks {
		if participates(c.cfg.Level, level) && (len(names) == 0 || slices.Contains(names, name)) &&
			c.statusLocked() == StatusDown {
			return false
		}
	}
	return true
}

// participates reports whether a check of level checkLevel counts in a
// health query for level query: every check when query is unset; alive
// checks for alive; ready and alive checks for ready (not-alive implies
// not-ready). A check without a level counts only in the unfiltered query.
func participates(checkLevel, query plan.CheckLevel) bool {
	switch query {
	case plan.UnsetLevel:
		return true
	case plan.AliveLevel:
		return checkLevel == plan.AliveLevel
	case plan.ReadyLevel:
		return checkLevel == plan.ReadyLevel || checkLevel == plan.AliveLevel
	}
	return false
}

// Metrics returns the counters of every check in the plan, sorted by name.
func (m *Manager) Metrics() []Metric {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Metric, 0, len(m.checks))
	for _, name := range sortedKeys(m.checks) {
		c := m.checks[name]
		out = append(out, Metric{Name: name, Status: c.statusLocked(), Successes: c.metricSuccesses, Failures: c.metricFailures})
	}
	return out
}

func (c *check) statusLocked() Status {
	switch {
	case c.run == nil:
		return StatusInactive
	case c.failures >= c.cfg.EffectiveThreshold():
		return StatusDown
	}
	return StatusUp
}

// changeIDLocked is the change driving c; "" when inactive.
func (c *check) changeIDLocked() string {
	if c.run == nil {
		return ""
	}
	return c.run.changeID
}

func (c *check) infoLocked() Info {
	startup := plan.CheckStartupEnabled
	if !c.cfg.Enabled() {
		startup = plan.CheckStartupDisabled
	}
	return Info{
		Name:         c.name,
		Level:        c.cfg.Level,
		Startup:      startup,
		Status:       c.statusLocked(),
		Successes:    c.successes,
		Failures:     c.failures,
		Threshold:    c.cfg.EffectiveThreshold(),
		ChangeID:     c.changeIDLocked(),
		PrevChangeID: c.prevID,
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func uniqueSorted(names []string) []string {
	out := slices.Clone(names)
	sort.Strings(out)
	return slices.Compact(out)
}
