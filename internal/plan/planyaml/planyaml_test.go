package planyaml

import (
	"reflect"
	"testing"

	"github.com/pebble-project/pebble/internal/plan"
)

// mustParse parses a layer or fails the test.
func mustParse(t *testing.T, order int, label, data string) *plan.Layer {
	t.Helper()
	l, err := plan.ParseLayer(order, label, []byte(data))
	if err != nil {
		t.Fatalf("cannot parse layer %q: %v", label, err)
	}
	return l
}

// mustPlan parses each YAML document as a layer (labels layer-0, layer-1,
// ...) and builds the plan, or fails the test.
func mustPlan(t *testing.T, docs ...string) *plan.Plan {
	t.Helper()
	var layers []*plan.Layer
	for i, doc := range docs {
		layers = append(layers, mustParse(t, i, "layer-"+string(rune('0'+i)), doc))
	}
	p, err := plan.NewPlan(layers)
	if err != nil {
		t.Fatalf("cannot build plan: %v", err)
	}
	return p
}

func TestPlanYAMLSpecExample(t *testing.T) {
	p := mustPlan(t, `
services:
    web:
        override: replace
        startup: enabled
        command: /usr/bin/web [ --port 80 ]
        backoff-limit: 90s
        environment: {B: 2, A: 1}
checks:
    web-up:
        override: replace
        level: ready
        tcp:
            port: 80
`)
	want := `services:
    web:
        startup: enabled
        override: replace
        command: /usr/bin/web [ --port 80 ]
        environment:
            A: "1"
            B: "2"
        backoff-limit: 1m30s
checks:
    web-up:
        override: replace
        level: ready
        threshold: 3
        tcp:
            port: 80
`
	got, err := Plan(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("plan YAML:\n%s\nwant:\n%s", got, want)
	}
}

func TestPlanYAMLAllFields(t *testing.T) {
	p := mustPlan(t, `
summary: not printed
services:
    db:
        override: replace
        command: /bin/db
    svc:
        backoff-delay: 1500ms
        kill-delay: 1h
        backoff-factor: 1.5
        backoff-limit: 60s
        on-check-failure: {chk: shutdown}
        on-failure: ignore
        on-success: failure-shutdown
        working-dir: /srv
        group: root
        group-id: 0
        user: root
        user-id: 0
        environment: {X: y, N: "", T: "true"}
        workload: ""
        requires: [db]
        before: [db]
        after: [other]
        command: "/bin/svc --flag 'a b'"
        override: merge
        startup: disabled
        description: desc
        summary: sum
checks:
    chk:
        exec:
            working-dir: /
            group: root
            group-id: 0
            user: root
            user-id: 0
            environment: {E: "1"}
            service-context: svc
            command: /bin/check
        threshold: 1
        timeout: 20s
        period: 15s
        startup: disabled
        level: alive
        override: merge
    web:
        override: replace
        http:
            url: http://localhost:8080/
            headers: {Accept: text/plain}
log-targets:
    tgt:
        labels: {env: $ENV}
        override: merge
        location: udp://host:514
        type: syslog
workloads:
    wl:
        group: root
        group-id: 0
        user: root
        user-id: 0
        environment: {W: w}
        override: replace
pairing:
    mode: single
`)
	want := `services:
    db:
        override: replace
        command: /bin/db
    svc:
        summary: sum
        description: desc
        startup: disabled
        override: merge
        command: /bin/svc --flag 'a b'
        after:
            - other
        before:
            - db
        requires:
            - db
        environment:
            "N": ""
            T: "true"
            X: "y"
        user-id: 0
        user: root
        group-id: 0
        group: root
        working-dir: /srv
        on-success: failure-shutdown
        on-failure: ignore
        on-check-failure:
            chk: shutdown
        backoff-delay: 1.5s
        backoff-factor: 1.5
        backoff-limit: 1m0s
        kill-delay: 1h0m0s
checks:
    chk:
        override: merge
        level: alive
        startup: disabled
        period: 15s
        timeout: 15s
        threshold: 1
        exec:
            command: /bin/check
            service-context: svc
            environment:
                E: "1"
            user-id: 0
            user: root
            group-id: 0
            group: root
            working-dir: /
    web:
        override: replace
        threshold: 3
        http:
            url: http://localhost:8080/
            headers:
                Accept: text/plain
log-targets:
    tgt:
        type: syslog
        location: udp://host:514
        services: []
        override: merge
        labels:
            env: $ENV
workloads:
    wl:
        override: replace
        environment:
            W: w
        user-id: 0
        user: root
        group-id: 0
        group: root
pairing:
    mode: single
`
	got, err := Plan(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("plan YAML:\n%s\nwant:\n%s", got, want)
	}
}

func TestPlanYAMLEmpty(t *testing.T) {
	p := mustPlan(t)
	got, err := Plan(p)
	if err != nil || string(got) != "{}\n" {
		t.Errorf("empty plan YAML = %q, %v", got, err)
	}
}

func TestLayerYAMLRoundTrip(t *testing.T) {
	l := mustParse(t, 3, "round", `
summary: s
description: d
services:
    svc:
        override: replace
        command: "/bin/x \"a b\" [ --y ]"
        environment: {"": "", "1": "no", K: "multi\nline"}
        backoff-factor: 1e3
        kill-delay: 0s
        user-id: -1
        after: [~, "", "null"]
        limits: {memory: 1536MiB, pids: 7, cpu: 0.25, nofile: unlimited, core: 1000, stack: 8M, as: 2GB, nproc: 10, cpu-time: 60}
        charge-group: team-a
checks:
    c:
        override: merge
        tcp: {host: h}
log-targets:
    t:
        override: merge
workloads:
    w:
        override: merge
`)
	data, err := Layer(l)
	if err != nil {
		t.Fatal(err)
	}
	back, err := plan.ParseLayer(3, "round", data)
	if err != nil {
		t.Fatalf("cannot parse printed layer: %v\n%s", err, data)
	}
	if !reflect.DeepEqual(back, l) {
		t.Errorf("round trip changed the layer:\n%s\n got  %#v\n want %#v", data, back, l)
	}
}

func TestExitPolicyYAMLRoundTrip(t *testing.T) {
	// Written in the printed form, so printing gives it back unchanged.
	const text = `services:
    web:
        override: replace
        command: /bin/web
        restart-limit: 0
        restart-window: 1m30s
        on-restart-limit: failure-shutdown
        success-exit-codes: [0, 143]
        stop-signal: SIGQUIT
        reload-command: /bin/web --reload
`
	l := mustParse(t, 1, "exit", text)
	data, err := Layer(l)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != text {
		t.Errorf("got\n%s\nwant\n%s", data, text)
	}
	back, err := plan.ParseLayer(1, "exit", data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, l) {
		t.Errorf("round trip changed the layer:\n got  %#v\n want %#v", back, l)
	}
}

func TestTimingYAMLRoundTrip(t *testing.T) {
	// Written in the printed form, so printing gives it back unchanged.
	const text = `services:
    tick:
        override: replace
        command: /bin/tick
        schedule: '@every 2s'
checks:
    up:
        override: replace
        start-period: 30s
        tcp:
            port: 8080
`
	l := mustParse(t, 1, "timing", text)
	data, err := Layer(l)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != text {
		t.Errorf("got\n%s\nwant\n%s", data, text)
	}
	back, err := plan.ParseLayer(1, "timing", data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, l) {
		t.Errorf("round trip changed the layer:\n got  %#v\n want %#v", back, l)
	}
}
