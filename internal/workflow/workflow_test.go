package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pebble-project/pebble/internal/apierr"
	"github.com/pebble-project/pebble/internal/changes"
	"github.com/pebble-project/pebble/internal/checks"
	"github.com/pebble-project/pebble/internal/checks/checker"
	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/planstate"
	"github.com/pebble-project/pebble/internal/servstate"
	"github.com/pebble-project/pebble/internal/testutil"
)

func TestMain(m *testing.M) { testutil.MainWithReaper(m) }

func mustPlan(t *testing.T, layer string) *plan.Plan {
	t.Helper()
	l, err := plan.ParseLayer(1, "base", []byte(layer))
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.NewPlan([]*plan.Layer{l})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const orderLayer = `
services:
    web: {override: replace, command: sleep 300}
    migrate: {override: replace, command: /bin/true, type: oneshot}
workflows:
    upgrade:
        override: replace
        phases:
          - name: drain
            strategy: parallel
            steps: [{stop: web}, {exec: /bin/true}]
          - name: migrate
            steps: [{run: migrate}, {exec: /bin/check, environment: {A: "1"}, timeout: 5s, retries: 2}]
          - name: resume
            strategy: parallel
            steps: [{start: web}, {exec: /bin/true}]
          - name: last
            steps: [{exec: /bin/true}]
`

// The change's tasks follow the phases: serial steps wait for the step
// before, parallel steps for the whole previous phase, a phase after a
// serial one for its last step.
func TestNewChangeOrder(t *testing.T) {
	p := mustPlan(t, orderLayer)
	nc := newChange(p.Workflows["upgrade"], map[string]string{"VERSION": "2"})
	if nc.Kind != "workflow" || nc.Summary != `Run workflow "upgrade"` || nc.Data["workflow"] != "upgrade" {
		t.Errorf("change: %q %q %v", nc.Kind, nc.Summary, nc.Data)
	}
	if !slices.Equal(nc.Services, []string{"web", "migrate"}) {
		t.Errorf("services %v", nc.Services)
	}
	want := []struct {
		summary string
		waitFor []int
	}{
		{`[drain] Stop service "web"`, nil},
		{`[drain] Execute "/bin/true"`, nil},
		{`[migrate] Run one-shot service "migrate"`, []int{0, 1}},
		{`[migrate] Execute "/bin/check"`, []int{2}},
		{`[resume] Start service "web"`, []int{3}},
		{`[resume] Execute "/bin/true"`, []int{3}},
		{`[last] Execute "/bin/true"`, []int{4, 5}},
	}
	if len(nc.Tasks) != len(want) {
		t.Fatalf("%d tasks, want %d", len(nc.Tasks), len(want))
	}
	for i, w := range want {
		got := nc.Tasks[i]
		if got.Kind != StepKind || got.Summary != w.summary || !slices.Equal(got.WaitFor, w.waitFor) {
			t.Errorf("task %d: %q %q waits for %v; want %q waiting for %v", i, got.Kind, got.Summary, got.WaitFor, w.summary, w.waitFor)
		}
	}
	check := nc.Tasks[3].Data.(stepData)
	if check.Phase != "migrate" || check.Step != 2 || check.Timeout != 5*time.Second || check.Retries != 2 ||
		check.Exec.Environment["A"] != "1" || check.Params["VERSION"] != "2" {
		t.Errorf("exec step data: %+v", check)
	}
	if d := nc.Tasks[0].Data.(stepData); d.Params != nil || d.Exec != nil {
		t.Errorf("stop step carries params or exec data: %+v", d)
	}
	if d := nc.Tasks[2].Data.(stepData); d.Params["VERSION"] != "2" {
		t.Errorf("run step lacks params: %+v", d)
	}
	if _, err := json.Marshal(check); err != nil {
		t.Error(err)
	}
}

// runner builds a Runner on real parts: a plan from a layer file, a
// service manager, a checks manager and an in-memory changes manager.
func runner(t *testing.T, layer string) *Runner {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "layers"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "layers", "001-base.yaml"), []byte(layer), 0o644); err != nil {
		t.Fatal(err)
	}
	plans, err := planstate.Load(filepath.Join(dir, "layers"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := servstate.New(servstate.Options{Dir: dir, OkayDelay: 50 * time.Millisecond, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	plans.Subscribe(svc.SetPlan)
	chg, err := changes.New(changes.Options{})
	if err != nil {
		t.Fatal(err)
	}
	chk := checks.New(checks.Options{Changes: chg, OnFailure: svc, Logf: t.Logf,
		NewChecker: func(c *plan.Check) checks.Checker { return checker.New(c) }})
	r := New(Options{Plans: plans, Services: svc, Checks: chk, Changes: chg})
	chg.Start()
	plans.Subscribe(chk.SetPlan)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for _, name := range svc.ActiveServices() {
			svc.Stop(ctx, name, nil)
		}
		chk.Close()
		chg.Close()
		svc.Close()
	})
	return r
}

func (r *Runner) mustRun(t *testing.T, name string, params map[string]string) changes.ChangeInfo {
	t.Helper()
	id, err := r.Run(name, params)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := r.changes.Wait(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func statuses(c changes.ChangeInfo) string {
	var out []string
	for _, tk := range c.Tasks {
		out = append(out, tk.Status.String())
	}
	return strings.Join(out, " ")
}

func logHas(tk changes.TaskInfo, text string) bool {
	return slices.ContainsFunc(tk.Log, func(l string) bool { return strings.Contains(l, text) })
}

func TestRunSteps(t *testing.T) {
	testutil.CheckLeaks(t)
	dir := t.TempDir()
	count := filepath.Join(dir, "count")
	out := filepath.Join(dir, "out")
	r := runner(t, `
services:
    web: {override: replace, command: sleep 300}
    db: {override: replace, command: sleep 300}
    front: {override: replace, command: sleep 300, requires: [web], after: [web]}
checks:
    up: {override: replace, period: 100ms, exec: {command: /bin/true}}
workflows:
    good:
        override: replace
        phases:
          - name: up
            strategy: parallel
            steps: [{start: front}, {start: db}]
          - name: flaky
            steps:
              # Fails on its first two attempts, succeeds on the third.
              - exec: /bin/sh -c 'echo x >> `+count+`; test $(wc -l < `+count+`) -ge 3'
                retries: 2
              - exec: /bin/sh -c 'echo "$VERSION $MODE" > `+out+`'
                environment: {MODE: step, VERSION: "0"}
              - wait-check: up
          - name: down
            steps: [{stop: web}, {restart: db}]
    bad:
        override: replace
        phases:
          - name: one
            steps: [{exec: /bin/sh -c 'echo broken; exit 3', retries: 1}]
          - name: two
            strategy: parallel
            steps: [{start: web}, {exec: /bin/true}]
    slow:
        override: replace
        phases:
          - name: one
            steps: [{exec: sleep 30, timeout: 200ms}]
`)
	c := r.mustRun(t, "good", map[string]string{"VERSION": "2"})
	if c.Status != changes.Done {
		t.Fatalf("good: %v %s %q", c.Status, statuses(c), c.Err)
	}
	if tk := c.Tasks[2]; !logHas(tk, "Attempt 1 of 3 failed: exit status 1; trying again") ||
		!logHas(tk, "Attempt 2 of 3 failed") || !logHas(tk, "Attempt 3 of 3 succeeded") {
		t.Errorf("retried step log: %q", tk.Log)
	}
	if data, err := os.ReadFile(out); err != nil || string(data) != "2 step\n" {
		t.Errorf("exec saw %q (%v), want the param over the step's environment", data, err)
	}
	if !logHas(c.Tasks[4], `Check "up" is up`) {
		t.Errorf("wait-check log: %q", c.Tasks[4].Log)
	}
	active := r.services.(*servstate.Manager).ActiveServices()
	if !slices.Equal(active, []string{"db"}) {
		t.Errorf("active after the workflow: %v, want [db] (front stopped with web, db restarted)", active)
	}

	c = r.mustRun(t, "bad", nil)
	if c.Status != changes.Error || statuses(c) != "Error Hold Hold" {
		t.Fatalf("bad: %v %s", c.Status, statuses(c))
	}
	if !strings.Contains(c.Err, "attempt 2 of 2 failed: exit status 3") || !logHas(c.Tasks[0], "Output:\nbroken") {
		t.Errorf("failed step: %q %q", c.Err, c.Tasks[0].Log)
	}
	for _, tk := range c.Tasks[1:] {
		if !logHas(tk, "Not run: task "+c.Tasks[0].ID) {
			t.Errorf("held task %q log: %q", tk.Summary, tk.Log)
		}
	}

	start := time.Now()
	c = r.mustRun(t, "slow", nil)
	if c.Status != changes.Error || !strings.Contains(c.Err, "timed out after 200ms") || time.Since(start) > 10*time.Second {
		t.Errorf("slow: %v %q after %v", c.Status, c.Err, time.Since(start))
	}

	// The last run of each workflow is listed.
	infos := r.Workflows(nil)
	if len(infos) != 3 || infos[0].Workflow.Name != "bad" || infos[0].LastRun == nil || infos[0].LastRun.Status != changes.Error ||
		infos[1].LastRun.Status != changes.Done || infos[1].LastRun.ReadyTime.IsZero() {
		t.Errorf("workflows: %+v", infos)
	}
	if infos := r.Workflows([]string{"slow", "nope"}); len(infos) != 1 || infos[0].Workflow.Name != "slow" {
		t.Errorf("named: %+v", infos)
	}
}

func TestRunErrors(t *testing.T) {
	r := runner(t, `
workflows:
    w:
        override: replace
        phases: [{name: a, steps: [{exec: /bin/true}]}]
`)
	var ae *apierr.Error
	if _, err := r.Run("nope", nil); !errors.As(err, &ae) || ae.Class != apierr.NotFound || err.Error() != `cannot find workflow "nope"` {
		t.Errorf("unknown workflow: %v", err)
	}
	for params, want := range map[string]string{
		"A=B":  `cannot run workflow "w": parameter name "A=B" is empty or contains "="`,
		"":     `cannot run workflow "w": parameter name "" is empty or contains "="`,
		"NUL":  `cannot run workflow "w": parameter "NUL" value contains a NUL byte`,
		"UTF8": `cannot run workflow "w": parameter "UTF8" value is not valid UTF-8`,
	} {
		value := map[string]string{"NUL": "a\x00b", "UTF8": "\xff"}[params]
		_, err := r.Run("w", map[string]string{params: value})
		if !errors.As(err, &ae) || ae.Class != apierr.BadRequest || err.Error() != want {
			t.Errorf("params %q: %v, want %q", params, err, want)
		}
	}
	if c := r.mustRun(t, "w", nil); c.Status != changes.Done {
		t.Errorf("w: %v", c.Status)
	}
}

// Abort cancels the running step (its process group is killed) and holds
// the rest; an aborted step is not retried.
func TestAbort(t *testing.T) {
	testutil.CheckLeaks(t)
	marker := filepath.Join(t.TempDir(), "started")
	r := runner(t, `
workflows:
    w:
        override: replace
        phases:
          - name: a
            steps: [{exec: /bin/sh -c 'echo x >> `+marker+`; exec sleep 60', retries: 3}]
          - name: b
            steps: [{exec: /bin/true}]
`)
	id, err := r.Run("w", nil)
	if err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		if data, _ := os.ReadFile(marker); len(data) == 0 {
			return errors.New("step not started")
		}
		return nil
	})
	if _, err := r.changes.Abort(id); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := r.changes.Wait(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != changes.Error || statuses(c) != "Error Hold" {
		t.Errorf("aborted: %v %s %q", c.Status, statuses(c), c.Err)
	}
	if logHas(c.Tasks[0], "trying again") {
		t.Errorf("the aborted step was retried: %q", c.Tasks[0].Log)
	}
	if data, _ := os.ReadFile(marker); string(data) != "x\n" {
		t.Errorf("the aborted step ran %q times", data)
	}
}

// TestWaitCheckWakesOnChanges: a wait-check step on a check that runs once
// an hour is woken by the check's changes: a success after the step began
// ends it, and a stop of the check fails it.
func TestWaitCheckWakesOnChanges(t *testing.T) {
	testutil.CheckLeaks(t)
	r := runner(t, `
checks:
    hourly: {override: replace, period: 1h, exec: {command: /bin/true}}
workflows:
    w:
        override: replace
        phases: [{name: a, steps: [{wait-check: hourly}]}]
`)
	chk := r.checks.(*checks.Manager)
	waitStep := func(id string, act func()) changes.ChangeInfo {
		t.Helper()
		var c changes.ChangeInfo
		testutil.WaitFor(t, 20*time.Second, func() error {
			var err error
			if c, err = r.changes.Change(id); err != nil {
				return err
			}
			if !c.Ready {
				act() // again: the step may not have read its base yet
				return errors.New("step not done")
			}
			return nil
		})
		return c
	}

	id, err := r.Run("w", nil)
	if err != nil {
		t.Fatal(err)
	}
	c := waitStep(id, func() { chk.Refresh(t.Context(), "hourly") })
	if c.Status != changes.Done || !logHas(c.Tasks[0], `Check "hourly" is up`) {
		t.Errorf("woken by a success: %v %q %q", c.Status, c.Err, c.Tasks[0].Log)
	}

	id, err = r.Run("w", nil)
	if err != nil {
		t.Fatal(err)
	}
	c = waitStep(id, func() { chk.StopChecks([]string{"hourly"}) })
	if c.Status != changes.Error || !strings.Contains(c.Err, `check "hourly" is not running`) {
		t.Errorf("woken by a stop: %v %q", c.Status, c.Err)
	}
}
