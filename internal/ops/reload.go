package ops

import (
	"context"
	"errors"
	"slices"

	"github.com/pebble-project/pebble/internal/apierr"
	"github.com/pebble-project/pebble/internal/changes"
	"github.com/pebble-project/pebble/internal/servstate"
)

// kindReload is the task kind, and the change kind, of the reload action
// (docs/stop-and-reload.md).
const kindReload = "reload"

func (o *Ops) registerReloadTask() {
	o.changes.Register(kindReload, changes.Kind{
		Run:         o.runReload,
		Interrupted: "daemon stopped while reloading the service, not retrying",
	})
}

func (o *Ops) runReload(ctx context.Context, t *changes.Task) error {
	var data serviceTask
	if err := t.Get(&data); err != nil {
		return err
	}
	return o.services.Reload(ctx, data.Service, t)
}

// reloadAction makes the change of a reload action: one task per named
// service, all at once. Every service must be in the plan, running and
// have a reload method; otherwise the action fails (400) before any change
// is made.
func (o *Ops) reloadAction(names []string) (changes.NewChange, error) {
	var lanes [][]string
	for _, name := range names {
		if slices.ContainsFunc(lanes, func(l []string) bool { return l[0] == name }) {
			continue
		}
		if err := o.services.CanReload(name); err != nil {
			if errors.Is(err, servstate.ErrNotFound) {
				return changes.NewChange{}, apierr.Errorf(apierr.BadRequest, "cannot reload services: service %q does not exist", name)
			}
			return changes.NewChange{}, apierr.Errorf(apierr.BadRequest, "%v", err)
		}
		lanes = append(lanes, []string{name})
	}
	return changes.NewChange{
		Kind:     kindReload,
		Summary:  summary(kindReload, names[0], len(lanes)),
		Services: names,
		Tasks:    o.laneTasks(kindReload, lanes, 0, nil),
	}, nil
}
