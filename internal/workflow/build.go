package workflow

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/pebble-project/pebble/internal/changes"
	"github.com/pebble-project/pebble/internal/plan"
)

// The kinds of a run's change and of its tasks.
const (
	ChangeKind = "workflow"
	StepKind   = "workflow-step"
)

// dataKey is the entry of a run's change data that names its workflow.
const dataKey = "workflow"

// stepData is the data of a step's task: everything the step needs, frozen
// when the run's change is made.
type stepData struct {
	Workflow string          `json:"workflow"`
	Phase    string          `json:"phase"`
	Step     int             `json:"step"` // counted from 1 in its phase
	Action   plan.StepAction `json:"action"`
	Target   string          `json:"target"`
	Timeout  time.Duration   `json:"timeout,omitempty"`
	Retries  int             `json:"retries,omitempty"`
	Exec     *execData       `json:"exec,omitempty"`
	// Params are the run's parameters, given to exec and run steps.
	Params map[string]string `json:"params,omitempty"`
}

// execData is what an exec step runs as.
type execData struct {
	UserID      *int              `json:"user-id,omitempty"`
	User        string            `json:"user,omitempty"`
	GroupID     *int              `json:"group-id,omitempty"`
	Group       string            `json:"group,omitempty"`
	WorkingDir  string            `json:"working-dir,omitempty"`
	Environment map[string]string `json:"environment,omitempty"`
}

// newChange builds the change that runs w with params: one task per step,
// in the order of the phases and their steps. A step of a serial phase
// waits for the step before it; the first step of a serial phase and every
// step of a parallel phase wait for the previous phase: for all its steps
// if it was parallel, for its last step if it was serial.
func newChange(w *plan.Workflow, params map[string]string) changes.NewChange {
	nc := changes.NewChange{
		Kind:    ChangeKind,
		Summary: fmt.Sprintf("Run workflow %q", w.Name),
		Data:    map[string]any{dataKey: w.Name},
	}
	var previous []int // the tasks the next phase waits for
	for _, ph := range w.Phases {
		serial := ph.EffectiveStrategy() == plan.StrategySerial
		var current []int
		for j := range ph.Steps {
			s := &ph.Steps[j]
			index := len(nc.Tasks)
			spec := changes.TaskSpec{
				Kind:    StepKind,
				Summary: stepSummary(ph.Name, s),
				Data:    newStepData(w.Name, ph.Name, j, s, params),
				WaitFor: slices.Clone(previous),
			}
			if serial && j > 0 {
				spec.WaitFor = []int{index - 1}
			}
			nc.Tasks = append(nc.Tasks, spec)
			current = append(current, index)
			if action, target := s.Action(); action != plan.StepExec && action != plan.StepWaitCheck && !slices.Contains(nc.Services, target) {
				nc.Services = append(nc.Services, target)
			}
		}
		previous = current
		if serial {
			previous = current[len(current)-1:]
		}
	}
	return nc
}

func newStepData(workflow, phase string, index int, s *plan.Step, params map[string]string) stepData {
	action, target := s.Action()
	d := stepData{
		Workflow: workflow,
		Phase:    phase,
		Step:     index + 1,
		Action:   action,
		Target:   target,
		Retries:  s.Retries,
	}
	if s.Timeout.IsSet {
		d.Timeout = s.Timeout.Value
	}
	if action == plan.StepExec {
		d.Exec = &execData{
			UserID: s.UserID, User: s.User, GroupID: s.GroupID, Group: s.Group,
			WorkingDir: s.WorkingDir, Environment: maps.Clone(s.Environment),
		}
	}
	if (action == plan.StepExec || action == plan.StepRun) && len(params) > 0 {
		d.Params = maps.Clone(params)
	}
	return d
}

// stepSummary is a step's task summary: `[drain] Stop service "web"`.
func stepSummary(phase string, s *plan.Step) string {
	action, target := s.Action()
	var what string
	switch action {
	case plan.StepStart:
		what = fmt.Sprintf("Start service %q", target)
	case plan.StepStop:
		what = fmt.Sprintf("Stop service %q", target)
	case plan.StepRestart:
		what = fmt.Sprintf("Restart service %q", target)
	case plan.StepRun:
		what = fmt.Sprintf("Run one-shot service %q", target)
	case plan.StepExec:
		what = fmt.Sprintf("Execute %q", target)
	case plan.StepWaitCheck:
		what = fmt.Sprintf("Wait for check %q", target)
	}
	return fmt.Sprintf("[%s] %s", phase, what)
}

// checkParams refuses parameters no process can be given: an empty name, a
// name with "=", and text with a NUL byte or invalid UTF-8.
func checkParams(params map[string]string) error {
	for _, name := range slices.Sorted(maps.Keys(params)) {
		bad := plan.TextProblem(name)
		if bad == "" && (name == "" || strings.Contains(name, "=")) {
			bad = `is empty or contains "="`
		}
		if bad != "" {
			return fmt.Errorf("parameter name %q %s", name, bad)
		}
		if bad := plan.TextProblem(params[name]); bad != "" {
			return fmt.Errorf("parameter %q value %s", name, bad)
		}
	}
	return nil
}
