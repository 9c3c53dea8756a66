package workflow

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/pebble-project/pebble/internal/changes"
	"github.com/pebble-project/pebble/internal/checks"
	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/servstate"
)

// runStep is the handler of a step's task: it tries the step once, and
// again up to its retries while it fails, each attempt within the step's
// timeout. An aborted change is not retried.
func (r *Runner) runStep(ctx context.Context, t *changes.Task) error {
	var d stepData
	if err := t.Get(&d); err != nil {
		return err
	}
	// The task is Doing on disk before the step acts, so a daemon killed
	// from now on leaves it recorded as interrupted, never as not started.
	if r.sync != nil {
		if err := r.sync(ctx); err != nil {
			return fmt.Errorf("cannot record the step's start: %w", err)
		}
	}
	attempts := 1 + d.Retries
	for i := 1; ; i++ {
		err := r.attempt(ctx, t, &d)
		switch {
		case err == nil:
			if i > 1 {
				t.Logf("Attempt %d of %d succeeded", i, attempts)
			}
			return nil
		case ctx.Err() != nil:
			return err
		case i == attempts && attempts > 1:
			return fmt.Errorf("attempt %d of %d failed: %w", i, attempts, err)
		case i == attempts:
			return err
		}
		t.Logf("Attempt %d of %d failed: %v; trying again", i, attempts, err)
	}
}

// attempt does the step once, within its timeout.
func (r *Runner) attempt(ctx context.Context, t *changes.Task, d *stepData) error {
	if d.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.Timeout)
		defer cancel()
	}
	err := r.act(ctx, t, d)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("timed out after %v", d.Timeout)
		}
		return fmt.Errorf("timed out after %v: %w", d.Timeout, err)
	}
	return err
}

func (r *Runner) act(ctx context.Context, t *changes.Task, d *stepData) error {
	switch d.Action {
	case plan.StepStart:
		return r.start(ctx, t, d.Target)
	case plan.StepStop:
		return r.stop(ctx, t, d.Target)
	case plan.StepRestart:
		if err := r.services.Stop(ctx, d.Target, t); err != nil {
			return err
		}
		return r.start(ctx, t, d.Target)
	case plan.StepRun:
		return r.services.StartWithEnv(ctx, d.Target, t, d.Params)
	case plan.StepExec:
		return r.exec(ctx, t, d)
	case plan.StepWaitCheck:
		return r.waitCheck(ctx, t, d.Target)
	}
	return fmt.Errorf("cannot run step: unknown action %q", d.Action)
}

// start starts the service and what it requires, in the plan's order, as
// `pebble start` does.
func (r *Runner) start(ctx context.Context, t *changes.Task, name string) error {
	return r.inOrder(ctx, t, name, "start", (*plan.Plan).StartOrder, r.services.Start)
}

// stop stops the service and what requires it, in the plan's order, as
// `pebble stop` does.
func (r *Runner) stop(ctx context.Context, t *changes.Task, name string) error {
	return r.inOrder(ctx, t, name, "stop", (*plan.Plan).StopOrder, r.services.Stop)
}

// inOrder applies act to every service of the lanes order gives for name,
// lane after lane, stopping at the first error.
func (r *Runner) inOrder(ctx context.Context, t *changes.Task, name, verb string,
	order func(*plan.Plan, []string) ([][]string, error),
	act func(context.Context, string, servstate.TaskLog) error) error {
	lanes, err := order(r.plans.Plan(), []string{name})
	if err != nil {
		return fmt.Errorf("cannot %s service %q: %w", verb, name, err)
	}
	for _, lane := range lanes {
		for _, svc := range lane {
			if err := act(ctx, svc, t); err != nil {
				return err
			}
		}
	}
	return nil
}

// exec runs the step's command; the run's parameters are added to the
// step's environment, on top of it.
func (r *Runner) exec(ctx context.Context, t *changes.Task, d *stepData) error {
	e := &plan.ExecCheck{Command: d.Target}
	if x := d.Exec; x != nil {
		e.UserID, e.User, e.GroupID, e.Group, e.WorkingDir = x.UserID, x.User, x.GroupID, x.Group, x.WorkingDir
		e.Environment = maps.Clone(x.Environment)
	}
	if e.Environment == nil {
		e.Environment = map[string]string{}
	}
	maps.Copy(e.Environment, d.Params)
	e.Environment[stepEnv] = r.stepMarker(t.ID())
	c := r.newChecker(&plan.Check{Name: fmt.Sprintf("%s/%s/%d", d.Workflow, d.Phase, d.Step), Exec: e})
	defer c.Close()
	err := c.Check(ctx)
	var detailed interface{ ErrorDetails() string }
	if errors.As(err, &detailed) && detailed.ErrorDetails() != "" {
		t.Logf("Output:\n%s", detailed.ErrorDetails())
	}
	return err
}

// waitCheck waits until the check has succeeded since the step began and
// is up, reading its counters again at each change the checks manager
// reports. A check that is not running, or stops, fails the step at once.
func (r *Runner) waitCheck(ctx context.Context, t *changes.Task, name string) error {
	base, err := r.checkMetric(name)
	if err != nil {
		return err
	}
	for {
		changed := r.checks.Changed()
		m, err := r.checkMetric(name)
		if err != nil {
			return err
		}
		if m.Successes > base.Successes && m.Status == checks.StatusUp {
			t.Logf("Check %q is up", name)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}

func (r *Runner) checkMetric(name string) (checks.Metric, error) {
	for _, m := range r.checks.Metrics() {
		if m.Name != name {
			continue
		}
		if m.Status == checks.StatusInactive {
			return m, fmt.Errorf("check %q is not running", name)
		}
		return m, nil
	}
	return checks.Metric{}, fmt.Errorf("check %q is not in the plan", name)
}
