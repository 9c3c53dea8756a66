package workflow

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/pebble-project/pebble/internal/apierr"
	"github.com/pebble-project/pebble/internal/changes"
	"github.com/pebble-project/pebble/internal/checks"
	"github.com/pebble-project/pebble/internal/checks/checker"
	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/servstate"
)

// Services starts and stops services; internal/servstate's Manager
// satisfies it.
type Services interface {
	Start(ctx context.Context, name string, tl servstate.TaskLog) error
	// StartWithEnv is Start with env added to the environment of the
	// runs it launches.
	StartWithEnv(ctx context.Context, name string, tl servstate.TaskLog, env map[string]string) error
	Stop(ctx context.Context, name string, tl servstate.TaskLog) error
}

// Checks reports the checks' counters, and when they change;
// internal/checks' Manager satisfies it.
type Checks interface {
	Metrics() []checks.Metric
	// Changed returns a channel closed at the next change of the
	// counters or a status.
	Changed() <-chan struct{}
}

// Plans gives the current plan; internal/planstate's State satisfies it.
type Plans interface {
	Plan() *plan.Plan
}

// Options are the parts a Runner works with.
type Options struct {
	Plans    Plans
	Services Services
	Checks   Checks
	// Changes runs the steps; New registers the step kind, so it must not
	// be started yet.
	Changes *changes.Manager
	// Sync waits until the state file holds what was marked before the
	// call (statefile.Store.Sync); a step calls it before it acts. Nil
	// skips it (no state file).
	Sync func(ctx context.Context) error
	// NewChecker runs exec steps; nil means internal/checks/checker's New.
	NewChecker func(c *plan.Check) checks.Checker
	// Dir is $PEBBLE, which marks the processes of exec steps as this
	// daemon's (see killLeftovers).
	Dir string
	// Logf writes daemon log lines; nil discards them.
	Logf func(format string, args ...any)
}

// Runner runs workflows as changes.
type Runner struct {
	plans      Plans
	services   Services
	checks     Checks
	changes    *changes.Manager
	sync       func(ctx context.Context) error
	newChecker func(c *plan.Check) checks.Checker
	dir        string
}

// New builds a Runner and registers the step kind with the changes
// manager. It kills what exec steps of a killed daemon left running (see
// killLeftovers), so it must come before the changes manager starts.
func New(opts Options) *Runner {
	r := &Runner{
		plans: opts.Plans, services: opts.Services, checks: opts.Checks, changes: opts.Changes,
		sync: opts.Sync, newChecker: opts.NewChecker, dir: opts.Dir,
	}
	if r.newChecker == nil {
		r.newChecker = func(c *plan.Check) checks.Checker { return checker.New(c) }
	}
	r.changes.Register(StepKind, changes.Kind{
		Run:         r.runStep,
		Interrupted: "daemon stopped while this step was running; the step is not run again",
		Unstarted:   "daemon stopped before this step started; the step is not run",
	})
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	switch killed, err := r.killLeftovers(); {
	case err != nil:
		logf("Cannot kill processes left by workflow steps of a previous daemon: %v", err)
	case len(killed) > 0:
		logf("Killed processes left by workflow steps of a previous daemon: %s", strings.Join(killed, ", "))
	}
	return r
}

// Run starts a change that runs the workflow name of the current plan with
// params (given to exec and run steps as environment) and returns its ID.
func (r *Runner) Run(name string, params map[string]string) (string, error) {
	w := r.plans.Plan().Workflows[name]
	if w == nil {
		return "", apierr.Errorf(apierr.NotFound, "cannot find workflow %q", name)
	}
	if err := checkParams(params); err != nil {
		return "", apierr.Errorf(apierr.BadRequest, "cannot run workflow %q: %v", name, err)
	}
	return r.changes.Add(newChange(w, params)).ID, nil
}

// Info is a workflow of the plan with its last run.
type Info struct {
	Workflow *plan.Workflow
	// LastRun is the latest change that ran the workflow, nil if none is
	// kept.
	LastRun *RunInfo
}

// RunInfo is the state of one run.
type RunInfo struct {
	ChangeID  string
	Status    changes.Status
	SpawnTime time.Time
	// ReadyTime is zero while the run goes on.
	ReadyTime time.Time
}

// Workflows returns the plan's workflows in name order, or those named
// (unknown names are dropped), each with its last run.
func (r *Runner) Workflows(names []string) []Info {
	p := r.plans.Plan()
	last := map[string]*RunInfo{}
	for _, c := range r.changes.Changes(changes.SelectAll, "") {
		if name, ok := c.Data[dataKey].(string); ok && c.Kind == ChangeKind {
			last[name] = &RunInfo{ChangeID: c.ID, Status: c.Status, SpawnTime: c.SpawnTime, ReadyTime: c.ReadyTime}
		}
	}
	var out []Info
	for _, name := range sortedNames(p.Workflows, names) {
		out = append(out, Info{Workflow: p.Workflows[name], LastRun: last[name]})
	}
	return out
}

// sortedNames returns the keys of m, or those of names that are keys of m,
// sorted and without repeats.
func sortedNames(m map[string]*plan.Workflow, names []string) []string {
	var out []string
	for name := range m {
		if len(names) == 0 || slices.Contains(names, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
