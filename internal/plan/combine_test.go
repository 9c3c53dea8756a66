package plan

import (
	"reflect"
	"testing"
	"time"
)

func TestCombineLayersMerge(t *testing.T) {
	layers, err := parseAll(`
summary: first
services:
    svc:
        override: replace
        summary: one
        command: /bin/one
        startup: enabled
        after: [a]
        requires: [a]
        environment: {A: "1", B: "1"}
        user-id: 10
        on-check-failure: {c1: restart}
        backoff-delay: 1s
        backoff-factor: 3
        kill-delay: 9s
checks:
    chk:
        override: replace
        level: alive
        period: 20s
        threshold: 5
        http:
            url: http://one
            headers: {H1: a}
log-targets:
    tgt:
        override: replace
        type: loki
        location: http://one
        services: [all, -svc]
        labels: {l1: a}
workloads:
    wl:
        override: replace
        environment: {W: "1"}
        user-id: 1
pairing:
    mode: single
`, `
summary: second
description: second layer
services:
    svc:
        override: merge
        command: /bin/two
        after: [b]
        requires: [a]
        environment: {B: "2", C: "2"}
        user-id: 0
        on-check-failure: {c2: ignore}
        backoff-delay: 0s
checks:
    chk:
        override: merge
        period: 30s
        threshold: 0
        http:
            headers: {H2: b}
log-targets:
    tgt:
        override: merge
        services: [svc]
        labels: {l2: b}
workloads:
    wl:
        override: merge
        environment: {X: "2"}
        group-id: 2
pairing:
    mode: disabled
`)
	if err != nil {
		t.Fatal(err)
	}
	before := make([]*Layer, len(layers))
	for i, l := range layers {
		before[i] = l.Copy()
	}
	got, err := CombineLayers(layers...)
	if err != nil {
		t.Fatal(err)
	}
	want := &Layer{
		Order:       1,
		Label:       "layer-1",
		Summary:     "second",
		Description: "second layer",
		Services: map[string]*Service{"svc": {
			Name:           "svc",
			Summary:        "one",
			Override:       ReplaceOverride, // kept from the creating layer
			Command:        "/bin/two",
			Startup:        StartupEnabled,
			After:          []string{"a", "b"},
			Requires:       []string{"a", "a"}, // appended, not de-duplicated
			Environment:    map[string]string{"A": "1", "B": "2", "C": "2"},
			UserID:         ptr(0), // explicit zero replaces
			OnCheckFailure: map[string]ServiceAction{"c1": ActionRestart, "c2": ActionIgnore},
			BackoffDelay:   dur(0),
			BackoffFactor:  OptionalFloat{Value: 3, IsSet: true},
			KillDelay:      dur(9 * time.Second),
		}},
		Checks: map[string]*Check{"chk": {
			Name: "chk", Override: ReplaceOverride, Level: AliveLevel,
			Period: dur(30 * time.Second), Threshold: 5,
			HTTP: &HTTPCheck{URL: "http://one", Headers: map[string]string{"H1": "a", "H2": "b"}},
		}},
		LogTargets: map[string]*LogTarget{"tgt": {
			Name: "tgt", Type: LokiTarget, Location: "http://one", Override: ReplaceOverride,
			Services: []string{"all", "-svc", "svc"},
			Labels:   map[string]string{"l1": "a", "l2": "b"},
		}},
		Workloads: map[string]*Workload{"wl": {
			Name: "wl", Override: ReplaceOverride,
			Environment: map[string]string{"W": "1", "X": "2"}, UserID: ptr(1), GroupID: ptr(2),
		}},
		Pairing:   &Pairing{Mode: PairingDisabled},
		Workflows: map[string]*Workflow{},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("combined:\n got  %#v\n want %#v", got, want)
		t.Errorf("service:\n got  %#v\n want %#v", got.Services["svc"], want.Services["svc"])
	}
	if !reflect.DeepEqual(layers, before) {
		t.Errorf("CombineLayers modified its input layers")
	}
	// The result shares nothing with the inputs.
	got.Services["svc"].Environment["A"] = "changed"
	got.LogTargets["tgt"].Services[0] = "changed"
	if !reflect.DeepEqual(layers, before) {
		t.Errorf("combined layer shares memory with the inputs")
	}
}

func TestCombineLayersReplace(t *testing.T) {
	layers, err := parseAll(`
services:
    svc:
        override: merge
        command: /bin/one
        environment: {A: "1"}
checks:
    chk:
        override: merge
        http:
            url: http://x
`, `
services:
    svc:
        override: replace
        command: /bin/two
checks:
    chk:
        override: replace
        tcp:
            port: 80
`, `
services:
    svc:
        override: merge
        summary: three
`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := CombineLayers(layers...)
	if err != nil {
		t.Fatal(err)
	}
	want := &Service{Name: "svc", Override: ReplaceOverride, Command: "/bin/two", Summary: "three"}
	if !reflect.DeepEqual(got.Services["svc"], want) {
		t.Errorf("service = %#v, want %#v", got.Services["svc"], want)
	}
	if c := got.Checks["chk"]; c.HTTP != nil || c.TCP == nil || c.TCP.Port != 80 {
		t.Errorf("replace did not discard the old check: %#v", c)
	}
}

func TestCombineLayersNoLayers(t *testing.T) {
	got, err := CombineLayers()
	if err != nil {
		t.Fatal(err)
	}
	if got.Services == nil || len(got.Services) != 0 || got.Pairing != nil {
		t.Errorf("unexpected %#v", got)
	}
}

func TestCombineLayersOverrideErrors(t *testing.T) {
	tests := []struct {
		yaml string
		err  string
	}{
		{"services:\n    svc:\n        command: x\n", `layer "layer-0" must define "override" for service "svc"`},
		{"services:\n    svc:\n        override: combine\n        command: x\n", `layer "layer-0" has invalid "override" value for service "svc"`},
		{"checks:\n    chk:\n        tcp: {port: 1}\n", `layer "layer-0" must define "override" for check "chk"`},
		{"checks:\n    chk:\n        override: x\n", `layer "layer-0" has invalid "override" value for check "chk"`},
		{"log-targets:\n    tgt:\n        type: loki\n", `layer "layer-0" must define "override" for log target "tgt"`},
		{"log-targets:\n    tgt:\n        override: x\n", `layer "layer-0" has invalid "override" value for log target "tgt"`},
	}
	for _, tt := range tests {
		layers, err := parseAll(tt.yaml)
		if err != nil {
			t.Fatalf("%q: %v", tt.yaml, err)
		}
		_, err = CombineLayers(layers...)
		checkErr(t, tt.yaml, err, tt.err)
		// The error is the same when an entry of that name exists already.
		base, _ := parseAll("services:\n    svc:\n        override: replace\n        command: x\n")
		_, err = CombineLayers(append(base, layers[0])...)
		checkErr(t, tt.yaml, err, tt.err)
	}
}
