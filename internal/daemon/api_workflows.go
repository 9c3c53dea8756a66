package daemon

import (
	"net/http"
	"time"

	"github.com/pebble-project/pebble/internal/workflow"
)

// Workflows lists and runs the plan's workflows (docs/workflows.md), an
// addition to Pebble's API; internal/workflow's Runner satisfies it.
type Workflows interface {
	// Workflows returns the named workflows (all when names is empty),
	// sorted by name, each with its last run.
	Workflows(names []string) []workflow.Info
	// Run starts the change that runs a workflow and returns its ID.
	Run(name string, params map[string]string) (changeID string, err error)
}

type workflowJSON struct {
	Name        string           `json:"name"`
	Summary     string           `json:"summary,omitempty"`
	Description string           `json:"description,omitempty"`
	Phases      []phaseJSON      `json:"phases"`
	LastRun     *workflowRunJSON `json:"last-run,omitempty"`
}

type phaseJSON struct {
	Name     string   `json:"name"`
	Strategy string   `json:"strategy"`
	Steps    []string `json:"steps"`
}

type workflowRunJSON struct {
	ChangeID  string     `json:"change-id"`
	Status    string     `json:"status"`
	SpawnTime time.Time  `json:"spawn-time"`
	ReadyTime *time.Time `json:"ready-time,omitempty"`
}

// getWorkflows serves GET /v1/workflows: the plan's workflows (those of
// ?names= only, when given) with their phases, their steps written as in
// the layer ("stop: web") and their last run.
func (a *api) getWorkflows(r *http.Request, cl *caller) response {
	out := []workflowJSON{}
	if a.workflows == nil {
		return syncResponse(out)
	}
	for _, info := range a.workflows.Workflows(multiValue(r, "names")) {
		w := info.Workflow
		wj := workflowJSON{Name: w.Name, Summary: w.Summary, Description: w.Description, Phases: []phaseJSON{}}
		for _, ph := range w.Phases {
			pj := phaseJSON{Name: ph.Name, Strategy: string(ph.EffectiveStrategy()), Steps: []string{}}
			for i := range ph.Steps {
				action, target := ph.Steps[i].Action()
				pj.Steps = append(pj.Steps, string(action)+": "+target)
			}
			wj.Phases = append(wj.Phases, pj)
		}
		if run := info.LastRun; run != nil {
			wj.LastRun = &workflowRunJSON{ChangeID: run.ChangeID, Status: run.Status.String(),
				SpawnTime: run.SpawnTime, ReadyTime: optionalTime(run.ReadyTime)}
		}
		out = append(out, wj)
	}
	return syncResponse(out)
}

// postWorkflows serves POST /v1/workflows: {"action": "run", "name": ...,
// "params": {...}} starts a run and answers with its change.
func (a *api) postWorkflows(r *http.Request, cl *caller) response {
	var req struct {
		Action string            `json:"action"`
		Name   string            `json:"name"`
		Params map[string]string `json:"params"`
	}
	if resp := decodeJSON(r, decodeDataBody, &req); resp != nil {
		return resp
	}
	switch {
	case req.Action != "run":
		return badRequest("invalid action %q", req.Action)
	case req.Name == "":
		return badRequest("must specify the workflow to run")
	case a.workflows == nil:
		return notFound("cannot find workflow %q", req.Name)
	}
	id, err := a.workflows.Run(req.Name, req.Params)
	if err != nil {
		return errorResponse(err)
	}
	return asyncResponse(id, nil)
}
