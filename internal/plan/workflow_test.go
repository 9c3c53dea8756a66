package plan

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// workflowBase is a layer with the services and check the workflows of
// these tests name.
const workflowBase = `
services:
    web: {override: replace, command: /bin/web}
    worker: {override: replace, command: /bin/worker}
    migrate: {override: replace, command: /bin/migrate, type: oneshot}
checks:
    up: {override: replace, tcp: {port: 80}}
`

const upgradeLayer = `
workflows:
    upgrade:
        override: replace
        summary: Migrate the schema with the app stopped
        description: long text
        phases:
          - name: drain
            strategy: parallel
            steps:
              - stop: web
              - stop: worker
          - name: migrate
            steps:
              - run: migrate
                timeout: 1m
              - exec: /bin/check-schema --strict
                user-id: 0
                group-id: 0
                working-dir: /srv
                environment: {MODE: strict}
                timeout: 5m
                retries: 2
          - name: resume
            strategy: serial
            steps:
              - start: web
              - restart: worker
              - wait-check: up
`

func TestWorkflowParse(t *testing.T) {
	l := mustParse(t, 1, "wf", upgradeLayer)
	want := &Workflow{
		Name: "upgrade", Override: ReplaceOverride,
		Summary: "Migrate the schema with the app stopped", Description: "long text",
		Phases: []Phase{
			{Name: "drain", Strategy: StrategyParallel, Steps: []Step{{Stop: "web"}, {Stop: "worker"}}},
			{Name: "migrate", Steps: []Step{
				{Run: "migrate", Timeout: dur(time.Minute)},
				{Exec: "/bin/check-schema --strict", UserID: ptr(0), GroupID: ptr(0), WorkingDir: "/srv",
					Environment: map[string]string{"MODE": "strict"}, Timeout: dur(5 * time.Minute), Retries: 2},
			}},
			{Name: "resume", Strategy: StrategySerial, Steps: []Step{{Start: "web"}, {Restart: "worker"}, {WaitCheck: "up"}}},
		},
	}
	if got := l.Workflows["upgrade"]; !reflect.DeepEqual(got, want) {
		t.Errorf("workflow:\n got  %#v\n want %#v", got, want)
	}
	if got := want.Phases[1].EffectiveStrategy(); got != StrategySerial {
		t.Errorf("unset strategy is %q, want serial", got)
	}
	if a, target := want.Phases[1].Steps[1].Action(); a != StepExec || target != "/bin/check-schema --strict" {
		t.Errorf("Action() = %q %q", a, target)
	}

	p := mustPlan(t, workflowBase, upgradeLayer)
	for _, ph := range p.Workflows["upgrade"].Phases {
		for _, s := range ph.Steps {
			if s.Layer != "layer-1" {
				t.Errorf("step %+v of the plan names layer %q, want layer-1", s, s.Layer)
			}
		}
	}
}

// A layer without workflows parses and combines as before: the plan has an
// empty section.
func TestWorkflowsAbsent(t *testing.T) {
	p := mustPlan(t, workflowBase)
	if len(p.Workflows) != 0 {
		t.Errorf("plan without workflows has %d", len(p.Workflows))
	}
	if len(mustParse(t, 0, "x", "workflows:\n").Workflows) != 0 {
		t.Errorf("an empty workflows section is not empty")
	}
}

func TestWorkflowCombine(t *testing.T) {
	p := mustPlan(t, workflowBase, upgradeLayer, `
workflows:
    upgrade:
        override: merge
        summary: new summary
        phases:
          - name: migrate
            strategy: parallel
            steps:
              - exec: /bin/extra
          - name: notify
            steps:
              - exec: /bin/notify
`)
	w := p.Workflows["upgrade"]
	if w.Summary != "new summary" || w.Description != "long text" {
		t.Errorf("summary %q, description %q", w.Summary, w.Description)
	}
	var names []string
	for _, ph := range w.Phases {
		names = append(names, ph.Name)
	}
	if got := strings.Join(names, ","); got != "drain,migrate,resume,notify" {
		t.Errorf("phases %s, want drain,migrate,resume,notify", got)
	}
	m := w.Phases[1]
	if m.Strategy != StrategyParallel || len(m.Steps) != 3 || m.Steps[2].Exec != "/bin/extra" || m.Steps[2].Layer != "layer-2" || m.Steps[0].Layer != "layer-1" {
		t.Errorf("merged phase: %+v", m)
	}

	p = mustPlan(t, workflowBase, upgradeLayer, `
workflows:
    upgrade:
        override: replace
        summary: only
        phases:
          - name: one
            steps: [{start: web}]
`)
	w = p.Workflows["upgrade"]
	if w.Summary != "only" || w.Description != "" || len(w.Phases) != 1 || w.Phases[0].Name != "one" {
		t.Errorf("replaced workflow: %+v", w)
	}

	// WithLayer takes the full path for a layer with workflows.
	base := mustPlan(t, workflowBase)
	next, err := base.WithLayer(mustParse(t, 0, "api", upgradeLayer), false, false)
	if err != nil {
		t.Fatal(err)
	}
	if next.Workflows["upgrade"] == nil || len(base.Workflows) != 0 {
		t.Errorf("WithLayer: new %v, old %v", next.Workflows, base.Workflows)
	}
	// A later layer that only touches services keeps the workflows.
	again, err := next.WithLayer(mustParse(t, 0, "more", "services:\n    extra: {override: replace, command: /bin/x}\n"), false, false)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Workflows["upgrade"].Equal(next.Workflows["upgrade"]) {
		t.Errorf("workflow changed by an unrelated layer")
	}
}

func TestWorkflowErrors(t *testing.T) {
	wf := func(body string) string {
		return "workflows:\n    w:\n        override: replace\n" + body
	}
	tests := []struct {
		name, layer, err string
	}{
		{"no override", "workflows:\n    w:\n        phases: [{name: a, steps: [{start: web}]}]\n",
			`layer "layer-1" must define "override" for workflow "w"`},
		{"bad override", "workflows:\n    w:\n        override: over\n        phases: [{name: a, steps: [{start: web}]}]\n",
			`layer "layer-1" has invalid "override" value for workflow "w"`},
		{"null", "workflows:\n    w:\n", `layer "layer-1": workflow object cannot be null for workflow "w"`},
		{"no phases", wf(""), `plan workflow "w" must have at least one phase`},
		{"phase without name", wf("        phases: [{steps: [{start: web}]}]\n"),
			`layer "layer-1" workflow "w" phase 1: must have a name`},
		{"duplicate phase", wf("        phases: [{name: a, steps: [{start: web}]}, {name: a, steps: [{stop: web}]}]\n"),
			`layer "layer-1" workflow "w": phase "a" defined twice`},
		{"empty phase", wf("        phases: [{name: a, steps: []}]\n"),
			`layer "layer-1" workflow "w" phase "a": must have at least one step`},
		{"bad strategy", wf("        phases: [{name: a, strategy: random, steps: [{start: web}]}]\n"),
			`layer "layer-1" workflow "w" phase "a": strategy must be "serial" or "parallel", not "random"`},
		{"no action", wf("        phases: [{name: a, steps: [{start: web}, {timeout: 1s}]}]\n"),
			`layer "layer-1" workflow "w" phase "a" step 2: must have one of start, stop, restart, run, exec or wait-check`},
		{"two actions", wf("        phases: [{name: a, steps: [{start: web, exec: /bin/true}]}]\n"),
			`layer "layer-1" workflow "w" phase "a" step 1: must have only one action, not start and exec`},
		{"exec fields on start", wf("        phases: [{name: a, steps: [{start: web, user: root}]}]\n"),
			`layer "layer-1" workflow "w" phase "a" step 1: user, group, working-dir and environment belong to exec steps, not start`},
		{"bad command", wf("        phases: [{name: a, steps: [{exec: \"/bin/x 'open\"}]}]\n"),
			`~layer "layer-1" workflow "w" phase "a" step 1: exec command invalid:`},
		{"zero timeout", wf("        phases: [{name: a, steps: [{stop: web, timeout: 0s}]}]\n"),
			`layer "layer-1" workflow "w" phase "a" step 1: timeout must be positive, not 0s`},
		{"bad duration", wf("        phases: [{name: a, steps: [{stop: web, timeout: soon}]}]\n"),
			`~cannot parse layer "layer-1" section "workflows": line 4: workflow "w" phase 1 step 1 field "timeout": invalid duration "soon"`},
		{"negative retries", wf("        phases: [{name: a, steps: [{stop: web, retries: -1}]}]\n"),
			`layer "layer-1" workflow "w" phase "a" step 1: retries must not be negative, not -1`},
		{"unknown field", wf("        phases: [{name: a, steps: [{stop: web, retry: 1}]}]\n"),
			`~workflow "w" phase 1 step 1: unknown field "retry"`},
		{"unknown service", wf("        phases: [{name: a, steps: [{start: web}]}, {name: b, steps: [{stop: web}, {restart: nope}]}]\n"),
			`layer "layer-1" workflow "w" phase "b" step 2: restart names unknown service "nope"`},
		{"unknown run service", wf("        phases: [{name: a, steps: [{run: nope}]}]\n"),
			`layer "layer-1" workflow "w" phase "a" step 1: run names unknown service "nope"`},
		{"run of a simple service", wf("        phases: [{name: a, steps: [{run: web}]}]\n"),
			`layer "layer-1" workflow "w" phase "a" step 1: run names service "web", which is not a one-shot (type: oneshot)`},
		{"unknown check", wf("        phases: [{name: a, steps: [{wait-check: down}]}]\n"),
			`layer "layer-1" workflow "w" phase "a" step 1: wait-check names unknown check "down"`},
		{"unknown user", wf("        phases: [{name: a, steps: [{exec: /bin/true, user: no-such-user-here}]}]\n"),
			`layer "layer-1" workflow "w" phase "a" step 1: invalid user/group: user: unknown user no-such-user-here`},
		{"environment name", wf("        phases: [{name: a, steps: [{exec: /bin/true, environment: {\"A=B\": x}}]}]\n"),
			`cannot accept layer "layer-1": workflow "w" field "phases[0].steps[0].environment" key "A=B" contains "="`},
	}
	for _, tt := range tests {
		_, err := planFrom(workflowBase, tt.layer)
		checkErr(t, tt.name, err, tt.err)
	}

	// A merge that names an unknown service in a later layer names that
	// layer.
	_, err := planFrom(workflowBase, upgradeLayer,
		"workflows:\n    upgrade:\n        override: merge\n        phases: [{name: resume, steps: [{start: ghost}]}]\n")
	checkErr(t, "merged step", err, `layer "layer-2" workflow "upgrade" phase "resume" step 4: start names unknown service "ghost"`)
}

func TestWorkflowMethodsHandleEveryField(t *testing.T) {
	testEntryMethods[Workflow](t)
	testEntryMethods[Phase](t)

	// Steps are copied and compared (they are appended, never merged).
	full := newFilled[Step](1)
	c := full.Copy()
	if !reflect.DeepEqual(c, full) {
		t.Errorf("Step.Copy lost fields:\n got  %#v\n want %#v", c, full)
	}
	scribble(reflect.ValueOf(c))
	if !reflect.DeepEqual(full, newFilled[Step](1)) {
		t.Errorf("Step.Copy shares memory with the original")
	}
	for _, path := range leafPaths(reflect.TypeFor[Step](), nil) {
		changed := full.Copy()
		f, name := fieldAt(reflect.ValueOf(changed).Elem(), path)
		if f.Kind() == reflect.Bool {
			f.SetBool(!f.Bool())
		} else {
			fill(f, 99)
		}
		if full.Equal(changed) {
			t.Errorf("Step.Equal ignores %s", name)
		}
	}
}
