package ops

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/apierr"
	"github.com/pebble-project/pebble/internal/changes"
	"github.com/pebble-project/pebble/internal/checks"
	"github.com/pebble-project/pebble/internal/checks/checker"
	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/planstate"
	"github.com/pebble-project/pebble/internal/servstate"
)

// newOps builds Ops on real parts: a plan from layer files, a service
// manager running real processes with a short okay delay, and an in-memory
// changes manager.
func newOps(t *testing.T, layer string) *Ops {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "layers"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "layers", "001-base.yaml"), []byte(layer), 0o644))
	plans, err := planstate.Load(filepath.Join(dir, "layers"))
	require.NoError(t, err)
	svc, err := servstate.New(servstate.Options{Dir: dir, OkayDelay: 50 * time.Millisecond, Logf: t.Logf})
	require.NoError(t, err)
	plans.Subscribe(svc.SetPlan)
	chg, err := changes.New(changes.Options{})
	require.NoError(t, err)
	chk := checks.New(checks.Options{Changes: chg, OnFailure: svc, Logf: t.Logf,
		NewChecker: func(c *plan.Check) checks.Checker { return checker.New(c) }})
	o := New(Options{Plans: plans, Services: svc, Changes: chg, Checks: chk})
	chg.Start()
	plans.Subscribe(chk.SetPlan)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if id, err := o.StopAll(); err == nil && id != "" {
			o.changes.Wait(ctx, id)
		}
		chk.Close()
		chg.Close()
		svc.Close()
	})
	return o
}

const chainLayer = `
services:
    db:
        override: replace
        command: sleep 300
        startup: enabled
    web:
        override: replace
        command: sleep 300
        startup: enabled
        requires: [db]
        after: [db]
    other:
        override: replace
        command: sleep 300
`

type taskShape struct {
	Summary string
	Status  string
}

func shape(c changes.ChangeInfo) []taskShape {
	var out []taskShape
	for _, t := range c.Tasks {
		out = append(out, taskShape{t.Summary, t.Status.String()})
	}
	return out
}

func run(t *testing.T, o *Ops, action string, names ...string) changes.ChangeInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	id, err := o.ServiceAction(action, names)
	require.NoError(t, err)
	c, err := o.changes.Wait(ctx, id)
	require.NoError(t, err)
	return c
}

func TestStartPullsInRequirementsInOrder(t *testing.T) {
	o := newOps(t, chainLayer)
	c := run(t, o, "start", "web")
	assert.Equal(t, "start", c.Kind)
	assert.Equal(t, `Start service "web" and 1 more`, c.Summary)
	assert.Equal(t, "Done", c.Status.String(), c.Err)
	assert.Equal(t, []taskShape{{`Start service "db"`, "Done"}, {`Start service "web"`, "Done"}}, shape(c))
	assert.Equal(t, []string{"web"}, c.Services, "the change records the requested names")
	assert.False(t, c.Tasks[1].ReadyTime.Before(c.Tasks[0].ReadyTime), "db is started before web")
}

func TestStopPullsInDependents(t *testing.T) {
	o := newOps(t, chainLayer)
	run(t, o, "start", "web")
	c := run(t, o, "stop", "db")
	assert.Equal(t, `Stop service "db" and 1 more`, c.Summary)
	assert.Equal(t, []taskShape{{`Stop service "web"`, "Done"}, {`Stop service "db"`, "Done"}}, shape(c))
}

func TestRestartStopsOnlyNamedServices(t *testing.T) {
	o := newOps(t, chainLayer)
	run(t, o, "start", "web")
	c := run(t, o, "restart", "db")
	assert.Equal(t, `Restart service "db"`, c.Summary)
	assert.Equal(t, []taskShape{{`Stop service "db"`, "Done"}, {`Start service "db"`, "Done"}}, shape(c))
	infos := o.services.Services([]string{"web"})
	require.Len(t, infos, 1)
	assert.Equal(t, "active", infos[0].Current, "the dependent was not stopped")
}

func TestAutostartAndReplan(t *testing.T) {
	o := newOps(t, chainLayer)
	c := run(t, o, "autostart")
	assert.Equal(t, `Autostart service "db" and 1 more`, c.Summary)
	assert.Equal(t, []string{"db", "web"}, c.Services)

	// Enabled services that already run get a no-op start task.
	c = run(t, o, "replan")
	assert.Equal(t, `Replan service "db" and 1 more`, c.Summary)
	assert.Equal(t, []taskShape{{`Start service "db"`, "Done"}, {`Start service "web"`, "Done"}}, shape(c))

	layer, err := plan.ParseLayer(0, "change", []byte(`
services:
    web:
        override: merge
        command: sleep 301
`))
	require.NoError(t, err)
	require.NoError(t, o.AddLayer(layer, false, false))
	c = run(t, o, "replan")
	assert.Equal(t, "Done", c.Status.String(), c.Err)
	assert.Equal(t, []taskShape{
		{`Stop service "web"`, "Done"},
		{`Start service "db"`, "Done"},
		{`Start service "web"`, "Done"},
	}, shape(c))
	assert.Contains(t, c.Tasks[1].Log[0], `Service "db" already started.`)
}

func TestReplanWithNothingToDo(t *testing.T) {
	o := newOps(t, "services:\n    a:\n        override: replace\n        command: sleep 1\n")
	c := run(t, o, "replan")
	assert.Equal(t, "Replan - no services", c.Summary)
	assert.Equal(t, "Done", c.Status.String())
	assert.Empty(t, c.Tasks)
	assert.False(t, c.ReadyTime.IsZero())
}

func TestActionErrors(t *testing.T) {
	o := newOps(t, chainLayer)
	tests := []struct {
		action string
		names  []string
		msg    string
		kind   string
	}{
		{"start", nil, "must specify services for start action", ""},
		{"bogus", nil, "must specify services for bogus action", ""},
		{"bogus", []string{"db"}, `invalid action "bogus"`, ""},
		{"replan", []string{"db"}, "replan accepts no service names", ""},
		{"autostart", []string{"db"}, "autostart accepts no service names", ""},
		{"start", []string{"nope"}, `cannot start services: service "nope" does not exist`, ""},
		{"stop", []string{"nope"}, `cannot stop services: service "nope" does not exist`, ""},
	}
	for _, tt := range tests {
		_, err := o.ServiceAction(tt.action, tt.names)
		var oe *apierr.Error
		require.ErrorAs(t, err, &oe, "%s %v", tt.action, tt.names)
		assert.Equal(t, apierr.BadRequest, oe.Class)
		assert.Equal(t, tt.msg, oe.Message)
		assert.Equal(t, tt.kind, oe.Kind)
	}
	assert.Empty(t, o.changes.Changes(changes.SelectAll, ""), "no change was made")
}

func TestAutostartWithoutDefaults(t *testing.T) {
	o := newOps(t, "services:\n    a:\n        override: replace\n        command: sleep 1\n")
	_, err := o.ServiceAction("autostart", nil)
	var oe *apierr.Error
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, &apierr.Error{Class: apierr.BadRequest, Kind: "no-default-services", Message: "no default services"}, oe)
}
