package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/pebble-project/pebble/client"
	"github.com/pebble-project/pebble/internal/cli/command"
)

// The workflow commands, our addition to Pebble's CLI (docs/workflows.md):
// workflows and run-workflow. The second is not "run", which is Pebble's
// command that runs the daemon.

var workflowsInfo = &command.Info{
	Name:    "workflows",
	Summary: summaries["workflows"],
	Description: `
The workflows command lists the workflows of the plan, or those named, with
their phases and the change of their last run.`,
	Usage: "[workflows-OPTIONS] [<workflow>...]",
	Args:  []command.PosArg{{Name: "<workflow>", Rest: true, Optional: true}},
	New:   func() command.Command { return &cmdWorkflows{} },
}

var runWorkflowInfo = &command.Info{
	Name:    "run-workflow",
	Summary: summaries["run-workflow"],
	Description: `
The run-workflow command runs a workflow of the plan as one change, a task
per step, and waits for it to finish, showing the steps' logs as they come.
Each --param KEY=VALUE is given to the workflow's exec and run steps as an
environment variable.`,
	Usage: "[run-workflow-OPTIONS] <workflow>",
	Args:  []command.PosArg{{Name: "<workflow>"}},
	New:   func() command.Command { return &cmdRunWorkflow{} },
}

type cmdWorkflows struct {
	format string
}

func (c *cmdWorkflows) Flags(fs *command.FlagSet) {
	command.FormatFlag(fs, &c.format)
}

func (c *cmdWorkflows) Run(ctx context.Context, e *command.Env, names []string) error {
	cli, err := e.Client()
	if err != nil {
		return err
	}
	workflows, err := cli.Workflows(ctx, &client.WorkflowsOptions{Names: names})
	if err != nil {
		return err
	}
	if c.format != "text" {
		return command.WriteNonText(e.Stdout, c.format, struct {
			Workflows []*client.WorkflowInfo `json:"workflows" yaml:"workflows"`
		}{workflows})
	}
	if len(workflows) == 0 {
		if len(names) == 0 {
			fmt.Fprintln(e.Stderr, "Plan has no workflows.")
		} else {
			fmt.Fprintln(e.Stderr, "No matching workflows.")
		}
		return nil
	}
	w := command.NewTable(e.Stdout)
	fmt.Fprintln(w, "Workflow\tPhases\tLast run\tStatus\tSummary")
	for _, wf := range workflows {
		var phases []string
		for _, ph := range wf.Phases {
			phases = append(phases, ph.Name)
		}
		run, status := "-", "-"
		if wf.LastRun != nil {
			run, status = wf.LastRun.ChangeID, wf.LastRun.Status
		}
		summary := wf.Summary
		if summary == "" {
			summary = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", wf.Name, strings.Join(phases, ","), run, status, summary)
	}
	return w.Flush()
}

type cmdRunWorkflow struct {
	params []string
	noWait bool
}

func (c *cmdRunWorkflow) Flags(fs *command.FlagSet) {
	fs.Strings(&c.params, 0, "param", "", "Parameter to give the exec and run steps (in 'KEY=VALUE' format)")
	command.NoWaitFlag(fs, &c.noWait)
}

func (c *cmdRunWorkflow) Run(ctx context.Context, e *command.Env, args []string) error {
	params := map[string]string{}
	for _, kv := range c.params {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("invalid parameter %q: must be KEY=VALUE", kv)
		}
		params[k] = v
	}
	cli, err := e.Client()
	if err != nil {
		return err
	}
	changeID, err := cli.RunWorkflow(ctx, &client.RunWorkflowOptions{Name: args[0], Params: params})
	if err != nil {
		return err
	}
	return waitUnless(ctx, e, cli, changeID, c.noWait)
}
