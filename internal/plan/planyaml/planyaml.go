// Package planyaml prints plans and layers as YAML, in the format of
// layers.md §9 that `pebble plan` shows. plan.ParseLayer reads a printed
// layer back into an equal layer. Like the plan package it is pure.
package planyaml

import (
	"bytes"

	"gopkg.in/yaml.v3"

	"github.com/pebble-project/pebble/internal/plan"
)

// Plan returns p in the format of layers.md §9: 4-space indentation,
// block style, sections and fields in the spec's order, map keys sorted,
// unset fields left out (so defaults are not printed), durations in Go's
// canonical form, and `{}` for an empty plan. Check thresholds are always
// printed; log target type, location and services always are.
func Plan(p *plan.Plan) ([]byte, error) {
	out := &yamlDoc{
		Services:   entriesOut(p.Services, serviceOut),
		Checks:     entriesOut(p.Checks, func(c *plan.Check) *yamlCheck { return checkOut(c, true) }),
		LogTargets: entriesOut(p.LogTargets, logTargetOut),
		Workloads:  entriesOut(p.Workloads, workloadOut),
		Pairing:    pairingOut(p.Pairing),
		Workflows:  entriesOut(p.Workflows, workflowOut),
	}
	return marshalYAML(out)
}

// Layer returns l in the plan format (see Plan), with its summary and
// description first. Check thresholds are printed only when set.
// plan.ParseLayer reads the output back into an equal layer.
func Layer(l *plan.Layer) ([]byte, error) {
	out := &yamlDoc{
		Summary:     l.Summary,
		Description: l.Description,
		Services:    entriesOut(l.Services, serviceOut),
		Checks:      entriesOut(l.Checks, func(c *plan.Check) *yamlCheck { return checkOut(c, false) }),
		LogTargets:  entriesOut(l.LogTargets, logTargetOut),
		Workloads:   entriesOut(l.Workloads, workloadOut),
		Pairing:     pairingOut(l.Pairing),
		Workflows:   entriesOut(l.Workflows, workflowOut),
	}
	return marshalYAML(out)
}

func marshalYAML(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(4)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// The yaml* types fix the field order and omission rules of the output.

type yamlDoc struct {
	Summary     string                   `yaml:"summary,omitempty"`
	Description string                   `yaml:"description,omitempty"`
	Services    map[string]*yamlService  `yaml:"services,omitempty"`
	Checks      map[string]*yamlCheck    `yaml:"checks,omitempty"`
	LogTargets  map[string]*yamlTarget   `yaml:"log-targets,omitempty"`
	Workloads   map[string]*yamlWorkload `yaml:"workloads,omitempty"`
	Pairing     *yamlPairing             `yaml:"pairing,omitempty"`
	Workflows   map[string]*yamlWorkflow `yaml:"workflows,omitempty"`
}

type yamlService struct {
	Summary        string                        `yaml:"summary,omitempty"`
	Description    string                        `yaml:"description,omitempty"`
	Startup        plan.ServiceStartup           `yaml:"startup,omitempty"`
	Override       plan.Override                 `yaml:"override,omitempty"`
	Command        string                        `yaml:"command,omitempty"`
	After          []string                      `yaml:"after,omitempty"`
	Before         []string                      `yaml:"before,omitempty"`
	Requires       []string                      `yaml:"requires,omitempty"`
	Workload       string                        `yaml:"workload,omitempty"`
	Environment    map[string]string             `yaml:"environment,omitempty"`
	UserID         *int                          `yaml:"user-id,omitempty"`
	User           string                        `yaml:"user,omitempty"`
	GroupID        *int                          `yaml:"group-id,omitempty"`
	Group          string                        `yaml:"group,omitempty"`
	WorkingDir     string                        `yaml:"working-dir,omitempty"`
	OnSuccess      plan.ServiceAction            `yaml:"on-success,omitempty"`
	OnFailure      plan.ServiceAction            `yaml:"on-failure,omitempty"`
	OnCheckFailure map[string]plan.ServiceAction `yaml:"on-check-failure,omitempty"`
	BackoffDelay   string                        `yaml:"backoff-delay,omitempty"`
	BackoffFactor  *float64                      `yaml:"backoff-factor,omitempty"`
	BackoffLimit   string                        `yaml:"backoff-limit,omitempty"`
	KillDelay      string                        `yaml:"kill-delay,omitempty"`
	Limits         *yamlLimits                   `yaml:"limits,omitempty"`
	ChargeGroup    string                        `yaml:"charge-group,omitempty"`
	Readiness      *yamlReadiness                `yaml:"readiness,omitempty"`
	StartTimeout   string                        `yaml:"start-timeout,omitempty"`
	Type           plan.ServiceType              `yaml:"type,omitempty"`
	EnvFile        string                        `yaml:"environment-file,omitempty"`
	LogAccess      plan.LogAccess                `yaml:"log-access,omitempty"`

	RestartLimit     *int               `yaml:"restart-limit,omitempty"`
	RestartWindow    string             `yaml:"restart-window,omitempty"`
	OnRestartLimit   plan.ServiceAction `yaml:"on-restart-limit,omitempty"`
	SuccessExitCodes []int              `yaml:"success-exit-codes,omitempty,flow"`
	StopSignal       string             `yaml:"stop-signal,omitempty"`
	ReloadSignal     string             `yaml:"reload-signal,omitempty"`
	ReloadCommand    string             `yaml:"reload-command,omitempty"`

	Schedule string `yaml:"schedule,omitempty"`
}

// yamlLimits prints byte sizes in binary units and "unlimited" as written.
type yamlLimits struct {
	Memory  string   `yaml:"memory,omitempty"`
	Pids    string   `yaml:"pids,omitempty"`
	CPU     *float64 `yaml:"cpu,omitempty"`
	NoFile  string   `yaml:"nofile,omitempty"`
	NProc   string   `yaml:"nproc,omitempty"`
	Core    string   `yaml:"core,omitempty"`
	Stack   string   `yaml:"stack,omitempty"`
	AS      string   `yaml:"as,omitempty"`
	CPUTime string   `yaml:"cpu-time,omitempty"`
}

// yamlReadiness is printed as an empty mapping when a layer wrote one (it
// resets readiness to Pebble's rule).
type yamlReadiness struct {
	Check  string `yaml:"check,omitempty"`
	Notify bool   `yaml:"notify,omitempty"`
}

type yamlCheck struct {
	Override    plan.Override     `yaml:"override,omitempty"`
	Level       plan.CheckLevel   `yaml:"level,omitempty"`
	Startup     plan.CheckStartup `yaml:"startup,omitempty"`
	Period      string            `yaml:"period,omitempty"`
	Timeout     string            `yaml:"timeout,omitempty"`
	Threshold   *int              `yaml:"threshold,omitempty"`
	StartPeriod string            `yaml:"start-period,omitempty"`
	HTTP        *yamlHTTPDesc     `yaml:"http,omitempty"`
	TCP         *yamlTCPDesc      `yaml:"tcp,omitempty"`
	Exec        *yamlExecDesc     `yaml:"exec,omitempty"`
}

type yamlHTTPDesc struct {
	URL     string            `yaml:"url,omitempty"`
	Headers map[string]string `yaml:"headers,omitempty"`
}

type yamlTCPDesc struct {
	Port int    `yaml:"port,omitempty"`
	Host string `yaml:"host,omitempty"`
}

type yamlExecDesc struct {
	Command        string            `yaml:"command,omitempty"`
	ServiceContext string            `yaml:"service-context,omitempty"`
	Environment    map[string]string `yaml:"environment,omitempty"`
	UserID         *int              `yaml:"user-id,omitempty"`
	User           string            `yaml:"user,omitempty"`
	GroupID        *int              `yaml:"group-id,omitempty"`
	Group          string            `yaml:"group,omitempty"`
	WorkingDir     string            `yaml:"working-dir,omitempty"`
}

type yamlTarget struct {
	Type     plan.LogTargetType `yaml:"type"`
	Location string             `yaml:"location"`
	Services []string           `yaml:"services"`
	Override plan.Override      `yaml:"override,omitempty"`
	Labels   map[string]string  `yaml:"labels,omitempty"`
}

type yamlWorkload struct {
	Override    plan.Override     `yaml:"override,omitempty"`
	Environment map[string]string `yaml:"environment,omitempty"`
	UserID      *int              `yaml:"user-id,omitempty"`
	User        string            `yaml:"user,omitempty"`
	GroupID     *int              `yaml:"group-id,omitempty"`
	Group       string            `yaml:"group,omitempty"`
}

type yamlPairing struct {
	Mode plan.PairingMode `yaml:"mode,omitempty"`
}

// entriesOut converts a section; nil entries (possible only in unvalidated
// layers) are printed as null.
func entriesOut[T, O any](m map[string]*T, conv func(*T) *O) map[string]*O {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]*O, len(m))
	for k, v := range m {
		if v == nil {
			out[k] = nil
			continue
		}
		out[k] = conv(v)
	}
	return out
}

func durationOut(d plan.OptionalDuration) string {
	if !d.IsSet {
		return ""
	}
	return d.Value.String()
}

func serviceOut(s *plan.Service) *yamlService {
	o := &yamlService{
		Summary:        s.Summary,
		Description:    s.Description,
		Startup:        s.Startup,
		Override:       s.Override,
		Command:        s.Command,
		After:          s.After,
		Before:         s.Before,
		Requires:       s.Requires,
		Workload:       s.Workload,
		Environment:    s.Environment,
		UserID:         s.UserID,
		User:           s.User,
		GroupID:        s.GroupID,
		Group:          s.Group,
		WorkingDir:     s.WorkingDir,
		OnSuccess:      s.OnSuccess,
		OnFailure:      s.OnFailure,
		OnCheckFailure: s.OnCheckFailure,
		BackoffDelay:   durationOut(s.BackoffDelay),
		BackoffLimit:   durationOut(s.BackoffLimit),
		KillDelay:      durationOut(s.KillDelay),
		Limits:         limitsOut(s.Limits),
		ChargeGroup:    s.ChargeGroup,
		StartTimeout:   durationOut(s.StartTimeout),
		Type:           s.Type,
		EnvFile:        s.EnvironmentFile,
		LogAccess:      s.LogAccess,

		RestartLimit:     s.RestartLimit,
		RestartWindow:    durationOut(s.RestartWindow),
		OnRestartLimit:   s.OnRestartLimit,
		SuccessExitCodes: s.SuccessExitCodes,
		StopSignal:       s.StopSignal,
		ReloadSignal:     s.ReloadSignal,
		ReloadCommand:    s.ReloadCommand,

		Schedule: s.Schedule,
	}
	if r := s.Readiness; r != nil {
		o.Readiness = &yamlReadiness{Check: r.Check, Notify: r.Notify}
	}
	if s.BackoffFactor.IsSet {
		f := s.BackoffFactor.Value
		o.BackoffFactor = &f
	}
	return o
}

func limitsOut(l plan.Limits) *yamlLimits {
	if l.IsZero() {
		return nil
	}
	out := func(v plan.OptionalLimit, bytes bool) string {
		if !v.IsSet {
			return ""
		}
		return plan.FormatLimit(v.Value, bytes)
	}
	o := &yamlLimits{
		Memory:  out(l.Memory, true),
		Pids:    out(l.Pids, false),
		NoFile:  out(l.NoFile, false),
		NProc:   out(l.NProc, false),
		Core:    out(l.Core, true),
		Stack:   out(l.Stack, true),
		AS:      out(l.AS, true),
		CPUTime: out(l.CPUTime, false),
	}
	if l.CPU.IsSet {
		c := l.CPU.Value
		o.CPU = &c
	}
	return o
}

// checkOut converts a check. In a plan the threshold is always printed and a
// set timeout is printed capped at the period.
func checkOut(c *plan.Check, inPlan bool) *yamlCheck {
	o := &yamlCheck{
		Override:    c.Override,
		Level:       c.Level,
		Startup:     c.Startup,
		Period:      durationOut(c.Period),
		Timeout:     durationOut(c.Timeout),
		StartPeriod: durationOut(c.StartPeriod),
	}
	if inPlan && c.Timeout.IsSet {
		o.Timeout = min(c.Timeout.Value, c.EffectivePeriod()).String()
	}
	if inPlan || c.Threshold != 0 {
		t := c.Threshold
		if inPlan {
			t = c.EffectiveThreshold()
		}
		o.Threshold = &t
	}
	if h := c.HTTP; h != nil {
		o.HTTP = &yamlHTTPDesc{URL: h.URL, Headers: h.Headers}
	}
	if t := c.TCP; t != nil {
		o.TCP = &yamlTCPDesc{Port: t.Port, Host: t.Host}
	}
	if e := c.Exec; e != nil {
		o.Exec = &yamlExecDesc{
			Command:        e.Command,
			ServiceContext: e.ServiceContext,
			Environment:    e.Environment,
			UserID:         e.UserID,
			User:           e.User,
			GroupID:        e.GroupID,
			Group:          e.Group,
			WorkingDir:     e.WorkingDir,
		}
	}
	return o
}

func logTargetOut(t *plan.LogTarget) *yamlTarget {
	return &yamlTarget{
		Type:     t.Type,
		Location: t.Location,
		Services: t.Services,
		Override: t.Override,
		Labels:   t.Labels,
	}
}

func workloadOut(w *plan.Workload) *yamlWorkload {
	return &yamlWorkload{
		Override:    w.Override,
		Environment: w.Environment,
		UserID:      w.UserID,
		User:        w.User,
		GroupID:     w.GroupID,
		Group:       w.Group,
	}
}

func pairingOut(p *plan.Pairing) *yamlPairing {
	if p == nil || p.Mode == plan.PairingUnset {
		return nil
	}
	return &yamlPairing{Mode: p.Mode}
}

type yamlWorkflow struct {
	Override    plan.Override `yaml:"override,omitempty"`
	Summary     string        `yaml:"summary,omitempty"`
	Description string        `yaml:"description,omitempty"`
	Phases      []yamlPhase   `yaml:"phases,omitempty"`
}

type yamlPhase struct {
	Name     string        `yaml:"name"`
	Strategy plan.Strategy `yaml:"strategy,omitempty"`
	Steps    []yamlStep    `yaml:"steps"`
}

type yamlStep struct {
	Start       string            `yaml:"start,omitempty"`
	Stop        string            `yaml:"stop,omitempty"`
	Restart     string            `yaml:"restart,omitempty"`
	Run         string            `yaml:"run,omitempty"`
	Exec        string            `yaml:"exec,omitempty"`
	WaitCheck   string            `yaml:"wait-check,omitempty"`
	UserID      *int              `yaml:"user-id,omitempty"`
	User        string            `yaml:"user,omitempty"`
	GroupID     *int              `yaml:"group-id,omitempty"`
	Group       string            `yaml:"group,omitempty"`
	WorkingDir  string            `yaml:"working-dir,omitempty"`
	Environment map[string]string `yaml:"environment,omitempty"`
	Timeout     string            `yaml:"timeout,omitempty"`
	Retries     int               `yaml:"retries,omitempty"`
}

func workflowOut(w *plan.Workflow) *yamlWorkflow {
	o := &yamlWorkflow{Override: w.Override, Summary: w.Summary, Description: w.Description}
	for _, p := range w.Phases {
		yp := yamlPhase{Name: p.Name, Strategy: p.Strategy, Steps: []yamlStep{}}
		for _, s := range p.Steps {
			yp.Steps = append(yp.Steps, yamlStep{
				Start: s.Start, Stop: s.Stop, Restart: s.Restart, Run: s.Run, Exec: s.Exec, WaitCheck: s.WaitCheck,
				UserID: s.UserID, User: s.User, GroupID: s.GroupID, Group: s.Group,
				WorkingDir: s.WorkingDir, Environment: s.Environment,
				Timeout: durationOut(s.Timeout), Retries: s.Retries,
			})
		}
		o.Phases = append(o.Phases, yp)
	}
	return o
}
