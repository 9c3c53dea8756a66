package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/client"
	"github.com/pebble-project/pebble/internal/testutil"
)

// stepScript records "<name> start <ns>" and "<name> end <ns>" around a
// sleep of $2 seconds, and the VERSION parameter, in @DIR@/stamps.
const stepScript = `
echo "$1 start $(date +%s%N) ${VERSION:-none}" >> @DIR@/stamps
sleep "$2"
echo "$1 end $(date +%s%N)" >> @DIR@/stamps
`

// span is when one step's process ran, from its own stamps.
type span struct{ start, end int64 }

// readSpans reads @DIR@/stamps into each step's span and its VERSION.
func readSpans(t *testing.T, dir string) (map[string]span, map[string]string) {
	t.Helper()
	spans, versions := map[string]span{}, map[string]string{}
	for _, line := range readLines(filepath.Join(dir, "stamps")) {
		f := strings.Fields(line)
		require.GreaterOrEqual(t, len(f), 3, "stamp line %q", line)
		ns, err := strconv.ParseInt(f[2], 10, 64)
		require.NoError(t, err)
		s := spans[f[0]]
		if f[1] == "start" {
			require.Zero(t, s.start, "step %s started twice", f[0])
			s.start = ns
			versions[f[0]] = f[3]
		} else {
			s.end = ns
		}
		spans[f[0]] = s
	}
	return spans, versions
}

// TestWorkflowPhasesAndStrategies runs a three-phase workflow with the CLI
// and reads the steps' own timestamps: the parallel steps of a phase
// overlap, the serial steps do not, and each phase starts after the
// previous one ended. The run's parameter reaches the exec steps, the
// services of the last phase start, and the workflow is listed with its
// run and printed in the plan.
func TestWorkflowPhasesAndStrategies(t *testing.T) {
	dir := newPebbleDir(t, nil)
	writeScript(t, dir, "step.sh", stepScript)
	writeScript(t, dir, "svc.sh", longRunning)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    web: {override: replace, command: /bin/sh @DIR@/svc.sh}
    worker: {override: replace, command: /bin/sh @DIR@/svc.sh}
workflows:
    upgrade:
        override: replace
        summary: Three phases
        phases:
          - name: one
            strategy: parallel
            steps:
              - exec: /bin/sh @DIR@/step.sh p1 0.6
              - exec: /bin/sh @DIR@/step.sh p2 0.6
              - exec: /bin/sh @DIR@/step.sh p3 0.6
          - name: two
            steps:
              - exec: /bin/sh @DIR@/step.sh s1 0.3
              - exec: /bin/sh @DIR@/step.sh s2 0.3
              - exec: /bin/sh @DIR@/step.sh s3 0.3
          - name: three
            strategy: parallel
            steps:
              - start: web
              - start: worker
`})
	d := startDaemon(t, dir, daemonOptions{})

	out := d.mustPebble("run-workflow", "upgrade", "--param", "VERSION=7")
	assert.NotContains(t, out, "error")
	spans, versions := readSpans(t, dir)
	require.Len(t, spans, 6, "stamps: %q", readLines(filepath.Join(dir, "stamps")))
	for name, v := range versions {
		assert.Equal(t, "7", v, "VERSION seen by step %s", name)
	}
	// Parallel: every step of phase one started before any of them ended.
	latestStart, earliestEnd := int64(0), int64(1<<62)
	for _, n := range []string{"p1", "p2", "p3"} {
		latestStart = max(latestStart, spans[n].start)
		earliestEnd = min(earliestEnd, spans[n].end)
	}
	assert.Less(t, latestStart, earliestEnd, "parallel steps did not overlap: %+v", spans)
	overlap := time.Duration(earliestEnd - latestStart)
	// Serial: each step started after the one before ended, and phase two
	// after all of phase one.
	phaseOneEnd := max(spans["p1"].end, spans["p2"].end, spans["p3"].end)
	assert.GreaterOrEqual(t, spans["s1"].start, phaseOneEnd, "phase two started before phase one ended")
	assert.GreaterOrEqual(t, spans["s2"].start, spans["s1"].end, "s2 overlapped s1")
	assert.GreaterOrEqual(t, spans["s3"].start, spans["s2"].end, "s3 overlapped s2")
	gaps := []time.Duration{
		time.Duration(spans["s1"].start - phaseOneEnd),
		time.Duration(spans["s2"].start - spans["s1"].end),
		time.Duration(spans["s3"].start - spans["s2"].end),
	}
	t.Logf("figure: parallel steps overlapped for %v; serial gaps (previous end to next start) %v", overlap, gaps)

	// Phase three started both services after phase two.
	started := waitLines(t, filepath.Join(dir, "started"), 2, readyTimeout)
	for _, line := range started {
		f := strings.Fields(line)
		ns, err := strconv.ParseInt(f[1], 10, 64)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, ns, spans["s3"].end, "%s started before phase two ended", f[0])
	}
	assert.Equal(t, "active", d.serviceStatus("web"))
	assert.Equal(t, "active", d.serviceStatus("worker"))

	// The change and its tasks.
	var chg change
	for _, c := range d.changes() {
		if c.Kind == "workflow" {
			chg = c
		}
	}
	require.Equal(t, "Done", chg.Status)
	assert.Equal(t, `Run workflow "upgrade"`, chg.Summary)
	require.Len(t, chg.Tasks, 8)
	assert.Equal(t, `[one] Execute "/bin/sh `+dir+`/step.sh p1 0.6"`, chg.Tasks[0].Summary)
	assert.Equal(t, `[three] Start service "worker"`, chg.Tasks[7].Summary)
	for _, tk := range chg.Tasks {
		assert.Equal(t, "workflow-step", tk.Kind)
	}

	// Listed with its last run, in text and JSON.
	list := d.mustPebble("workflows")
	assert.Regexp(t, `(?m)^Workflow\s+Phases\s+Last run\s+Status\s+Summary\n`+`upgrade\s+one,two,three\s+`+chg.ID+`\s+Done\s+Three phases$`, list)
	var wfs []struct {
		Name   string `json:"name"`
		Phases []struct {
			Name, Strategy string
			Steps          []string
		}
		LastRun struct {
			ChangeID string `json:"change-id"`
			Status   string `json:"status"`
		} `json:"last-run"`
	}
	d.sync("GET", "/v1/workflows", nil, &wfs)
	require.Len(t, wfs, 1)
	assert.Equal(t, chg.ID, wfs[0].LastRun.ChangeID)
	assert.Equal(t, "parallel", wfs[0].Phases[2].Strategy)
	assert.Equal(t, []string{"start: web", "start: worker"}, wfs[0].Phases[2].Steps)
	assert.Contains(t, d.mustPebble("plan"), "workflows:\n    upgrade:\n        override: replace\n")
	d.stop()
}

// TestWorkflowRetryAndHold drives workflows through the Go client: a step
// that fails twice and then succeeds is retried; a phase that keeps failing
// fails the run after its retries, and the later phases are held, never
// run, with the reason in their log.
func TestWorkflowRetryAndHold(t *testing.T) {
	dir := newPebbleDir(t, nil)
	writeScript(t, dir, "flaky.sh", `
echo "attempt $(date +%s%N)" >> @DIR@/flaky
test "$(wc -l < @DIR@/flaky)" -ge 3
`)
	writeScript(t, dir, "broken.sh", `
echo "attempt" >> @DIR@/broken
echo "schema is broken"
exit 3
`)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    web: {override: replace, command: sleep 1000}
workflows:
    flaky:
        override: replace
        phases:
          - name: only
            steps: [{exec: /bin/sh @DIR@/flaky.sh, retries: 2}]
    broken:
        override: replace
        phases:
          - name: migrate
            steps: [{exec: /bin/sh @DIR@/broken.sh, retries: 1}]
          - name: resume
            strategy: parallel
            steps: [{start: web}, {exec: touch @DIR@/resumed}]
          - name: after
            steps: [{exec: touch @DIR@/after}]
`})
	d := startDaemon(t, dir, daemonOptions{})
	cli := d.client()
	ctx := context.Background()

	id, err := cli.RunWorkflow(ctx, &client.RunWorkflowOptions{Name: "flaky"})
	require.NoError(t, err)
	chg, err := cli.WaitChange(ctx, id, nil)
	require.NoError(t, err)
	require.Equal(t, "Done", chg.Status, chg.Err)
	assert.Len(t, readLines(filepath.Join(dir, "flaky")), 3, "flaky step runs")
	logs := strings.Join(chg.Tasks[0].Log, "\n")
	assert.Contains(t, logs, "Attempt 1 of 3 failed: exit status 1; trying again")
	assert.Contains(t, logs, "Attempt 2 of 3 failed: exit status 1; trying again")
	assert.Contains(t, logs, "Attempt 3 of 3 succeeded")

	id, err = cli.RunWorkflow(ctx, &client.RunWorkflowOptions{Name: "broken"})
	require.NoError(t, err)
	chg, err = cli.WaitChange(ctx, id, nil)
	require.NoError(t, err)
	require.Equal(t, "Error", chg.Status)
	assert.Equal(t, `cannot perform the following tasks:
- [migrate] Execute "/bin/sh `+dir+`/broken.sh" (attempt 2 of 2 failed: exit status 3)`, chg.Err)
	assert.Len(t, readLines(filepath.Join(dir, "broken")), 2, "broken step runs (1 + 1 retry)")
	assert.Contains(t, strings.Join(chg.Tasks[0].Log, "\n"), "Output:\nschema is broken")
	for _, tk := range chg.Tasks[1:] {
		assert.Equal(t, "Hold", tk.Status, tk.Summary)
		require.NotEmpty(t, tk.Log, tk.Summary)
		assert.Contains(t, tk.Log[len(tk.Log)-1], fmt.Sprintf("Not run: task %s ([migrate] Execute", chg.Tasks[0].ID), tk.Summary)
	}
	for _, marker := range []string{"resumed", "after"} {
		_, err := os.Stat(filepath.Join(dir, marker))
		assert.True(t, os.IsNotExist(err), "held step %s ran", marker)
	}
	assert.Equal(t, "inactive", d.serviceStatus("web"))

	// The CLI says why and exits non-zero.
	res := d.pebble("run-workflow", "broken")
	assert.Equal(t, 1, res.code)
	assert.Contains(t, res.stderr, "attempt 2 of 2 failed: exit status 3")

	// Listing: both workflows with the status of their last run.
	wfs, err := cli.Workflows(ctx, nil)
	require.NoError(t, err)
	require.Len(t, wfs, 2)
	assert.Equal(t, "broken", wfs[0].Name)
	assert.Equal(t, "Error", wfs[0].LastRun.Status)
	assert.False(t, wfs[0].LastRun.ReadyTime.IsZero())
	assert.Equal(t, []string{"migrate", "resume", "after"}, []string{wfs[0].Phases[0].Name, wfs[0].Phases[1].Name, wfs[0].Phases[2].Name})
	assert.Equal(t, "Done", wfs[1].LastRun.Status)
	only, err := cli.Workflows(ctx, &client.WorkflowsOptions{Names: []string{"flaky"}})
	require.NoError(t, err)
	require.Len(t, only, 1)
	assert.Equal(t, "flaky", only[0].Name)

	// Bad requests.
	_, err = cli.RunWorkflow(ctx, &client.RunWorkflowOptions{Name: "nope"})
	assert.EqualError(t, err, `cannot find workflow "nope"`)
	_, err = cli.RunWorkflow(ctx, &client.RunWorkflowOptions{Name: "flaky", Params: map[string]string{"A=B": "x"}})
	assert.EqualError(t, err, `cannot run workflow "flaky": parameter name "A=B" is empty or contains "="`)
	status, env := d.requestJSON("POST", "/v1/workflows", map[string]any{"action": "walk", "name": "flaky"})
	assert.Equal(t, 400, status)
	assert.Equal(t, `invalid action "walk"`, apiErrorOf(env).Message)
	res = d.pebble("run-workflow", "flaky", "--param", "novalue")
	assert.Equal(t, 1, res.code)
	assert.Contains(t, res.stderr, `invalid parameter "novalue": must be KEY=VALUE`)
	d.stop()
}

// TestWorkflowDaemonKilled kills the daemon (SIGKILL) while a workflow's
// second step runs, and starts a new daemon on the same directory: no step
// runs again, the step's process died with the daemon and the child it
// left is killed by the next one, and the change ends in Error saying why.
func TestWorkflowDaemonKilled(t *testing.T) {
	dir := newPebbleDir(t, nil)
	writeScript(t, dir, "long.sh", `
sleep 1000 &
echo "long $$ $!" >> @DIR@/ran
wait
`)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
workflows:
    upgrade:
        override: replace
        phases:
          - name: first
            steps: [{exec: /bin/sh -c 'echo first >> @DIR@/ran'}]
          - name: second
            steps: [{exec: /bin/sh @DIR@/long.sh}]
          - name: third
            strategy: parallel
            steps: [{exec: /bin/sh -c 'echo third >> @DIR@/ran'}, {exec: /bin/sh -c 'echo fourth >> @DIR@/ran'}]
`})
	d := startDaemon(t, dir, daemonOptions{})
	id, err := d.client().RunWorkflow(context.Background(), &client.RunWorkflowOptions{Name: "upgrade"})
	require.NoError(t, err)
	lines := waitLines(t, filepath.Join(dir, "ran"), 2, changeTimeout)
	require.Equal(t, "first", lines[0])
	var pid, child int
	_, err = fmt.Sscanf(lines[1], "long %d %d", &pid, &child)
	require.NoError(t, err, lines[1])
	// The step's task is running before it acts, on disk too.
	var chg change
	d.sync("GET", "/v1/changes/"+id, nil, &chg)
	require.Equal(t, "Doing", chg.Tasks[1].Status)

	d.signal(syscall.SIGKILL)
	d.waitExit(exitTimeout)
	// The step's command dies with the daemon.
	testutil.WaitFor(t, readyTimeout, func() error {
		if pidAlive(pid) && procState(pid) != "Z" {
			return fmt.Errorf("step process %d still runs", pid)
		}
		return nil
	})

	require.True(t, pidAlive(child) && procState(child) != "Z", "the step's child died with the daemon: the sweep below is not tested")

	d2 := startDaemon(t, dir, daemonOptions{})
	testutil.WaitFor(t, readyTimeout, func() error {
		if pidAlive(child) && procState(child) != "Z" {
			return fmt.Errorf("the step's child %d still runs", child)
		}
		return nil
	})
	assert.Contains(t, d2.stderr.String(), fmt.Sprintf("Killed processes left by workflow steps of a previous daemon: %d ([second] Execute", child))
	chg = d2.waitChange(id)
	assert.Equal(t, "Error", chg.Status)
	assert.Equal(t, `cannot perform the following tasks:
- [second] Execute "/bin/sh `+dir+`/long.sh" (daemon stopped while this step was running; the step is not run again)`, chg.Err)
	statuses := []string{}
	for _, tk := range chg.Tasks {
		statuses = append(statuses, tk.Status)
	}
	assert.Equal(t, []string{"Done", "Error", "Hold", "Hold"}, statuses)
	for _, tk := range chg.Tasks[2:] {
		require.NotEmpty(t, tk.Log)
		assert.Contains(t, tk.Log[len(tk.Log)-1], "Not run: the daemon stopped before this task started")
	}
	// Nothing ran twice, and nothing after the killed step ran at all.
	assert.Equal(t, []string{"first", fmt.Sprintf("long %d %d", pid, child)}, readLines(filepath.Join(dir, "ran")))
	raw, err := json.Marshal(chg.Tasks[1].Log)
	require.NoError(t, err)
	t.Logf("killed step log: %s", raw)
	d2.stop()
}

// TestWorkflowRunsOneshot: a run step starts a one-shot service and
// succeeds on its exit 0, each run runs it again with the run's
// parameters in its environment (a later plain start has none), and a
// one-shot that exits non-zero fails the step with its exit code.
func TestWorkflowRunsOneshot(t *testing.T) {
	dir := newPebbleDir(t, nil)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    migrate:
        override: replace
        type: oneshot
        command: /bin/sh -c 'echo "migrated ${VERSION:-none}" >> @DIR@/migrations'
    broken:
        override: replace
        type: oneshot
        command: /bin/sh -c 'echo cannot migrate; exit 4'
    private:
        override: replace
        type: oneshot
        command: /bin/sh -c 'echo private-output; exit 5'
        log-access: admin
workflows:
    migrate:
        override: replace
        phases:
          - name: migrate
            steps: [{run: migrate}, {exec: /bin/sh -c 'echo checked >> @DIR@/migrations'}]
    broken:
        override: replace
        phases:
          - name: migrate
            steps: [{run: broken}, {exec: touch @DIR@/after}]
    private:
        override: replace
        phases:
          - name: run
            steps: [{run: private}]
`})
	d := startDaemon(t, dir, daemonOptions{})
	d.mustPebble("run-workflow", "migrate")
	d.mustPebble("run-workflow", "migrate", "--param", "VERSION=9")
	d.mustPebble("start", "migrate")
	lines := readLines(filepath.Join(dir, "migrations"))
	assert.Equal(t, []string{"migrated none", "checked", "migrated 9", "checked", "migrated none"}, lines)
	// Parameters are no secrets: a step's task data, which every reader
	// of the change sees, holds them (docs/workflows.md).
	var withParam []string
	for _, c := range d.changes() {
		status, env := d.request("GET", "/v1/changes/"+c.ID, nil)
		require.Equal(t, 200, status)
		if strings.Contains(string(env.Result), `"params":{"VERSION":"9"}`) {
			withParam = append(withParam, c.Kind)
		}
	}
	assert.Equal(t, []string{"workflow"}, withParam)

	res := d.pebble("run-workflow", "broken")
	assert.Equal(t, 1, res.code)
	assert.Contains(t, res.stderr, "exited with code 4")
	_, err := os.Stat(filepath.Join(dir, "after"))
	assert.True(t, os.IsNotExist(err), "the step after a failed one-shot ran")

	// A service with log-access: admin: its output stays out of the step's
	// task log and error, which every reader sees (docs/privacy.md).
	res = d.pebble("run-workflow", "private")
	assert.Equal(t, 1, res.code)
	assert.Contains(t, res.stderr, "exited with code 5")
	assert.NotContains(t, res.stdout+res.stderr, "private-output")
	chgs := d.changes()
	status, env := d.request("GET", "/v1/changes/"+chgs[len(chgs)-1].ID, nil)
	require.Equal(t, 200, status)
	assert.Contains(t, string(env.Result), "Its last output is not shown here")
	assert.NotContains(t, string(env.Result), "private-output")
	d.stop()
}
