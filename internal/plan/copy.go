package plan

import (
	"maps"
	"slices"
)

// This file holds Copy, Merge and Equal for every entry type. Each of them
// names every field; copy_test.go fills every field by reflection and fails
// when one is forgotten, so a new field must be handled here.

// Copy returns a deep copy of s.
func (s *Service) Copy() *Service {
	c := *s
	c.After = slices.Clone(s.After)
	c.Before = slices.Clone(s.Before)
	c.Requires = slices.Clone(s.Requires)
	c.Environment = maps.Clone(s.Environment)
	c.UserID = copyInt(s.UserID)
	c.GroupID = copyInt(s.GroupID)
	c.OnCheckFailure = maps.Clone(s.OnCheckFailure)
	c.RestartLimit = copyInt(s.RestartLimit)
	c.SuccessExitCodes = slices.Clone(s.SuccessExitCodes)
	c.Readiness = s.Readiness.Copy()
	return &c
}

// Merge folds other into s following layers.md §7.2: non-empty strings and
// enums replace, durations, backoff-factor, user-id and group-id replace when
// present, lists are appended, maps are merged key by key and limits field
// by field (limits.go). Name and Override are left alone (§7.3).
func (s *Service) Merge(other *Service) {
	mergeString(&s.Summary, other.Summary)
	mergeString(&s.Description, other.Description)
	mergeString(&s.Startup, other.Startup)
	mergeString(&s.Command, other.Command)
	s.After = appendList(s.After, other.After)
	s.Before = appendList(s.Before, other.Before)
	s.Requires = appendList(s.Requires, other.Requires)
	mergeString(&s.Workload, other.Workload)
	s.Environment = mergeMap(s.Environment, other.Environment)
	mergeInt(&s.UserID, other.UserID)
	mergeString(&s.User, other.User)
	mergeInt(&s.GroupID, other.GroupID)
	mergeString(&s.Group, other.Group)
	mergeString(&s.WorkingDir, other.WorkingDir)
	mergeString(&s.OnSuccess, other.OnSuccess)
	mergeString(&s.OnFailure, other.OnFailure)
	s.OnCheckFailure = mergeMap(s.OnCheckFailure, other.OnCheckFailure)
	mergeDuration(&s.BackoffDelay, other.BackoffDelay)
	mergeFloat(&s.BackoffFactor, other.BackoffFactor)
	mergeDuration(&s.BackoffLimit, other.BackoffLimit)
	mergeDuration(&s.KillDelay, other.KillDelay)
	mergeInt(&s.RestartLimit, other.RestartLimit)
	mergeDuration(&s.RestartWindow, other.RestartWindow)
	mergeString(&s.OnRestartLimit, other.OnRestartLimit)
	s.SuccessExitCodes = mergeExitCodes(s.SuccessExitCodes, other.SuccessExitCodes)
	mergeString(&s.StopSignal, other.StopSignal)
	mergeString(&s.ReloadSignal, other.ReloadSignal)
	mergeString(&s.ReloadCommand, other.ReloadCommand)
	s.Limits.Merge(other.Limits)
	mergeString(&s.ChargeGroup, other.ChargeGroup)
	s.mergeLifecycle(other)
	s.mergePrivacy(other)
	s.mergeTiming(other)
}

// Equal reports whether s and other define the same service, field by field
// (a nil and an empty list or map are the same). Replan uses it to find
// changed services.
func (s *Service) Equal(other *Service) bool {
	if s == nil || other == nil {
		return s == other
	}
	return s.Name == other.Name &&
		s.Summary == other.Summary &&
		s.Description == other.Description &&
		s.Startup == other.Startup &&
		s.Override == other.Override &&
		s.Command == other.Command &&
		slices.Equal(s.After, other.After) &&
		slices.Equal(s.Before, other.Before) &&
		slices.Equal(s.Requires, other.Requires) &&
		s.Workload == other.Workload &&
		maps.Equal(s.Environment, other.Environment) &&
		equalInt(s.UserID, other.UserID) &&
		s.User == other.User &&
		equalInt(s.GroupID, other.GroupID) &&
		s.Group == other.Group &&
		s.WorkingDir == other.WorkingDir &&
		s.OnSuccess == other.OnSuccess &&
		s.OnFailure == other.OnFailure &&
		maps.Equal(s.OnCheckFailure, other.OnCheckFailure) &&
		s.BackoffDelay == other.BackoffDelay &&
		s.BackoffFactor == other.BackoffFactor &&
		s.BackoffLimit == other.BackoffLimit &&
		s.KillDelay == other.KillDelay &&
		equalInt(s.RestartLimit, other.RestartLimit) &&
		s.RestartWindow == other.RestartWindow &&
		s.OnRestartLimit == other.OnRestartLimit &&
		slices.Equal(s.SuccessExitCodes, other.SuccessExitCodes) &&
		s.StopSignal == other.StopSignal &&
		s.ReloadSignal == other.ReloadSignal &&
		s.ReloadCommand == other.ReloadCommand &&
		s.Limits == other.Limits &&
		s.ChargeGroup == other.ChargeGroup &&
		s.Readiness.Equal(other.Readiness) &&
		s.StartTimeout == other.StartTimeout &&
		s.Type == other.Type &&
		s.EnvironmentFile == other.EnvironmentFile &&
		s.LogAccess == other.LogAccess &&
		s.Schedule == other.Schedule
}

// Copy returns a deep copy of c.
func (c *Check) Copy() *Check {
	n := *c
	if c.HTTP != nil {
		n.HTTP = c.HTTP.Copy()
	}
	if c.TCP != nil {
		n.TCP = c.TCP.Copy()
	}
	if c.Exec != nil {
		n.Exec = c.Exec.Copy()
	}
	return &n
}

// Merge folds other into c (layers.md §4): enums replace when set, period
// and timeout when present, threshold when non-zero, and the http, tcp and
// exec objects are merged field by field. Name and Override are left alone.
func (c *Check) Merge(other *Check) {
	mergeString(&c.Level, other.Level)
	mergeString(&c.Startup, other.Startup)
	mergeDuration(&c.Period, other.Period)
	mergeDuration(&c.Timeout, other.Timeout)
	mergeDuration(&c.StartPeriod, other.StartPeriod)
	if other.Threshold != 0 {
		c.Threshold = other.Threshold
	}
	if other.HTTP != nil {
		if c.HTTP == nil {
			c.HTTP = &HTTPCheck{}
		}
		c.HTTP.Merge(other.HTTP)
	}
	if other.TCP != nil {
		if c.TCP == nil {
			c.TCP = &TCPCheck{}
		}
		c.TCP.Merge(other.TCP)
	}
	if other.Exec != nil {
		if c.Exec == nil {
			c.Exec = &ExecCheck{}
		}
		c.Exec.Merge(other.Exec)
	}
}

// Equal reports whether c and other define the same check, field by field.
func (c *Check) Equal(other *Check) bool {
	if c == nil || other == nil {
		return c == other
	}
	return c.Name == other.Name &&
		c.Override == other.Override &&
		c.Level == other.Level &&
		c.Startup == other.Startup &&
		c.Period == other.Period &&
		c.Timeout == other.Timeout &&
		c.Threshold == other.Threshold &&
		c.StartPeriod == other.StartPeriod &&
		c.HTTP.Equal(other.HTTP) &&
		c.TCP.Equal(other.TCP) &&
		c.Exec.Equal(other.Exec)
}

// Copy returns a deep copy of h.
func (h *HTTPCheck) Copy() *HTTPCheck {
	n := *h
	n.Headers = maps.Clone(h.Headers)
	return &n
}

// Merge folds other into h.
func (h *HTTPCheck) Merge(other *HTTPCheck) {
	mergeString(&h.URL, other.URL)
	h.Headers = mergeMap(h.Headers, other.Headers)
}

// Equal reports whether h and other are the same (both may be nil).
func (h *HTTPCheck) Equal(other *HTTPCheck) bool {
	if h == nil || other == nil {
		return h == other
	}
	return h.URL == other.URL && maps.Equal(h.Headers, other.Headers)
}

// Copy returns a copy of t.
func (t *TCPCheck) Copy() *TCPCheck {
	n := *t
	return &n
}

// Merge folds other into t.
func (t *TCPCheck) Merge(other *TCPCheck) {
	if other.Port != 0 {
		t.Port = other.Port
	}
	mergeString(&t.Host, other.Host)
}

// Equal reports whether t and other are the same (both may be nil).
func (t *TCPCheck) Equal(other *TCPCheck) bool {
	if t == nil || other == nil {
		return t == other
	}
	return *t == *other
}

// Copy returns a deep copy of e.
func (e *ExecCheck) Copy() *ExecCheck {
	n := *e
	n.Environment = maps.Clone(e.Environment)
	n.UserID = copyInt(e.UserID)
	n.GroupID = copyInt(e.GroupID)
	n.ContextEnvironment = maps.Clone(e.ContextEnvironment)
	return &n
}

// Merge folds other into e.
func (e *ExecCheck) Merge(other *ExecCheck) {
	mergeString(&e.Command, other.Command)
	mergeString(&e.ServiceContext, other.ServiceContext)
	e.Environment = mergeMap(e.Environment, other.Environment)
	mergeInt(&e.UserID, other.UserID)
	mergeString(&e.User, other.User)
	mergeInt(&e.GroupID, other.GroupID)
	mergeString(&e.Group, other.Group)
	mergeString(&e.WorkingDir, other.WorkingDir)
	e.ContextEnvironment = mergeMap(e.ContextEnvironment, other.ContextEnvironment)
	mergeString(&e.ContextEnvironmentFile, other.ContextEnvironmentFile)
}

// Equal reports whether e and other are the same (both may be nil).
func (e *ExecCheck) Equal(other *ExecCheck) bool {
	if e == nil || other == nil {
		return e == other
	}
	return e.Command == other.Command &&
		e.ServiceContext == other.ServiceContext &&
		maps.Equal(e.Environment, other.Environment) &&
		equalInt(e.UserID, other.UserID) &&
		e.User == other.User &&
		equalInt(e.GroupID, other.GroupID) &&
		e.Group == other.Group &&
		e.WorkingDir == other.WorkingDir &&
		maps.Equal(e.ContextEnvironment, other.ContextEnvironment) &&
		e.ContextEnvironmentFile == other.ContextEnvironmentFile
}

// Copy returns a deep copy of t.
func (t *LogTarget) Copy() *LogTarget {
	n := *t
	n.Services = slices.Clone(t.Services)
	n.Labels = maps.Clone(t.Labels)
	return &n
}

// Merge folds other into t (layers.md §5): type and location replace when
// non-empty, services are appended, labels merged. Name and Override are
// left alone.
func (t *LogTarget) Merge(other *LogTarget) {
	mergeString(&t.Type, other.Type)
	mergeString(&t.Location, other.Location)
	t.Services = appendList(t.Services, other.Services)
	t.Labels = mergeMap(t.Labels, other.Labels)
}

// Equal reports whether t and other define the same log target.
func (t *LogTarget) Equal(other *LogTarget) bool {
	if t == nil || other == nil {
		return t == other
	}
	return t.Name == other.Name &&
		t.Type == other.Type &&
		t.Location == other.Location &&
		slices.Equal(t.Services, other.Services) &&
		t.Override == other.Override &&
		maps.Equal(t.Labels, other.Labels)
}

// Copy returns a deep copy of w.
func (w *Workload) Copy() *Workload {
	n := *w
	n.Environment = maps.Clone(w.Environment)
	n.UserID = copyInt(w.UserID)
	n.GroupID = copyInt(w.GroupID)
	return &n
}

// Merge folds other into w (layers.md §6.1). Name and Override are left
// alone.
func (w *Workload) Merge(other *Workload) {
	w.Environment = mergeMap(w.Environment, other.Environment)
	mergeInt(&w.UserID, other.UserID)
	mergeString(&w.User, other.User)
	mergeInt(&w.GroupID, other.GroupID)
	mergeString(&w.Group, other.Group)
}

// Equal reports whether w and other define the same workload.
func (w *Workload) Equal(other *Workload) bool {
	if w == nil || other == nil {
		return w == other
	}
	return w.Name == other.Name &&
		w.Override == other.Override &&
		maps.Equal(w.Environment, other.Environment) &&
		equalInt(w.UserID, other.UserID) &&
		w.User == other.User &&
		equalInt(w.GroupID, other.GroupID) &&
		w.Group == other.Group
}

// WorkloadsEqual reports whether two workloads sections are the same; a nil
// and an empty section are. Adding a layer must not change the section
// (layers.md §6.1); (*Plan).WithLayer uses this to enforce it.
func WorkloadsEqual(a, b map[string]*Workload) bool {
	return maps.EqualFunc(a, b, (*Workload).Equal)
}

// Copy returns a deep copy of l: its maps and entries are new.
func (l *Layer) Copy() *Layer {
	n := *l
	n.Services = copyEntries(l.Services, (*Service).Copy)
	n.Checks = copyEntries(l.Checks, (*Check).Copy)
	n.LogTargets = copyEntries(l.LogTargets, (*LogTarget).Copy)
	n.Workloads = copyEntries(l.Workloads, (*Workload).Copy)
	n.Workflows = copyEntries(l.Workflows, (*Workflow).Copy)
	if l.Pairing != nil {
		p := *l.Pairing
		n.Pairing = &p
	}
	return &n
}

// copyEntries deep-copies a section map; nil entries stay nil and a nil map
// becomes an empty one.
func copyEntries[T any](m map[string]*T, copyFn func(*T) *T) map[string]*T {
	n := make(map[string]*T, len(m))
	for k, v := range m {
		if v != nil {
			v = copyFn(v)
		}
		n[k] = v
	}
	return n
}

func copyInt(p *int) *int {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func equalInt(a, b *int) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func mergeString[T ~string](dst *T, v T) {
	if v != "" {
		*dst = v
	}
}

func mergeInt(dst **int, v *int) {
	if v != nil {
		*dst = copyInt(v)
	}
}

// mergeDuration replaces *dst with v when a layer set v.
func mergeDuration(dst *OptionalDuration, v OptionalDuration) {
	if v.IsSet {
		*dst = v
	}
}

// mergeFloat replaces *dst with v when a layer set v.
func mergeFloat(dst *OptionalFloat, v OptionalFloat) {
	if v.IsSet {
		*dst = v
	}
}

// appendList appends other to a copy of list, so that no two values share
// a backing array.
func appendList(list, other []string) []string {
	if len(other) == 0 {
		return list
	}
	return append(slices.Clip(list), other...)
}

func mergeMap[V any](m, other map[string]V) map[string]V {
	if len(other) == 0 {
		return m
	}
	if m == nil {
		m = make(map[string]V, len(other))
	}
	maps.Copy(m, other)
	return m
}
