package ops

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pebble-project/pebble/internal/apierr"
	"github.com/pebble-project/pebble/internal/changes"
	"github.com/pebble-project/pebble/internal/plan"
)

// serviceTask is the data of start and stop tasks.
type serviceTask struct {
	Service string `json:"service-name"`
	// UnlessSucceeded (autostart, replan) leaves a one-shot that succeeded
	// alone (docs/oneshot.md).
	UnlessSucceeded bool `json:"unless-succeeded,omitempty"`
}

// Task kinds of service actions.
const (
	kindStart = "start"
	kindStop  = "stop"
)

func (o *Ops) registerServiceTasks() {
	o.changes.Register(kindStart, changes.Kind{
		Run:         o.runStart,
		Resume:      o.resumeStart,
		Interrupted: "service already started, not retrying",
	})
	o.changes.Register(kindStop, changes.Kind{
		Run:         o.runStop,
		Resume:      o.resumeStop,
		Interrupted: "daemon stopped while stopping the service, not retrying",
	})
	o.registerReloadTask()
}

func (o *Ops) runStart(ctx context.Context, t *changes.Task) error {
	var data serviceTask
	if err := t.Get(&data); err != nil {
		return err
	}
	if data.UnlessSucceeded {
		return o.services.StartUnlessSucceeded(ctx, data.Service, t)
	}
	return o.services.Start(ctx, data.Service, t)
}

// resumeStart carries on a start task across an upgrade of the daemon.
func (o *Ops) resumeStart(ctx context.Context, t *changes.Task) error {
	var data serviceTask
	if err := t.Get(&data); err != nil {
		return err
	}
	return o.services.ResumeStart(ctx, data.Service, t, data.UnlessSucceeded)
}

// resumeStop carries on a stop task across an upgrade of the daemon.
func (o *Ops) resumeStop(ctx context.Context, t *changes.Task) error {
	var data serviceTask
	if err := t.Get(&data); err != nil {
		return err
	}
	return o.services.ResumeStop(ctx, data.Service, t)
}

func (o *Ops) runStop(ctx context.Context, t *changes.Task) error {
	var data serviceTask
	if err := t.Get(&data); err != nil {
		return err
	}
	return o.services.Stop(ctx, data.Service, t)
}

// ServiceAction starts a change for a service action of api.md §9.2 and
// returns its ID.
func (o *Ops) ServiceAction(action string, names []string) (string, error) {
	var nc changes.NewChange
	var err error
	switch action {
	case "start", "stop", "restart":
		if len(names) == 0 {
			return "", apierr.Errorf(apierr.BadRequest, "must specify services for %s action", action)
		}
		nc, err = o.namedAction(action, names)
	case "autostart":
		if len(names) != 0 {
			return "", apierr.Errorf(apierr.BadRequest, "%s accepts no service names", action)
		}
		nc, err = o.autostart()
	case "replan":
		if len(names) != 0 {
			return "", apierr.Errorf(apierr.BadRequest, "%s accepts no service names", action)
		}
		nc, err = o.replan()
	case "reload":
		if len(names) == 0 {
			return "", apierr.Errorf(apierr.BadRequest, "must specify services for %s action", action)
		}
		nc, err = o.reloadAction(names)
	default:
		if len(names) == 0 {
			return "", apierr.Errorf(apierr.BadRequest, "must specify services for %s action", action)
		}
		return "", apierr.Errorf(apierr.BadRequest, "invalid action %q", action)
	}
	if err != nil {
		return "", err
	}
	var info changes.ChangeInfo
	if len(nc.Tasks) == 0 {
		info = o.changes.AddDone(nc)
	} else {
		info = o.changes.Add(nc)
	}
	return info.ID, nil
}

func orderError(action string, err error) error {
	return apierr.Errorf(apierr.BadRequest, "cannot %s services: %v", action, err)
}

func (o *Ops) namedAction(action string, names []string) (changes.NewChange, error) {
	p := o.plans.Plan()
	nc := changes.NewChange{Kind: action, Services: names}
	switch action {
	case "start":
		lanes, err := p.StartOrder(names)
		if err != nil {
			return nc, orderError(action, err)
		}
		nc.Tasks = o.startTasks(p, lanes, 0, nil, nil)
		nc.Summary = summary(action, names[0], count(lanes))
	case "stop":
		lanes, err := p.StopOrder(names)
		if err != nil {
			return nc, orderError(action, err)
		}
		nc.Tasks = o.laneTasks(kindStop, lanes, 0, nil)
		nc.Summary = summary(action, names[0], count(lanes))
	case "restart":
		stopLanes, err := p.StopOrder(names)
		if err != nil {
			return nc, orderError(action, err)
		}
		startLanes, err := p.StartOrder(names)
		if err != nil {
			return nc, orderError(action, err)
		}
		// Only the named services are stopped; their dependents stay up.
		stopLanes = keepOnly(stopLanes, names)
		nc.Tasks = o.laneTasks(kindStop, stopLanes, 0, nil)
		nc.Tasks = append(nc.Tasks, o.startTasks(p, startLanes, len(nc.Tasks), indexes(len(nc.Tasks)), nil)...)
		nc.Summary = summary(action, names[0], count(startLanes))
	}
	return nc, nil
}

func (o *Ops) autostart() (changes.NewChange, error) {
	p := o.plans.Plan()
	defaults := enabledServices(p)
	if len(defaults) == 0 {
		return changes.NewChange{}, &apierr.Error{Class: apierr.BadRequest, Kind: "no-default-services", Message: "no default services"}
	}
	lanes, err := p.StartOrder(defaults)
	if err != nil {
		return changes.NewChange{}, orderError("autostart", err)
	}
	return changes.NewChange{
		Kind:     "autostart",
		Summary:  summary("autostart", defaults[0], count(lanes)),
		Services: flatten(lanes),
		Tasks:    o.startTasks(p, lanes, 0, nil, func(string) bool { return true }),
	}, nil
}

func (o *Ops) replan() (changes.NewChange, error) {
	p := o.plans.Plan()
	changed := o.services.Replan()
	stopLanes, err := p.StopOrder(changed)
	if err != nil {
		return changes.NewChange{}, orderError("replan", err)
	}
	startNames := union(changed, enabledServices(p))
	startLanes, err := p.StartOrder(startNames)
	if err != nil {
		return changes.NewChange{}, orderError("replan", err)
	}
	nc := changes.NewChange{Kind: "replan"}
	nc.Tasks = o.laneTasks(kindStop, stopLanes, 0, nil)
	unchanged := func(name string) bool { return !slices.Contains(changed, name) }
	nc.Tasks = append(nc.Tasks, o.startTasks(p, startLanes, len(nc.Tasks), indexes(len(nc.Tasks)), unchanged)...)
	affected := union(flatten(stopLanes), flatten(startLanes))
	nc.Services = affected
	if len(affected) == 0 {
		nc.Summary = "Replan - no services"
	} else {
		nc.Summary = summary("replan", affected[0], len(affected))
	}
	o.checks.Replan() // behaviour.md §6.5 step 5
	return nc, nil
}

// laneTasks makes one task per service, chained within each lane, each
// lane's first task waiting for the tasks in waitFor.
// The specs will stand at index offset onward in the change's task list.
func (o *Ops) laneTasks(kind string, lanes [][]string, offset int, waitFor []int) []changes.TaskSpec {
	var specs []changes.TaskSpec
	for _, lane := range lanes {
		specs = o.appendLane(specs, kind, lane, offset, waitFor)
	}
	return specs
}

// appendLane appends to specs the tasks of one lane, chained, in a lane
// of their own; the first waits for the tasks in waitFor.
func (o *Ops) appendLane(specs []changes.TaskSpec, kind string, lane []string, offset int, waitFor []int) []changes.TaskSpec {
	laneID := o.changes.NewLane()
	for i, name := range lane {
		spec := serviceSpec(kind, name, laneID)
		if i == 0 {
			spec.WaitFor = slices.Clone(waitFor)
		} else {
			spec.WaitFor = []int{offset + len(specs) - 1}
		}
		specs = append(specs, spec)
	}
	return specs
}

// serviceSpec is the task of kind for one service, in lane laneID.
func serviceSpec(kind, name string, laneID int) changes.TaskSpec {
	verb := strings.ToUpper(kind[:1]) + kind[1:] // "Start", "Stop", "Reload"
	return changes.TaskSpec{
		Kind:    kind,
		Summary: fmt.Sprintf("%s service %q", verb, name),
		Data:    serviceTask{Service: name},
		Lanes:   []int{laneID},
	}
}

// summary is `<Action> service "<first>"[ and <n-1> more]`.
func summary(action, first string, n int) string {
	s := fmt.Sprintf("%s service %q", strings.ToUpper(action[:1])+action[1:], first)
	if n > 1 {
		s += fmt.Sprintf(" and %d more", n-1)
	}
	return s
}

func enabledServices(p *plan.Plan) []string {
	var names []string
	for name, s := range p.Services {
		if s.Startup == plan.StartupEnabled {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

func count(lanes [][]string) int {
	n := 0
	for _, l := range lanes {
		n += len(l)
	}
	return n
}

func flatten(lanes [][]string) []string {
	var out []string
	for _, l := range lanes {
		out = append(out, l...)
	}
	return out
}

func indexes(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func keepOnly(lanes [][]string, names []string) [][]string {
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	var out [][]string
	for _, lane := range lanes {
		var kept []string
		for _, n := range lane {
			if want[n] {
				kept = append(kept, n)
			}
		}
		if len(kept) > 0 {
			out = append(out, kept)
		}
	}
	return out
}

// union returns the sorted, de-duplicated union of a and b.
func union(a, b []string) []string {
	seen := make(map[string]bool)
	var out []string
	for _, list := range [][]string{a, b} {
		for _, n := range list {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	sort.Strings(out)
	return out
}

// StopAll stops every starting, running, backoff or stopping service in
// stop order as one change, for daemon shutdown, and returns the change ID
// ("" if nothing runs).
func (o *Ops) StopAll() (string, error) {
	active := o.services.ActiveServices()
	if len(active) == 0 {
		return "", nil
	}
	lanes, err := o.plans.Plan().StopOrder(active)
	if err != nil {
		// A plan change can make the order fail; stop the services anyway,
		// all at once.
		lanes = [][]string{}
		for _, n := range active {
			lanes = append(lanes, []string{n})
		}
	}
	lanes = keepOnly(lanes, active)
	info := o.changes.Add(changes.NewChange{
		Kind:     "stop",
		Summary:  "Stop all running services",
		Services: active,
		Tasks:    o.laneTasks(kindStop, lanes, 0, nil),
	})
	return info.ID, nil
}
