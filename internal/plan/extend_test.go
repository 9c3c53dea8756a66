package plan

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// withLayerMatchesNewPlan checks that adding top to the plan of base gives
// what combining every layer from scratch gives: the same plan, or the same
// error.
func withLayerMatchesNewPlan(t *testing.T, base []*Layer, top *Layer) {
	t.Helper()
	p, err := NewPlan(base)
	if err != nil {
		t.Fatalf("base plan: %v", err)
	}
	got, gotErr := p.WithLayer(top, false, false)
	layers, _, err := addLayer(base, top, false, false)
	if err != nil {
		if gotErr == nil || gotErr.Error() != err.Error() {
			t.Fatalf("WithLayer error %v, addLayer error %v", gotErr, err)
		}
		return
	}
	want, wantErr := NewPlan(layers)
	if wantErr != nil && !WorkloadsEqual(p.Workloads, nil) {
		return
	}
	switch {
	case wantErr != nil && gotErr == nil:
		t.Fatalf("WithLayer accepted a layer NewPlan refuses: %v", wantErr)
	case wantErr != nil:
		if gotErr.Error() != wantErr.Error() {
			t.Fatalf("WithLayer error\n  got  %q\n  want %q", gotErr, wantErr)
		}
	case gotErr != nil:
		if !WorkloadsEqual(p.Workloads, want.Workloads) {
			return // the immutable workloads rule, checked by WithLayer only
		}
		t.Fatalf("WithLayer refused a layer NewPlan accepts: %v", gotErr)
	case !reflect.DeepEqual(withoutUnknownOrder(got), withoutUnknownOrder(want)):
		t.Fatalf("WithLayer plan differs from NewPlan's in %s", planDiff(got, want))
	}
}

// planDiff names the parts of two plans that differ, each with both values.
func planDiff(got, want *Plan) string {
	var diffs []string
	add := func(part string, g, w any) {
		if !reflect.DeepEqual(g, w) {
			diffs = append(diffs, fmt.Sprintf("%s:\n  got  %s\n  want %s", part, spell(g), spell(w)))
		}
	}
	add("layers", got.Layers, want.Layers)
	add("services", got.Services, want.Services)
	add("checks", got.Checks, want.Checks)
	add("log-targets", got.LogTargets, want.LogTargets)
	add("workloads", got.Workloads, want.Workloads)
	add("pairing", got.Pairing, want.Pairing)
	add("text size", got.text, want.text)
	return strings.Join(diffs, "\n")
}

// spell prints v with the values behind its pointers.
func spell(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(data)
}

// withoutUnknownOrder returns a copy of p without its unknownOrder, which
// WithLayer may keep larger than NewPlan (it is a hint).
func withoutUnknownOrder(p *Plan) *Plan {
	c := *p
	c.unknownOrder = nil
	return &c
}

func TestWithLayerMatchesNewPlan(t *testing.T) {
	const base = `services:
    a:
        override: replace
        command: a
        after: [z]
    b:
        override: replace
        command: b
        requires: [a]
checks:
    c:
        override: replace
        period: 1s
        timeout: 5s
        tcp: {port: 1}
`
	tests := []struct{ name, top string }{
		{"new service", "services:\n    n:\n        override: replace\n        command: n\n        after: [a]\n"},
		{"merge service", "services:\n    a:\n        override: merge\n        environment: {A: b}\n        backoff-delay: 1s\n"},
		{"replace service", "services:\n    b:\n        override: replace\n        command: b2\n"},
		{"missing command", "services:\n    n:\n        override: replace\n"},
		{"unknown requires", "services:\n    n:\n        override: replace\n        command: n\n        requires: [nope]\n"},
		{"loop through dangling after", "services:\n    z:\n        override: replace\n        command: z\n        after: [a]\n"},
		{"loop through before", "services:\n    n:\n        override: replace\n        command: n\n        before: [a]\n        after: [b]\n"},
		{"no loop", "services:\n    n:\n        override: replace\n        command: n\n        before: [a]\n"},
		{"loop through a name listed before it existed", "services:\n    z:\n        override: replace\n        command: z\n        before: [b]\n"},
		{"loop inside the layer", "services:\n    x:\n        override: replace\n        command: x\n        after: [y]\n    y:\n        override: replace\n        command: y\n        after: [x]\n"},
		{"check timeout uncapped by merge", "checks:\n    c:\n        override: merge\n        period: 10s\n"},
		{"new check", "checks:\n    d:\n        override: replace\n        exec: {command: x, service-context: a}\n"},
		{"check bad context", "checks:\n    d:\n        override: replace\n        exec: {command: x, service-context: nope}\n"},
		{"log target", "log-targets:\n    t:\n        override: replace\n        type: loki\n        location: http://x\n        services: [a]\n"},
		{"log target unknown service", "log-targets:\n    t:\n        override: replace\n        type: loki\n        location: http://x\n        services: [nope]\n"},
		{"workload added", "workloads:\n    w:\n        override: replace\n"},
		{"pairing", "pairing:\n    mode: single\n"},
		{"no override", "services:\n    a:\n        command: x\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			withLayerMatchesNewPlan(t, []*Layer{mustParse(t, 1000, "base", base)}, mustParse(t, 0, "top", tt.top))
		})
	}
}

// TestWithLayerCostFlat checks that adding a layer on top of 1,000 costs
// no more allocations than adding it on top of 100: before the shortcut,
// WithLayer combined and validated every layer again.
func TestWithLayerCostFlat(t *testing.T) {
	plans := map[int]*Plan{}
	p, err := NewPlan(nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		l := mustParse(t, 0, fmt.Sprintf("l%d", i), fmt.Sprintf(
			"services:\n    s%d:\n        override: replace\n        command: run %d\n        requires: [s0]\n        after: [s%d]\n", i, i, max(i-1, 0)))
		if p, err = p.WithLayer(l, false, false); err != nil {
			t.Fatal(err)
		}
		if i+1 == 100 || i+1 == 1000 {
			plans[i+1] = p
		}
	}
	top := mustParse(t, 0, "top", "services:\n    top:\n        override: replace\n        command: top\n        requires: [s1]\n        after: [s99]\n")
	allocs := map[int]float64{}
	for n, p := range plans {
		allocs[n] = testing.AllocsPerRun(20, func() {
			if _, err := p.WithLayer(top, false, false); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Logf("allocations per added layer: %.0f on 100 layers, %.0f on 1000", allocs[100], allocs[1000])
	if allocs[1000] > allocs[100]+10 {
		t.Errorf("adding a layer to 1000 layers takes %.0f allocations, to 100 layers %.0f: the cost grows with the plan", allocs[1000], allocs[100])
	}
}
