package plan

import (
	"slices"
	"strings"
)

// StartOrder returns the services to start for names, grouped in lanes
// (behaviour.md §6). The set is names plus everything they require,
// transitively. Within the set, a service comes after those named in its
// "after" list and before those named in its "before" list; services the
// rules leave unordered come in name order. Lanes run concurrently; the
// services of one lane run one after another in the order given.
//
// An unknown name, requested or required, is `service "<x>" does not exist`;
// a cycle through after/before is `services in before/after loop: a, b`.
func (p *Plan) StartOrder(names []string) ([][]string, error) {
	return p.order(names, false)
}

// StopOrder returns the services to stop for names, grouped in lanes. The
// set is names plus every service that requires any of them, transitively,
// and "after" and "before" swap roles: a service started after another is
// stopped before it. Errors are those of StartOrder.
func (p *Plan) StopOrder(names []string) ([][]string, error) {
	return p.order(names, true)
}

func (p *Plan) order(names []string, stop bool) ([][]string, error) {
	for _, name := range names {
		if p.Services[name] == nil {
			return nil, formatErrorf("service %q does not exist", name)
		}
	}
	set, err := p.closure(names, stop)
	if err != nil {
		return nil, err
	}
	members := sortedKeys(set)
	succ := p.edges(members, set, stop)
	if loop := firstLoop(members, succ); loop != nil {
		return nil, formatErrorf("services in before/after loop: %s", strings.Join(loop, ", "))
	}
	return p.lanes(topoSort(members, succ)), nil
}

// closure returns names plus, for start, all they require, or, for stop,
// all that require them (transitively).
func (p *Plan) closure(names []string, stop bool) (map[string]bool, error) {
	var dependents map[string][]string
	if stop {
		dependents = map[string][]string{}
		for _, name := range sortedKeys(p.Services) {
			for _, req := range p.Services[name].Requires {
				dependents[req] = append(dependents[req], name)
			}
		}
	}
	set := map[string]bool{}
	pending := slices.Clone(names)
	for len(pending) > 0 {
		name := pending[0]
		pending = pending[1:]
		if set[name] {
			continue
		}
		s := p.Services[name]
		if s == nil {
			return nil, formatErrorf("service %q does not exist", name)
		}
		set[name] = true
		if stop {
			pending = append(pending, dependents[name]...)
		} else {
			pending = append(pending, s.Requires...)
		}
	}
	return set, nil
}

// edges returns, for each member, the members that must come after it.
// Only after/before entries naming members count; requires adds no edge.
func (p *Plan) edges(members []string, set map[string]bool, stop bool) map[string][]string {
	succ := map[string][]string{}
	add := func(from, to string) {
		if from != to && set[from] && set[to] && !slices.Contains(succ[from], to) {
			succ[from] = append(succ[from], to)
		}
	}
	for _, name := range members {
		s := p.Services[name]
		after, before := s.After, s.Before
		if stop {
			after, before = before, after
		}
		for _, a := range after {
			add(a, name)
		}
		for _, b := range before {
			add(name, b)
		}
	}
	for _, name := range members {
		slices.Sort(succ[name])
	}
	return succ
}

// firstLoop finds the strongly connected components of the graph with
// Tarjan's algorithm and returns the sorted members of the first one that
// has more than one member, or nil when there is no loop.
func firstLoop(members []string, succ map[string][]string) []string {
	var (
		index   = map[string]int{}
		low     = map[string]int{}
		onStack = map[string]bool{}
		stack   []string
		next    int
		loop    []string
	)
	var visit func(v string)
	visit = func(v string) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		for _, w := range succ[v] {
			if _, seen := index[w]; !seen {
				visit(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] != index[v] {
			return
		}
		var comp []string
		for {
			w := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			onStack[w] = false
			comp = append(comp, w)
			if w == v {
				break
			}
		}
		if len(comp) > 1 && loop == nil {
			slices.Sort(comp)
			loop = comp
		}
	}
	for _, v := range members {
		if _, seen := index[v]; !seen {
			visit(v)
		}
	}
	return loop
}

// topoSort orders an acyclic graph, taking the smallest name among the
// services whose predecessors are all placed.
func topoSort(members []string, succ map[string][]string) []string {
	preds := map[string]int{}
	for _, v := range members {
		for _, w := range succ[v] {
			preds[w]++
		}
	}
	var ready []string
	for _, v := range members {
		if preds[v] == 0 {
			ready = append(ready, v)
		}
	}
	order := make([]string, 0, len(members))
	for len(ready) > 0 {
		v := ready[0] // ready is kept sorted
		ready = ready[1:]
		order = append(order, v)
		for _, w := range succ[v] {
			if preds[w]--; preds[w] == 0 {
				i, _ := slices.BinarySearch(ready, w)
				ready = slices.Insert(ready, i, w)
			}
		}
	}
	return order
}

// lanes splits an ordered list into lanes (behaviour.md §6.3). Walking the
// list, a service already pulled into a lane stays there; otherwise it joins
// the lane of the first of its requirements that has one, or opens a new
// lane. It then pulls its requirements that have no lane yet into its own.
// Services keep their relative order inside each lane.
func (p *Plan) lanes(order []string) [][]string {
	if len(order) == 0 {
		return nil
	}
	inSet := map[string]bool{}
	for _, name := range order {
		inSet[name] = true
	}
	laneOf := map[string]int{}
	count := 0
	for _, name := range order {
		reqs := p.Services[name].Requires
		lane, placed := laneOf[name]
		for _, r := range reqs {
			if placed {
				break
			}
			lane, placed = laneOf[r]
		}
		if !placed {
			lane = count
			count++
		}
		laneOf[name] = lane
		for _, r := range reqs {
			if _, ok := laneOf[r]; !ok && inSet[r] {
				laneOf[r] = lane
			}
		}
	}
	lanes := make([][]string, count)
	for _, name := range order {
		lanes[laneOf[name]] = append(lanes[laneOf[name]], name)
	}
	return lanes
}
