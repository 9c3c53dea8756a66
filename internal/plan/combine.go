package plan

// CombineLayers folds layers, in the order given, into one layer following
// layers.md §7: for each entry, "replace" (or a first definition) takes a
// copy of the entry as it is, "merge" folds it into the earlier entry of the
// same name, keeping that entry's override (§7.3). A missing or unknown
// override is an error naming the layer and the entry.
//
// The result's Order, Label, Summary and Description are those of the last
// layer (for §8.2 folding, the caller sets Order and Label). No defaults are
// applied and the result is not validated: NewPlan does both. The inputs are
// not modified and share nothing with the result.
func CombineLayers(layers ...*Layer) (*Layer, error) {
	combined := newLayer(0, "")
	if len(layers) == 0 {
		return combined, nil
	}
	last := layers[len(layers)-1]
	combined.Order = last.Order
	combined.Label = last.Label
	combined.Summary = last.Summary
	combined.Description = last.Description
	for _, l := range layers {
		if err := combined.fold(l); err != nil {
			return nil, err
		}
	}
	return combined, nil
}

// fold applies the entries of l to the combined layer into (layers.md §7).
func (into *Layer) fold(l *Layer) error {
	for _, name := range sortedKeys(l.Services) {
		s := l.Services[name]
		if s == nil {
			return formatErrorf("service object cannot be null for service %q", name)
		}
		if err := combineEntry(into.Services, name, s, s.Override, l.Label, "service",
			(*Service).Copy, (*Service).Merge); err != nil {
			return err
		}
	}
	for _, name := range sortedKeys(l.Checks) {
		c := l.Checks[name]
		if c == nil {
			return formatErrorf("check object cannot be null for check %q", name)
		}
		if err := combineEntry(into.Checks, name, c, c.Override, l.Label, "check",
			(*Check).Copy, (*Check).Merge); err != nil {
			return err
		}
	}
	for _, name := range sortedKeys(l.LogTargets) {
		t := l.LogTargets[name]
		if t == nil {
			return formatErrorf("log target object cannot be null for log target %q", name)
		}
		if err := combineEntry(into.LogTargets, name, t, t.Override, l.Label, "log target",
			(*LogTarget).Copy, (*LogTarget).Merge); err != nil {
			return err
		}
	}
	for _, name := range sortedKeys(l.Workloads) {
		w := l.Workloads[name]
		if w == nil {
			return formatErrorf("workload %q: cannot have a null value", name)
		}
		if err := validateWorkloadOverride(name, w.Override); err != nil {
			return err
		}
		if err := combineEntry(into.Workloads, name, w, w.Override, l.Label, "workload",
			(*Workload).Copy, (*Workload).Merge); err != nil {
			return err
		}
	}
	for _, name := range sortedKeys(l.Workflows) {
		w := l.Workflows[name]
		if w == nil {
			return formatErrorf("layer %q: workflow object cannot be null for workflow %q", l.Label, name)
		}
		if err := combineEntry(into.Workflows, name, w.withLayer(l.Label), w.Override, l.Label, "workflow",
			(*Workflow).Copy, (*Workflow).Merge); err != nil {
			return err
		}
	}
	if l.Pairing != nil && l.Pairing.Mode != PairingUnset {
		into.Pairing = &Pairing{Mode: l.Pairing.Mode}
	}
	return nil
}

// combineEntry applies one layer entry to the combined section m.
func combineEntry[T any](m map[string]*T, name string, entry *T, override Override, label, kind string,
	copyFn func(*T) *T, mergeFn func(*T, *T)) error {
	switch override {
	case MergeOverride:
		if old := m[name]; old != nil {
			merged := copyFn(old)
			mergeFn(merged, entry)
			m[name] = merged
			return nil
		}
		m[name] = copyFn(entry)
	case ReplaceOverride:
		m[name] = copyFn(entry)
	case UnknownOverride:
		return formatErrorf(`layer %q must define "override" for %s %q`, label, kind, name)
	default:
		return formatErrorf(`layer %q has invalid "override" value for %s %q`, label, kind, name)
	}
	return nil
}
