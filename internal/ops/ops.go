package ops

import (
	"context"
	"errors"

	"github.com/pebble-project/pebble/internal/apierr"
	"github.com/pebble-project/pebble/internal/changes"
	"github.com/pebble-project/pebble/internal/checks"
	"github.com/pebble-project/pebble/internal/execs"
	"github.com/pebble-project/pebble/internal/identities"
	"github.com/pebble-project/pebble/internal/notices"
	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/planstate"
	"github.com/pebble-project/pebble/internal/servstate"
)

// Options are the parts Ops works with. Verbs do not wait for the state
// file: the API syncs it once before it answers (internal/daemon's route
// table says which answers).
type Options struct {
	Plans    *planstate.State
	Services *servstate.Manager
	Changes  *changes.Manager
	Checks   *checks.Manager
	// Notices records and answers notices; required for the notice verbs.
	Notices *notices.Manager
	// Identities holds the identities; required for the identity verbs.
	Identities *identities.Manager
	// SecurityEvent writes security events (behaviour.md §12); nil
	// discards them.
	SecurityEvent func(level, event, description string)
	// Execs runs exec commands; nil makes one that logs nothing.
	Execs *execs.Manager
}

// Ops carries out the API's verbs.
type Ops struct {
	plans    *planstate.State
	services *servstate.Manager
	changes  *changes.Manager
	checks   *checks.Manager

	notices       *notices.Manager
	identities    *identities.Manager
	securityEvent func(level, event, description string)
	execs         *execs.Manager
}

// New builds Ops and registers its task kinds with the changes manager, which
// must not have been started yet.
func New(opts Options) *Ops {
	o := &Ops{plans: opts.Plans, services: opts.Services, changes: opts.Changes,
		notices: opts.Notices, identities: opts.Identities, securityEvent: opts.SecurityEvent}
	if o.securityEvent == nil {
		o.securityEvent = func(string, string, string) {}
	}
	o.checks = opts.Checks
	o.execs = opts.Execs
	if o.execs == nil {
		o.execs = execs.New(execs.Options{})
	}
	o.registerServiceTasks()
	o.registerExecTasks()
	return o
}

// AddLayer adds a layer given over the API (layers.md §8). Services are not
// restarted; the new plan takes effect on the next start or replan.
func (o *Ops) AddLayer(label string, layer []byte, combine, inner bool) error {
	err := o.plans.AddLayer(label, layer, combine, inner)
	var invalid *planstate.InvalidLayerError
	if errors.As(err, &invalid) {
		return apierr.Errorf(apierr.BadRequest, "%s", err.Error())
	}
	return err
}

// PlanYAML returns the current plan in the format of layers.md §9.
func (o *Ops) PlanYAML() ([]byte, error) {
	return o.plans.Plan().YAML()
}

// Changes lists changes.
func (o *Ops) Changes(sel changes.Select, service string) []changes.ChangeInfo {
	return o.changes.Changes(sel, service)
}

func changeError(id string, err error) error {
	if errors.Is(err, changes.ErrNotFound) {
		return apierr.Errorf(apierr.NotFound, "cannot find change with id %q", id)
	}
	if errors.Is(err, changes.ErrNothingPending) {
		return apierr.Errorf(apierr.BadRequest, "cannot abort change %s with nothing pending", id)
	}
	return err
}

// Change returns one change.
func (o *Ops) Change(id string) (changes.ChangeInfo, error) {
	c, err := o.changes.Change(id)
	return c, changeError(id, err)
}

// WaitChange waits until a change is ready or ctx ends; a ctx error is
// returned as it is.
func (o *Ops) WaitChange(ctx context.Context, id string) (changes.ChangeInfo, error) {
	c, err := o.changes.Wait(ctx, id)
	if err != nil && ctx.Err() != nil {
		return c, ctx.Err()
	}
	return c, changeError(id, err)
}

// AbortChange aborts a change and returns it as it is right after flagging.
func (o *Ops) AbortChange(id string) (changes.ChangeInfo, error) {
	c, err := o.changes.Abort(id)
	if err != nil {
		return c, changeError(id, err)
	}
	return c, nil
}

// Healthy reports health (api.md §7): false when a participating check is
// down. It only reads the checks' current status, so it never waits for a
// check to run.
func (o *Ops) Healthy(level string, names []string) (bool, error) {
	return o.checks.Healthy(plan.CheckLevel(level), names), nil
}
