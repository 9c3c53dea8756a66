package ops

import (
	"slices"

	"github.com/pebble-project/pebble/internal/changes"
	"github.com/pebble-project/pebble/internal/plan"
)

// This file adds to start changes what readiness and one-shot services
// need (docs/readiness.md, docs/oneshot.md): the start of a service ordered
// after a service with readiness, or after a one-shot, waits for that
// service's start task even when no requires puts them in one lane; in a
// lane that holds such a service, each start waits only for what it is
// ordered after (s6-rc's rule), not for the whole lane ahead of it; and
// autostart and replan leave a one-shot that succeeded alone. For plans
// without those fields start changes are Pebble's.

// startTasks is laneTasks for start tasks, with the edges of gated
// services added: a lane that holds a gated service is laid out by
// appendUnchainedLane instead of chained. unlessSucceeded names the
// services whose task leaves a succeeded one-shot alone (nil: none). When
// an edge is added, the tasks are laid out in an order that puts every task
// after those it waits for.
func (o *Ops) startTasks(p *plan.Plan, lanes [][]string, offset int, waitFor []int, unlessSucceeded func(string) bool) []changes.TaskSpec {
	var specs []changes.TaskSpec
	for _, lane := range lanes {
		if slices.ContainsFunc(lane, func(name string) bool { return gated(p.Services[name]) }) {
			specs = o.appendUnchainedLane(specs, p, lane, offset, waitFor)
		} else {
			specs = o.appendLane(specs, kindStart, lane, offset, waitFor)
		}
	}
	index := make(map[string]int, len(specs))
	for i, s := range specs {
		name := s.Data.(serviceTask).Service
		index[name] = i
		if unlessSucceeded != nil && unlessSucceeded(name) {
			specs[i].Data = serviceTask{Service: name, UnlessSucceeded: true}
		}
	}
	gates := gateEdges(p, lanes, index)
	if len(gates) == 0 {
		return specs
	}
	return withGates(specs, offset, gates)
}

// appendUnchainedLane appends to specs the start tasks of a lane that holds
// a gated service, by s6-rc's rule: each start there waits only for the
// starts of the services it is ordered after (its after list, and the
// services naming it in their before list), not for every service ahead of
// it in the lane, so services that need the same gated service start
// together once it is ready. Each task gets a lane of its own, so a failure
// holds only what waits for it (changes holds the waiters of a failed
// task); each also waits for the tasks in waitFor. Lanes without a gated service keep Pebble's chain (appendLane).
func (o *Ops) appendUnchainedLane(specs []changes.TaskSpec, p *plan.Plan, lane []string, offset int, waitFor []int) []changes.TaskSpec {
	first := len(specs)
	at := make(map[string]int, len(lane))
	for i, name := range lane {
		at[name] = first + i
		spec := serviceSpec(kindStart, name, o.changes.NewLane())
		spec.WaitFor = slices.Clone(waitFor)
		specs = append(specs, spec)
	}
	eachOrdering(p, lane, func(before, after string) {
		i, ok1 := at[before]
		j, ok2 := at[after]
		if ok1 && ok2 {
			spec := &specs[j]
			if !slices.Contains(spec.WaitFor, offset+i) {
				spec.WaitFor = append(spec.WaitFor, offset+i)
			}
		}
	})
	return specs
}

// gateEdges returns, by task index, the indexes of the tasks of gated
// services in other lanes that must be done first.
func gateEdges(p *plan.Plan, lanes [][]string, index map[string]int) map[int][]int {
	laneOf := map[string]int{}
	for l, lane := range lanes {
		for _, name := range lane {
			laneOf[name] = l
		}
	}
	names := make([]string, 0, len(index))
	for name := range index {
		names = append(names, name)
	}
	gates := map[int][]int{}
	eachOrdering(p, names, func(first, then string) {
		i, ok1 := index[first]
		j, ok2 := index[then]
		if !ok1 || !ok2 || laneOf[first] == laneOf[then] || !gated(p.Services[first]) {
			return
		}
		if !slices.Contains(gates[j], i) {
			gates[j] = append(gates[j], i)
		}
	})
	return gates
}

// eachOrdering calls f(first, then) for each ordering the plan states on
// the services of names: then's after list names first, or first's before
// list names then. The other service may be outside names; a pair stated
// both ways comes twice.
func eachOrdering(p *plan.Plan, names []string, f func(first, then string)) {
	for _, name := range names {
		s := p.Services[name]
		for _, a := range s.After {
			f(a, name)
		}
		for _, b := range s.Before {
			f(name, b)
		}
	}
}

// gated reports whether a service's start ends later than Pebble's okay
// delay: it has readiness or is a one-shot.
func gated(s *plan.Service) bool {
	return s != nil && (s.Readiness.IsSet() || s.IsOneshot())
}

// withGates adds the gate edges to specs (which stand at offset onward)
// and lays them out so that each comes after all it waits for, keeping
// the lanes' order otherwise. The edges follow the plan's start order, so
// there is no cycle.
func withGates(specs []changes.TaskSpec, offset int, gates map[int][]int) []changes.TaskSpec {
	n := len(specs)
	deps := make([][]int, n)
	for i, s := range specs {
		for _, w := range s.WaitFor {
			if w >= offset {
				deps[i] = append(deps[i], w-offset)
			}
		}
		deps[i] = append(deps[i], gates[i]...)
	}
	// Kahn's algorithm, taking the lowest ready index first.
	placed := make([]bool, n)
	pos := make([]int, n)
	order := make([]int, 0, n)
	for len(order) < n {
		progress := false
		for i := range n {
			if placed[i] || !all(deps[i], placed) {
				continue
			}
			placed[i], pos[i], progress = true, len(order), true
			order = append(order, i)
			break
		}
		if !progress {
			return specs // not reached: the plan has no before/after loop
		}
	}
	out := make([]changes.TaskSpec, n)
	for k, i := range order {
		s := specs[i]
		var wait []int
		for _, w := range s.WaitFor {
			if w < offset {
				wait = append(wait, w)
			}
		}
		for _, d := range deps[i] {
			wait = append(wait, offset+pos[d])
		}
		slices.Sort(wait)
		s.WaitFor = slices.Compact(wait)
		out[k] = s
	}
	return out
}

func all(idx []int, set []bool) bool {
	for _, i := range idx {
		if !set[i] {
			return false
		}
	}
	return true
}
