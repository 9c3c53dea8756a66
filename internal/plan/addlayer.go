package plan

import (
	"slices"
	"strings"
)

// ServiceArgsLabel is the label of the layer `pebble run --args` adds
// (layers.md §8.4).
const ServiceArgsLabel = "pebble-service-args"

// AddLayer returns a new layer list with l added the way POST /v1/layers
// adds it (layers.md §8.1–8.3). layers is not modified; l is copied, and its
// Order is chosen here (the value it carries is ignored).
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
// The caller builds the new plan with NewPlan (or uses (*Plan).WithLayer,
// which does both and also enforces the immutable workloads section).
func AddLayer(layers []*Layer, l *Layer, combine, inner bool) ([]*Layer, error) {
	switch {
	case l.Label == "":
		return nil, formatErrorf("label must be set")
	case strings.HasPrefix(l.Label, "pebble-"):
		return nil, formatErrorf(`cannot use reserved label prefix "pebble-"`)
	}
	if i := slices.IndexFunc(layers, func(old *Layer) bool { return old.Label == l.Label }); i >= 0 {
		if !combine {
			return nil, formatErrorf("layer %q already exists", l.Label)
		}
		folded, err := CombineLayers(layers[i], l)
		if err != nil {
			return nil, err
		}
		folded.Order = layers[i].Order
		folded.Label = layers[i].Label
		out := slices.Clone(layers)
		out[i] = folded
		return out, nil
	}
	pos, order := placeLayer(layers, l.Label)
	if pos < len(layers) && !inner {
		return nil, formatErrorf("cannot insert sub-directory layer without 'inner' attribute set")
	}
	added := l.Copy()
	added.Order = order
	return slices.Insert(slices.Clone(layers), pos, added), nil
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

// WithLayer returns the plan that results from adding l to p's layers with
// AddLayer and NewPlan. It fails with `cannot change immutable section
// "workloads"` when the new plan's workloads section differs from p's
// (layers.md §6.1). p is not modified.
func (p *Plan) WithLayer(l *Layer, combine, inner bool) (*Plan, error) {
	layers, err := AddLayer(p.Layers, l, combine, inner)
	if err != nil {
		return nil, err
	}
	next, err := NewPlan(layers)
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
		parts := []string{JoinCommand(base), "["}
		if len(args[name]) > 0 {
			parts = append(parts, JoinCommand(args[name]))
		}
		cmd := strings.Join(append(parts, "]"), " ")
		l.Services[name] = &Service{Name: name, Override: MergeOverride, Command: cmd}
	}
	return l, nil
}
