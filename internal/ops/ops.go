package ops

import (
	"errors"

	"github.com/pebble-project/pebble/internal/apierr"
	"github.com/pebble-project/pebble/internal/changes"
	"github.com/pebble-project/pebble/internal/checks"
	"github.com/pebble-project/pebble/internal/execs"
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
	// Checks are started by replan (behaviour.md §6.5).
	Checks *checks.Manager
	// Execs runs exec commands; nil makes one that logs nothing.
	Execs *execs.Manager
}

// Ops carries out the API's verbs.
type Ops struct {
	plans    *planstate.State
	services *servstate.Manager
	changes  *changes.Manager
	checks   *checks.Manager
	execs    *execs.Manager
}

// New builds Ops and registers its task kinds with the changes manager, which
// must not have been started yet.
func New(opts Options) *Ops {
	o := &Ops{plans: opts.Plans, services: opts.Services, changes: opts.Changes,
		checks: opts.Checks, execs: opts.Execs}
	if o.execs == nil {
		o.execs = execs.New(execs.Options{})
	}
	o.registerServiceTasks()
	o.registerExecTasks()
	return o
}

// AddLayer adds a layer given over the API (layers.md §8). Services are not
// restarted; the new plan takes effect on the next start or replan.
func (o *Ops) AddLayer(layer *plan.Layer, combine, inner bool) error {
	err := o.plans.AddLayer(layer, combine, inner)
	var invalid *planstate.InvalidLayerError
	if errors.As(err, &invalid) {
		return apierr.Errorf(apierr.BadRequest, "%s", err.Error())
	}
	return err
}
