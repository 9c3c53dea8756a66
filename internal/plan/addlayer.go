package plan

import (
	"maps"
	"slices"
	"strings"

	"github.com/pebble-project/pebble/internal/plan/cmdline"
)

// ServiceArgsLabel is the label of the layer `pebble run --args` adds
// (layers.md §8.4).
const ServiceArgsLabel = "pebble-service-args"

// addLayer returns a new layer list with l added the way POST /v1/layers
// adds it (layers.md §8.1–8.3), and the layer that l folded into, or nil
// when l was placed as a layer of its own. layers is not modified; l is
// copied, and its Order is chosen here (the value it carries is ignored).
//
//   - The label must be set and must not start with "pebble-".
//   - With combine set and a layer of the same label present, l is folded
//     into that layer with the override rules of §7; the layer keeps its
//     position and order and takes l's summary and description.
//   - Otherwise a layer of the same label is `layer "<label>" already exists`.
//   - Otherwise l is placed after the topmost layer whose label has the same
//     part before the first "/", with that layer's order + 1; if that is not
//     the top of the stack, inner must be set. With no such layer, l goes on
//     top with the next multiple of 1000 as order (+1 when its label has a
//     "/").
//
// (*Plan).WithLayer builds the new plan from the result.
func addLayer(layers []*Layer, l *Layer, combine, inner bool) (out []*Layer, replaced *Layer, err error) {
	switch {
	case l.Label == "":
		return nil, nil, formatErrorf("label must be set")
	case strings.HasPrefix(l.Label, "pebble-"):
		return nil, nil, formatErrorf(`cannot use reserved label prefix "pebble-"`)
	}
	if i := slices.IndexFunc(layers, func(old *Layer) bool { return old.Label == l.Label }); i >= 0 {
		if !combine {
			return nil, nil, formatErrorf("layer %q already exists", l.Label)
		}
		folded, err := CombineLayers(layers[i], l)
		if err != nil {
			return nil, nil, err
		}
		folded.Order = layers[i].Order
		folded.Label = layers[i].Label
		out = slices.Clone(layers)
		out[i] = folded
		return out, layers[i], nil
	}
	pos, order := placeLayer(layers, l.Label)
	if pos < len(layers) && !inner {
		return nil, nil, formatErrorf("cannot insert sub-directory layer without 'inner' attribute set")
	}
	added := l.Copy()
	added.Order = order
	return slices.Insert(slices.Clone(layers), pos, added), nil, nil
}

// placeLayer returns the index at which a new layer with this label goes and
// its order (layers.md §8.3).
func placeLayer(layers []*Layer, label string) (pos, order int) {
	prefix, _, sub := strings.Cut(label, "/")
	extra := 0
	if sub {
		extra = 1
	}
	if len(layers) == 0 {
		return 0, 1000 + extra
	}
	for i := len(layers) - 1; i >= 0; i-- {
		if p, _, _ := strings.Cut(layers[i].Label, "/"); p == prefix {
			return i + 1, layers[i].Order + 1
		}
	}
	top := layers[len(layers)-1].Order
	return len(layers), (top/1000+1)*1000 + extra
}

// WithLayer returns the plan that results from adding l to p's layers the
// way POST /v1/layers adds it (layers.md §8.1–8.3) and combining them as
// NewPlan does: the label must be set and must not start with "pebble-";
// with combine set, l is folded into the layer of the same label; otherwise
// it goes on top, or, with inner set, after the topmost layer of the same
// label prefix (the part before the first "/"). l is copied and its Order is
// chosen here. It fails with `cannot change immutable section
// "workloads"` when the new plan's workloads section differs from p's
// (layers.md §6.1), and when the layers would hold more than MaxPlanText
// bytes of text. p is not modified.
//
// A layer that goes on top of the others, the common case, costs the same
// however many layers p has: it is folded into p's combined entries and only
// what it changed is validated again (see extend).
func (p *Plan) WithLayer(l *Layer, combine, inner bool) (*Plan, error) {
	layers, replaced, err := addLayer(p.Layers, l, combine, inner)
	if err != nil {
		return nil, err
	}
	var next *Plan
	if replaced == nil && layers[len(layers)-1].Label == l.Label {
		next, err = p.extend(layers)
	} else {
		next, err = NewPlan(layers)
	}
	if err != nil {
		return nil, err
	}
	if !WorkloadsEqual(p.Workloads, next.Workloads) {
		return nil, formatErrorf(`cannot change immutable section "workloads"`)
	}
	return next, nil
}

// ServiceArgsLayer builds the layer `pebble run --args` adds (layers.md
// §8.4): labelled "pebble-service-args", ordered above p's top layer, and
// holding for each service of args an `override: merge` entry whose command
// is the service's base words followed by "[ <args> ]", re-quoted so that it
// splits back into the same words. A service not in p is
// `service "<svc>" not found in plan`. The caller appends the layer to
// p.Layers and calls NewPlan.
func ServiceArgsLayer(p *Plan, args map[string][]string) (*Layer, error) {
	_, order := placeLayer(p.Layers, ServiceArgsLabel)
	l := newLayer(order, ServiceArgsLabel)
	for _, name := range sortedKeys(args) {
		s := p.Services[name]
		if s == nil {
			return nil, formatErrorf("service %q not found in plan", name)
		}
		base, _, err := s.ParseCommand()
		if err != nil {
			return nil, formatErrorf("plan service %q command invalid: %v", name, err)
		}
		parts := []string{cmdline.Join(base), "["}
		if len(args[name]) > 0 {
			parts = append(parts, cmdline.Join(args[name]))
		}
		cmd := strings.Join(append(parts, "]"), " ")
		l.Services[name] = &Service{Name: name, Override: MergeOverride, Command: cmd}
	}
	return l, nil
}

// extend returns what NewPlan(layers) returns, where layers are p.Layers
// with one more layer on top, without combining and validating p's layers
// again: the top layer is folded into copies of p's sections, and only the
// entries it touched are given defaults and validated again, along with the
// rules that join them to the rest (requires, before/after loops). The
// other entries are shared with p; neither plan is ever mutated. Whenever
// this shortcut finds a problem, or the layer touches what it does not
// handle (workloads, or a check merged into an earlier one, whose timeout
// was capped at its old period), NewPlan does the whole work and reports
// the error it would.
func (p *Plan) extend(layers []*Layer) (*Plan, error) {
	top := layers[len(layers)-1]
	text := p.text + top.textSize()
	if text > MaxPlanText || len(top.Workloads) > 0 || len(top.Workflows) > 0 || p.mergesCheck(top) {
		return NewPlan(layers)
	}
	into := &Layer{
		Services:   cloneSection(p.Services),
		Checks:     cloneSection(p.Checks),
		LogTargets: cloneSection(p.LogTargets),
		Workloads:  p.Workloads,
		Pairing:    p.Pairing,
	}
	if err := into.fold(top); err != nil {
		return NewPlan(layers)
	}
	next := &Plan{
		Layers:     layers,
		Services:   into.Services,
		Checks:     into.Checks,
		LogTargets: into.LogTargets,
		Workloads:  into.Workloads,
		Pairing:    into.Pairing,
		Workflows:  p.Workflows,
		text:       text,
		// Shared until noteUnknownOrder adds to it.
		unknownOrder: p.unknownOrder,
	}
	// fold stored a fresh copy of every entry top touched.
	owned := false
	for name := range top.Services {
		next.Services[name].applyDefaults()
		owned = next.noteUnknownOrder(next.Services[name], owned)
	}
	for name := range top.Checks {
		next.Checks[name].applyDefaults()
	}
	if !next.validTouched(top, p) {
		return NewPlan(layers)
	}
	return next, nil
}

// mergesCheck reports whether l merges into a check p already has.
func (p *Plan) mergesCheck(l *Layer) bool {
	for name, c := range l.Checks {
		if c != nil && c.Override == MergeOverride && p.Checks[name] != nil {
			return true
		}
	}
	return false
}

// validTouched reports whether the plan, valid as prev before l was folded
// into it, is still valid: the rules of (*Plan).validate for the entries of
// l, and no before/after loop through its services. Entries are never
// removed, so references to them from untouched entries stay good.
func (p *Plan) validTouched(l *Layer, prev *Plan) bool {
	for name := range l.Services {
		s := p.Services[name]
		if s.Command == "" || validateCommand(name, s) != nil || p.validateLifecycle(name, s) != nil {
			return false
		}
		if s.Workload != "" && (p.Workloads[s.Workload] == nil ||
			s.User != "" || s.UserID != nil || s.Group != "" || s.GroupID != nil) {
			return false
		}
		for _, req := range s.Requires {
			if p.Services[req] == nil {
				return false
			}
		}
	}
	for name := range l.Checks {
		if p.validateCheck(name, p.Checks[name]) != nil {
			return false
		}
	}
	for name := range l.LogTargets {
		if p.validateLogTarget(name, p.LogTargets[name]) != nil {
			return false
		}
	}
	// Workflows are few; their steps name services whose definitions l
	// may have changed.
	if p.validateWorkflows() != nil {
		return false
	}
	return !mayLoop(l, prev) || !p.loopThrough(sortedKeys(l.Services))
}

// mayLoop reports whether a before/after loop could pass through a service
// of l once l is folded into prev. It cannot when every service of l is new
// and named in no after or before list of prev or of l's other services,
// and lists no services in its after or none in its before: its only edges
// are then those it lists, all of them leading in, or all of them out.
func mayLoop(l *Layer, prev *Plan) bool {
	for name, s := range l.Services {
		if prev.Services[name] != nil || prev.unknownOrder[name] || prev.unknownOrder == nil {
			return true
		}
		if len(s.After) > 0 && len(s.Before) > 0 {
			return true
		}
		for other, o := range l.Services {
			if other != name && (slices.Contains(o.After, name) || slices.Contains(o.Before, name)) {
				return true
			}
		}
	}
	return false
}

// loopThrough reports whether a before/after loop passes through one of
// names. Such a loop leads from the service back to itself along the edges
// of StartOrder: from each service to those listed in its "before" and to
// those that list it in their "after".
func (p *Plan) loopThrough(names []string) bool {
	listedAfter := map[string][]string{}
	for name, s := range p.Services {
		for _, a := range s.After {
			listedAfter[a] = append(listedAfter[a], name)
		}
	}
	successors := func(name string) []string {
		var out []string
		for _, b := range p.Services[name].Before {
			if b != name && p.Services[b] != nil {
				out = append(out, b)
			}
		}
		for _, a := range listedAfter[name] {
			if a != name {
				out = append(out, a)
			}
		}
		return out
	}
	for _, start := range names {
		seen := map[string]bool{}
		pending := successors(start)
		for len(pending) > 0 {
			name := pending[len(pending)-1]
			pending = pending[:len(pending)-1]
			if name == start {
				return true
			}
			if !seen[name] {
				seen[name] = true
				pending = append(pending, successors(name)...)
			}
		}
	}
	return false
}

// cloneSection returns a copy of a plan section that can be written to.
func cloneSection[T any](m map[string]*T) map[string]*T {
	if m == nil {
		return map[string]*T{}
	}
	return maps.Clone(m)
}
