package planyaml

import (
	"reflect"
	"testing"

	"github.com/pebble-project/pebble/internal/plan"
)

// fuzzSeeds are layers touching every section and the YAML features
// (anchors, merge keys, tags, odd numbers) a printer could get wrong.
var fuzzSeeds = []string{
	"",
	"summary: x\n",
	"services:\n    svc:\n        override: replace\n        command: /bin/x [ --a 'b c' ]\n        after: [b]\n        requires: [b]\n    b:\n        override: merge\n        command: b\n        before: [svc]\n",
	"services:\n    a: &x\n        override: replace\n        command: a\n    b:\n        <<: *x\n        environment: {A: 1}\n",
	"checks:\n    c:\n        override: replace\n        period: 1s\n        timeout: 5s\n        tcp: {port: 1}\n",
	"checks:\n    c:\n        override: merge\n        exec: {command: \"x 'y\", user-id: 0}\n",
	"log-targets:\n    t:\n        override: merge\n        type: loki\n        location: http://x\n        services: [all, -a]\n        labels: {a: $b}\n",
	"workloads:\n    w:\n        override: replace\n        environment: {A: b}\n",
	"pairing:\n    mode: single\n",
	"services:\n    s:\n        backoff-factor: .inf\n        backoff-delay: -1h\n        kill-delay: 1.5us\n",
	"services:\n    s: !!binary aGVsbG8=\n",
	"services:\n    s:\n        override: replace\n        command: x\n        user-id: 0x10\n",
}

// FuzzLayerRoundTrip checks that every layer that parses prints to YAML
// that parses back to the same layer.
func FuzzLayerRoundTrip(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := plan.ParseLayer(1, "fuzz", data)
		if err != nil {
			return
		}
		out, err := Layer(l)
		if err != nil {
			t.Fatalf("cannot print parsed layer: %v", err)
		}
		back, err := plan.ParseLayer(1, "fuzz", out)
		if err != nil {
			t.Fatalf("cannot parse printed layer: %v\ninput:\n%s\nprinted:\n%s", err, data, out)
		}
		if !reflect.DeepEqual(back, l) {
			t.Fatalf("round trip changed the layer\ninput:\n%s\nprinted:\n%s", data, out)
		}
	})
}

// FuzzPlan checks that every valid plan of two arbitrary layers prints to
// YAML.
func FuzzPlan(f *testing.F) {
	for i, a := range fuzzSeeds {
		f.Add([]byte(a), []byte(fuzzSeeds[(i+2)%len(fuzzSeeds)]))
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		la, err := plan.ParseLayer(1, "one", a)
		if err != nil {
			return
		}
		lb, err := plan.ParseLayer(2, "two", b)
		if err != nil {
			return
		}
		p, err := plan.NewPlan([]*plan.Layer{la, lb})
		if err != nil {
			return
		}
		if _, err := Plan(p); err != nil {
			t.Fatalf("cannot print valid plan: %v", err)
		}
	})
}
