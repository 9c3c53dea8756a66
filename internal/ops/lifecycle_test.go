package ops

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const gateLayer = `
services:
    migrate:
        override: replace
        type: oneshot
        command: sh -c 'sleep 0.3; exit ${CODE:-0}'
        startup: enabled
    app:
        override: replace
        command: sleep 300
        startup: enabled
        after: [migrate]
    zz:
        override: replace
        command: sleep 300
        before: [app]
    lone:
        override: replace
        command: sleep 300
        startup: enabled
`

// waitsFor returns the summaries of the tasks each task waits for, by
// summary, from the specs of a start of names.
func waitsFor(t *testing.T, o *Ops, names ...string) map[string][]string {
	p := o.plans.Plan()
	lanes, err := p.StartOrder(names)
	require.NoError(t, err)
	specs := o.startTasks(p, lanes, 0, nil, nil)
	out := map[string][]string{}
	for i, s := range specs {
		name := s.Data.(serviceTask).Service
		out[name] = []string{}
		for _, w := range s.WaitFor {
			require.Less(t, w, i, "task %s waits for a later task", name)
			out[name] = append(out[name], specs[w].Data.(serviceTask).Service)
		}
	}
	return out
}

func TestStartWaitsAcrossLanesOnlyForGatedServices(t *testing.T) {
	o := newOps(t, gateLayer)
	// app is after the one-shot migrate: it waits for it, though no
	// requires puts them in one lane; zz before app is Pebble's ordering
	// without an edge; lone waits for nothing.
	assert.Equal(t, map[string][]string{"migrate": {}, "app": {"migrate"}, "zz": {}, "lone": {}},
		waitsFor(t, o, "app", "migrate", "zz", "lone"))
	// Without the new fields, start tasks are Pebble's.
	o = newOps(t, chainLayer)
	assert.Equal(t, map[string][]string{"db": {}, "web": {"db"}, "other": {}}, waitsFor(t, o, "web", "other"))
}

func TestStartTasksLaidOutAfterWhatTheyWaitFor(t *testing.T) {
	// b's lane comes first, but b is after c, a service with readiness in
	// a later lane: c's task must come before b's.
	o := newOps(t, `
services:
    a:
        override: replace
        command: sleep 300
    b:
        override: replace
        command: sleep 300
        requires: [a]
        after: [a, c]
    c:
        override: replace
        command: sleep 300
        readiness: {notify: true}
`)
	assert.Equal(t, map[string][]string{"a": {}, "b": {"a", "c"}, "c": {}}, waitsFor(t, o, "b", "c"))
}

func TestOneshotGatesItsDependent(t *testing.T) {
	o := newOps(t, gateLayer)
	c := run(t, o, "autostart")
	require.Equal(t, "Done", c.Status.String(), c.Err)
	infos := o.services.Services([]string{"app", "migrate"})
	require.Len(t, infos, 2)
	app, migrate := infos[0], infos[1]
	require.NotNil(t, migrate.Oneshot)
	assert.False(t, app.CurrentSince.Before(migrate.Oneshot.Exited), "app started at %s, before migrate exited at %s", app.CurrentSince, migrate.Oneshot.Exited)

	// Replan leaves the succeeded one-shot alone.
	c = run(t, o, "replan")
	require.Equal(t, "Done", c.Status.String(), c.Err)
	for _, task := range c.Tasks {
		if task.Summary == `Start service "migrate"` {
			require.Len(t, task.Log, 1)
			assert.Contains(t, task.Log[0], `Service "migrate" already succeeded, not running it again.`)
		}
	}
	assert.Equal(t, 1, o.services.Services([]string{"migrate"})[0].StartCount)
}

func TestFailedOneshotHoldsItsDependent(t *testing.T) {
	o := newOps(t, strings.Replace(gateLayer, "${CODE:-0}", "3", 1))
	c := run(t, o, "autostart")
	assert.Equal(t, "Error", c.Status.String())
	byName := map[string]string{}
	var migrateID string
	for _, task := range c.Tasks {
		byName[task.Summary] = task.Status.String()
		if task.Summary == `Start service "migrate"` {
			migrateID = task.ID
		}
		if task.Summary == `Start service "app"` {
			require.Len(t, task.Log, 1)
			assert.Contains(t, task.Log[0], fmt.Sprintf(`Not run: task %s (Start service "migrate") failed`, migrateID))
		}
	}
	assert.Equal(t, map[string]string{`Start service "migrate"`: "Error", `Start service "app"`: "Hold", `Start service "lone"`: "Done"}, byName)
	assert.Contains(t, c.Err, `cannot start service "migrate": exited with code 3`)
	assert.Equal(t, "inactive", o.services.Services([]string{"app"})[0].Current, "app never started")
}

const siblingsLayer = `
services:
    migrate:
        override: replace
        type: oneshot
        command: sh -c 'sleep 0.2; exit 0'
    web:
        override: replace
        command: sh -c '${WEB:-exec sleep 300}'
        requires: [migrate]
        after: [migrate]
        startup: enabled
    worker:
        override: replace
        command: sleep 300
        requires: [migrate]
        after: [migrate]
        startup: enabled
    edge:
        override: replace
        command: sleep 300
        requires: [web]
        after: [web]
        startup: enabled
`

// In a lane that holds a gated service, each start waits only for what it
// is ordered after (s6-rc's rule): web and worker both wait for migrate
// alone, not for each other, and edge for web alone.
func TestGatedLaneStartsWaitForTheirOwnDependencies(t *testing.T) {
	o := newOps(t, siblingsLayer)
	assert.Equal(t, map[string][]string{"migrate": {}, "web": {"migrate"}, "worker": {"migrate"}, "edge": {"web"}},
		waitsFor(t, o, "edge", "worker"))
	// An ordering that leaves the lane (worker before lone, in a lane of
	// its own) is no edge inside it.
	o = newOps(t, strings.Replace(siblingsLayer, "    worker:\n        override: replace\n", "    worker:\n        override: replace\n        before: [lone]\n", 1)+`
    lone:
        override: replace
        command: sleep 300
`)
	assert.Equal(t, map[string][]string{"migrate": {}, "web": {"migrate"}, "worker": {"migrate"}, "edge": {"web"}, "lone": {}},
		waitsFor(t, o, "edge", "worker", "lone"))
	p := o.plans.Plan()
	lanes, err := p.StartOrder([]string{"edge", "worker"})
	require.NoError(t, err)
	seen := map[int]bool{}
	before := o.changes.NewLane()
	for _, s := range o.startTasks(p, lanes, 0, nil, nil) {
		require.Len(t, s.Lanes, 1)
		assert.False(t, seen[s.Lanes[0]], "two tasks share lane %d", s.Lanes[0])
		seen[s.Lanes[0]] = true
	}
	// Every lane taken is used: none is taken for the lane as a whole.
	assert.Equal(t, before+len(seen)+1, o.changes.NewLane())
}

// A failed start in such a lane holds only what waits for it: web fails,
// edge (after web) is held, and worker, which needs only migrate, starts.
func TestGatedLaneFailureHoldsOnlyDependents(t *testing.T) {
	o := newOps(t, strings.Replace(siblingsLayer, "${WEB:-exec sleep 300}", "exit 1", 1))
	c := run(t, o, "autostart")
	assert.Equal(t, "Error", c.Status.String())
	byName := map[string]string{}
	for _, task := range c.Tasks {
		byName[task.Summary] = task.Status.String()
	}
	assert.Equal(t, map[string]string{`Start service "migrate"`: "Done", `Start service "web"`: "Error",
		`Start service "worker"`: "Done", `Start service "edge"`: "Hold"}, byName)
}
