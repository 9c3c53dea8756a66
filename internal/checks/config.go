package checks

import (
	"maps"

	"github.com/pebble-project/pebble/internal/plan"
)

// effectiveConfig returns a copy of the plan's check with the exec
// service-context merged in (layers.md §4): the check inherits the service's
// environment, user, group and working directory; its own settings win,
// and its environment is layered on top. The workload's environment and the
// service's environment-file go under both (envfile.Layered, when the
// check runs), as for the service's own processes.
func effectiveConfig(p *plan.Plan, pc *plan.Check) *plan.Check {
	c := pc.Copy()
	if c.Exec == nil || c.Exec.ServiceContext == "" {
		return c
	}
	svc := p.Services[c.Exec.ServiceContext]
	if svc == nil {
		return c // the plan's validation rules this out
	}
	e := c.Exec
	env := maps.Clone(svc.Environment)
	if env == nil {
		env = make(map[string]string, len(e.Environment))
	}
	maps.Copy(env, e.Environment)
	e.Environment = env
	w := p.Workloads[svc.Workload]
	if w != nil {
		e.ContextEnvironment = maps.Clone(w.Environment)
	}
	e.ContextEnvironmentFile = svc.EnvironmentFile
	as := svc.RunAs(w)
	if e.User == "" && e.UserID == nil {
		e.User, e.UserID = as.User, as.UserID
	}
	if e.Group == "" && e.GroupID == nil {
		e.Group, e.GroupID = as.Group, as.GroupID
	}
	if e.WorkingDir == "" {
		e.WorkingDir = svc.WorkingDir
	}
	return c
}

// outputPrivate reports whether the output of check c (an effective
// configuration) stays out of its task log: it runs in the context of a
// service with log-access: admin (docs/privacy.md), whose environment it
// has. Task logs are read by every client with read access.
func outputPrivate(p *plan.Plan, c *plan.Check) bool {
	if c.Exec == nil || c.Exec.ServiceContext == "" {
		return false
	}
	svc := p.Services[c.Exec.ServiceContext]
	return svc != nil && svc.LogsRestricted()
}

// sameRun reports whether a running check with configuration a can keep
// running under configuration b: everything but startup and override must
// be equal (behaviour.md §7.8: a running check changed to startup: disabled
// keeps running as it is).
func sameRun(a, b *plan.Check) bool {
	x, y := *a, *b
	x.Startup, y.Startup = "", ""
	x.Override, y.Override = "", ""
	return x.Equal(&y)
}

// checkType names a check's type in change summaries: HTTP, TCP or exec.
func checkType(c *plan.Check) string {
	switch {
	case c.HTTP != nil:
		return "HTTP"
	case c.TCP != nil:
		return "TCP"
	}
	return "exec"
}
