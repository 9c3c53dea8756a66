package plan

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pebble-project/pebble/internal/plan/cmdline"
)

// This file holds the workflows section (docs/workflows.md): named, ordered
// lifecycle procedures made of phases of steps. The section is ours, not
// Pebble's; a layer without it parses and combines exactly as before.

// Strategy says how the steps of a phase run.
type Strategy string

// The phase strategies; unset behaves like serial.
const (
	StrategyUnset    Strategy = ""
	StrategySerial   Strategy = "serial"
	StrategyParallel Strategy = "parallel"
)

// StepAction names what a workflow step does.
type StepAction string

// The step actions, in the order a step's fields are listed.
const (
	StepStart     StepAction = "start"
	StepStop      StepAction = "stop"
	StepRestart   StepAction = "restart"
	StepRun       StepAction = "run"
	StepExec      StepAction = "exec"
	StepWaitCheck StepAction = "wait-check"
)

// Workflow is a workflows entry of a layer or of the combined plan.
type Workflow struct {
	// Name is the map key; it is not part of the YAML.
	Name string

	Override    Override
	Summary     string
	Description string
	Phases      []Phase
}

// Phase is one phase of a workflow: its steps run one after the other
// (serial) or together (parallel), after the previous phase succeeded.
type Phase struct {
	Name     string
	Strategy Strategy
	Steps    []Step
}

// Step is one step of a phase. Exactly one of Start, Stop, Restart, Run,
// Exec and WaitCheck is set; the user, group, working-dir and environment
// fields belong to exec steps.
type Step struct {
	Start     string
	Stop      string
	Restart   string
	Run       string
	Exec      string
	WaitCheck string

	UserID      *int
	User        string
	GroupID     *int
	Group       string
	WorkingDir  string
	Environment map[string]string

	Timeout OptionalDuration
	Retries int

	// Layer is the label of the layer that defined the step, set when
	// layers are combined so that plan errors can name it; it is not part
	// of the YAML.
	Layer string
}

// EffectiveStrategy is the phase's strategy: strategy, or serial.
func (p *Phase) EffectiveStrategy() Strategy {
	if p.Strategy == StrategyUnset {
		return StrategySerial
	}
	return p.Strategy
}

// Actions returns the actions the step sets, with their targets, in the
// order of the StepAction constants. A valid step has exactly one.
func (s *Step) Actions() []StepAction {
	var out []StepAction
	for _, a := range []struct {
		action StepAction
		target string
	}{
		{StepStart, s.Start}, {StepStop, s.Stop}, {StepRestart, s.Restart},
		{StepRun, s.Run}, {StepExec, s.Exec}, {StepWaitCheck, s.WaitCheck},
	} {
		if a.target != "" {
			out = append(out, a.action)
		}
	}
	return out
}

// Action returns the step's action and its target: a service name, a
// check name or the exec command line. For an invalid step it returns the
// first action set, or "" for none.
func (s *Step) Action() (StepAction, string) {
	actions := s.Actions()
	if len(actions) == 0 {
		return "", ""
	}
	switch actions[0] {
	case StepStart:
		return StepStart, s.Start
	case StepStop:
		return StepStop, s.Stop
	case StepRestart:
		return StepRestart, s.Restart
	case StepRun:
		return StepRun, s.Run
	case StepExec:
		return StepExec, s.Exec
	}
	return StepWaitCheck, s.WaitCheck
}

// Copy returns a deep copy of w.
func (w *Workflow) Copy() *Workflow {
	n := *w
	n.Phases = copyPhases(w.Phases)
	return &n
}

func copyPhases(phases []Phase) []Phase {
	if phases == nil {
		return nil
	}
	out := make([]Phase, len(phases))
	for i := range phases {
		out[i] = *phases[i].Copy()
	}
	return out
}

// Merge folds other into w: summary and description replace when set; a
// phase of other whose name w already has is merged into it (see
// (*Phase).Merge), the others are appended in their order. Name and
// Override are left alone.
func (w *Workflow) Merge(other *Workflow) {
	mergeString(&w.Summary, other.Summary)
	mergeString(&w.Description, other.Description)
	if len(other.Phases) == 0 {
		return
	}
	phases := copyPhases(w.Phases)
	for i := range other.Phases {
		op := &other.Phases[i]
		if j := slices.IndexFunc(phases, func(p Phase) bool { return p.Name == op.Name }); j >= 0 {
			phases[j].Merge(op)
			continue
		}
		phases = append(phases, *op.Copy())
	}
	w.Phases = phases
}

// Equal reports whether w and other define the same workflow.
func (w *Workflow) Equal(other *Workflow) bool {
	if w == nil || other == nil {
		return w == other
	}
	return w.Name == other.Name &&
		w.Override == other.Override &&
		w.Summary == other.Summary &&
		w.Description == other.Description &&
		slices.EqualFunc(w.Phases, other.Phases, func(a, b Phase) bool { return a.Equal(&b) })
}

// Copy returns a deep copy of p.
func (p *Phase) Copy() *Phase {
	n := *p
	if p.Steps != nil {
		n.Steps = make([]Step, len(p.Steps))
		for i := range p.Steps {
			n.Steps[i] = *p.Steps[i].Copy()
		}
	}
	return &n
}

// Merge folds other into p: the strategy replaces when set, and other's
// steps are appended. The name is kept.
func (p *Phase) Merge(other *Phase) {
	mergeString(&p.Strategy, other.Strategy)
	steps := slices.Clip(p.Steps)
	for i := range other.Steps {
		steps = append(steps, *other.Steps[i].Copy())
	}
	p.Steps = steps
}

// Equal reports whether p and other are the same phase.
func (p *Phase) Equal(other *Phase) bool {
	if p == nil || other == nil {
		return p == other
	}
	return p.Name == other.Name &&
		p.Strategy == other.Strategy &&
		slices.EqualFunc(p.Steps, other.Steps, func(a, b Step) bool { return a.Equal(&b) })
}

// Copy returns a deep copy of s.
func (s *Step) Copy() *Step {
	n := *s
	n.UserID = copyInt(s.UserID)
	n.GroupID = copyInt(s.GroupID)
	n.Environment = maps.Clone(s.Environment)
	return &n
}

// Equal reports whether s and other are the same step.
func (s *Step) Equal(other *Step) bool {
	if s == nil || other == nil {
		return s == other
	}
	return s.Start == other.Start &&
		s.Stop == other.Stop &&
		s.Restart == other.Restart &&
		s.Run == other.Run &&
		s.Exec == other.Exec &&
		s.WaitCheck == other.WaitCheck &&
		equalInt(s.UserID, other.UserID) &&
		s.User == other.User &&
		equalInt(s.GroupID, other.GroupID) &&
		s.Group == other.Group &&
		s.WorkingDir == other.WorkingDir &&
		maps.Equal(s.Environment, other.Environment) &&
		s.Timeout == other.Timeout &&
		s.Retries == other.Retries &&
		s.Layer == other.Layer
}

// withLayer returns a copy of w whose steps without a layer label name
// label.
func (w *Workflow) withLayer(label string) *Workflow {
	n := w.Copy()
	for i := range n.Phases {
		for j := range n.Phases[i].Steps {
			if s := &n.Phases[i].Steps[j]; s.Layer == "" {
				s.Layer = label
			}
		}
	}
	return n
}

func (w *Workflow) texts() []text {
	var b textsBuilder
	b.str("override", string(w.Override))
	b.str("summary", w.Summary)
	b.str("description", w.Description)
	for i, p := range w.Phases {
		b.str(fmt.Sprintf("phases[%d].name", i), p.Name)
		b.str(fmt.Sprintf("phases[%d].strategy", i), string(p.Strategy))
		for j, s := range p.Steps {
			prefix := fmt.Sprintf("phases[%d].steps[%d].", i, j)
			action, target := s.Action()
			b.str(prefix+string(action), target)
			b.str(prefix+"user", s.User)
			b.str(prefix+"group", s.Group)
			b.str(prefix+"working-dir", s.WorkingDir)
			textsMap(&b, prefix+"environment", s.Environment)
		}
	}
	return b
}

// stepWhere names a step in errors: `workflow "w" phase "p" step 2`
// (steps are counted from 1).
func stepWhere(workflow string, phase *Phase, index int) string {
	return fmt.Sprintf("workflow %q phase %q step %d", workflow, phase.Name, index+1)
}

// validateLayerWorkflow checks the rules of a workflows entry that need no
// other entry (docs/workflows.md): names, strategies, one action per step,
// exec-only fields, timeouts and retries.
func validateLayerWorkflow(label, name string, w *Workflow) error {
	switch {
	case name == "":
		return formatErrorf("layer %q: cannot use empty string as workflow name", label)
	case w == nil:
		return formatErrorf("layer %q: workflow object cannot be null for workflow %q", label, name)
	}
	seen := map[string]bool{}
	for i := range w.Phases {
		p := &w.Phases[i]
		switch {
		case p.Name == "":
			return formatErrorf("layer %q workflow %q phase %d: must have a name", label, name, i+1)
		case seen[p.Name]:
			return formatErrorf("layer %q workflow %q: phase %q defined twice", label, name, p.Name)
		case len(p.Steps) == 0:
			return formatErrorf("layer %q workflow %q phase %q: must have at least one step", label, name, p.Name)
		}
		seen[p.Name] = true
		switch p.Strategy {
		case StrategyUnset, StrategySerial, StrategyParallel:
		default:
			return formatErrorf(`layer %q workflow %q phase %q: strategy must be "serial" or "parallel", not %q`, label, name, p.Name, p.Strategy)
		}
		for j := range p.Steps {
			if err := validateLayerStep(&p.Steps[j]); err != nil {
				return formatErrorf("layer %q %s: %v", label, stepWhere(name, p, j), err)
			}
		}
	}
	return nil
}

func validateLayerStep(s *Step) error {
	actions := s.Actions()
	switch len(actions) {
	case 0:
		return fmt.Errorf("must have one of start, stop, restart, run, exec or wait-check")
	case 1:
	default:
		return fmt.Errorf("must have only one action, not %s and %s", actions[0], actions[1])
	}
	if s.Exec != "" {
		words, err := cmdline.Split(s.Exec)
		if err != nil {
			return fmt.Errorf("exec command invalid: %v", err)
		}
		if len(words) == 0 {
			return fmt.Errorf("exec command is empty")
		}
	} else if s.User != "" || s.UserID != nil || s.Group != "" || s.GroupID != nil || s.WorkingDir != "" || len(s.Environment) > 0 {
		return fmt.Errorf("user, group, working-dir and environment belong to exec steps, not %s", actions[0])
	}
	if s.Timeout.IsSet && s.Timeout.Value <= 0 {
		return fmt.Errorf("timeout must be positive, not %v", s.Timeout.Value)
	}
	if s.Retries < 0 {
		return fmt.Errorf("retries must not be negative, not %d", s.Retries)
	}
	return nil
}

// validateWorkflows checks the plan-level rules of the workflows section:
// every workflow has phases, and every step names a service or check of the
// plan and a user and group that exist. Errors name the layer that defined
// the step.
func (p *Plan) validateWorkflows() error {
	for _, name := range sortedKeys(p.Workflows) {
		w := p.Workflows[name]
		if len(w.Phases) == 0 {
			return formatErrorf("plan workflow %q must have at least one phase", name)
		}
		for i := range w.Phases {
			ph := &w.Phases[i]
			for j := range ph.Steps {
				if err := p.validateStep(&ph.Steps[j]); err != nil {
					return formatErrorf("layer %q %s: %v", ph.Steps[j].Layer, stepWhere(name, ph, j), err)
				}
			}
		}
	}
	return nil
}

func (p *Plan) validateStep(s *Step) error {
	action, target := s.Action()
	switch action {
	case StepStart, StepStop, StepRestart, StepRun:
		svc := p.Services[target]
		if svc == nil {
			return fmt.Errorf("%s names unknown service %q", action, target)
		}
		if action == StepRun && !svc.IsOneshot() {
			return fmt.Errorf(`run names service %q, which is not a one-shot (type: oneshot)`, target)
		}
	case StepWaitCheck:
		if p.Checks[target] == nil {
			return fmt.Errorf("wait-check names unknown check %q", target)
		}
	case StepExec:
		if err := checkIDs(s.UserID, s.GroupID, s.User, s.Group); err != nil {
			return fmt.Errorf("invalid user/group: %v", err)
		}
	}
	return nil
}

// isEnvironmentField reports whether the keys of a text field are
// environment variable names, which cannot hold "=".
func isEnvironmentField(field string) bool {
	return environmentFields[field] || strings.HasSuffix(field, ".environment")
}

func (d *decoder) workflow(name string, n *yaml.Node) (*Workflow, error) {
	w := &Workflow{Name: name}
	what := fmt.Sprintf("workflow %q", name)
	err := d.fields(n, what, "", map[string]field{
		"override":    enumField(d, &w.Override),
		"summary":     d.strField(&w.Summary),
		"description": d.strField(&w.Description),
		"phases": d.seqField("a list", func(i int, n *yaml.Node) error {
			w.Phases = append(w.Phases, Phase{})
			return d.phase(&w.Phases[len(w.Phases)-1], fmt.Sprintf("%s phase %d", what, i+1), n)
		}, nil),
	})
	return w, err
}

func (d *decoder) phase(p *Phase, what string, n *yaml.Node) error {
	return d.fields(n, what, "", map[string]field{
		"name":     d.strField(&p.Name),
		"strategy": enumField(d, &p.Strategy),
		"steps": d.seqField("a list", func(i int, n *yaml.Node) error {
			p.Steps = append(p.Steps, Step{})
			return d.step(&p.Steps[len(p.Steps)-1], fmt.Sprintf("%s step %d", what, i+1), n)
		}, nil),
	})
}

func (d *decoder) step(s *Step, what string, n *yaml.Node) error {
	return d.fields(n, what, "", map[string]field{
		"start":       d.strField(&s.Start),
		"stop":        d.strField(&s.Stop),
		"restart":     d.strField(&s.Restart),
		"run":         d.strField(&s.Run),
		"exec":        d.strField(&s.Exec),
		"wait-check":  d.strField(&s.WaitCheck),
		"user-id":     d.intPtrField(&s.UserID),
		"user":        d.strField(&s.User),
		"group-id":    d.intPtrField(&s.GroupID),
		"group":       d.strField(&s.Group),
		"working-dir": d.strField(&s.WorkingDir),
		"environment": d.mapField(&s.Environment),
		"timeout":     d.durationField(&s.Timeout),
		"retries":     d.intField(&s.Retries),
	})
}
