package plan

import "testing"

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
	"services: &a {x: *a}\n",
	"a: &a [*a, *a]\nb: &b [*a, *a]\n",
	"services:\n    s: !!binary aGVsbG8=\n",
	"services:\n    s:\n        override: replace\n        command: x\n        user-id: 0x10\n",
}

// FuzzParseLayer checks that no input panics. The printed layer's round
// trip is planyaml's FuzzLayerRoundTrip.
func FuzzParseLayer(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ParseLayer(1, "fuzz", data)
	})
}

// FuzzCombine checks that combining, validating and ordering two arbitrary
// layers never panics, that a valid plan orders all its services (planyaml's
// FuzzPlan prints it), and that adding the second layer to the plan of the
// first (WithLayer's shortcut) gives what combining both from scratch gives.
func FuzzCombine(f *testing.F) {
	for i, a := range fuzzSeeds {
		f.Add([]byte(a), []byte(fuzzSeeds[(i+2)%len(fuzzSeeds)]))
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		la, err := ParseLayer(1, "one", a)
		if err != nil {
			return
		}
		lb, err := ParseLayer(2, "two", b)
		if err != nil {
			return
		}
		if _, err := NewPlan([]*Layer{la}); err == nil {
			withLayerMatchesNewPlan(t, []*Layer{la}, lb)
		}
		if _, err := CombineLayers(la, lb); err != nil {
			return
		}
		p, err := NewPlan([]*Layer{la, lb})
		if err != nil {
			return
		}
		names := sortedKeys(p.Services)
		if _, err := p.StartOrder(names); err != nil {
			t.Fatalf("valid plan cannot order its services: %v", err)
		}
		if _, err := p.StopOrder(names); err != nil {
			t.Fatalf("valid plan cannot order its services for stop: %v", err)
		}
		// Folding b into a through addLayer must not panic either.
		lb.Label = "one"
		if layers, _, err := addLayer([]*Layer{la}, lb, true, false); err == nil {
			NewPlan(layers)
		}
	})
}
