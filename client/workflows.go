package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// This file is our addition to Pebble's client: the workflows of the plan
// (docs/workflows.md).

// WorkflowsOptions select the workflows a Workflows call reports.
type WorkflowsOptions struct {
	// Names keeps only the workflows with these names; empty means all.
	Names []string
}

// WorkflowInfo is one workflow of the plan.
type WorkflowInfo struct {
	Name        string `json:"name" yaml:"name"`
	Summary     string `json:"summary,omitempty" yaml:"summary,omitempty"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`

	// Phases are the workflow's phases, in the order they run.
	Phases []WorkflowPhase `json:"phases" yaml:"phases"`

	// LastRun is the latest run the daemon keeps; nil if none.
	LastRun *WorkflowRun `json:"last-run,omitempty" yaml:"last-run,omitempty"`
}

// WorkflowPhase is one phase of a workflow.
type WorkflowPhase struct {
	Name string `json:"name" yaml:"name"`
	// Strategy is "serial" or "parallel".
	Strategy string `json:"strategy" yaml:"strategy"`
	// Steps are written as in the layer: "stop: web", "exec: /bin/x".
	Steps []string `json:"steps" yaml:"steps"`
}

// WorkflowRun is the state of one run of a workflow: a change of kind
// "workflow".
type WorkflowRun struct {
	ChangeID string `json:"change-id" yaml:"change-id"`
	// Status is the change's status: "Doing", "Done", "Error", ...
	Status    string    `json:"status" yaml:"status"`
	SpawnTime time.Time `json:"spawn-time" yaml:"spawn-time"`
	ReadyTime time.Time `json:"ready-time,omitzero" yaml:"ready-time,omitempty"` // zero until ready
}

// Workflows reports the workflows of the plan, sorted by name, with their
// last run. A nil opts reports all of them.
func (c *Client) Workflows(ctx context.Context, opts *WorkflowsOptions) ([]*WorkflowInfo, error) {
	query := url.Values{}
	if opts != nil && len(opts.Names) > 0 {
		query.Set("names", strings.Join(opts.Names, ","))
	}
	rsp, err := c.do(ctx, &request{method: http.MethodGet, path: "/v1/workflows", query: query})
	if err != nil {
		return nil, err
	}
	var out []*WorkflowInfo
	if err := rsp.decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

// RunWorkflowOptions say which workflow RunWorkflow runs, and with what.
type RunWorkflowOptions struct {
	// Name is the workflow of the plan to run; required.
	Name string
	// Params are given to the workflow's exec and run steps as
	// environment variables.
	Params map[string]string
}

// RunWorkflow starts a run of a workflow of the plan and returns the ID of
// its change; wait for it with WaitChange.
func (c *Client) RunWorkflow(ctx context.Context, opts *RunWorkflowOptions) (changeID string, err error) {
	if opts == nil || opts.Name == "" {
		return "", errors.New("cannot run workflow: no name given")
	}
	body := struct {
		Action string            `json:"action"`
		Name   string            `json:"name"`
		Params map[string]string `json:"params,omitempty"`
	}{"run", opts.Name, opts.Params}
	rsp, err := c.do(ctx, &request{method: http.MethodPost, path: "/v1/workflows", body: body, async: true})
	if err != nil {
		return "", err
	}
	return rsp.changeID, nil
}
