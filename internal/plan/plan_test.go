package plan

import (
	"errors"
	"testing"
	"time"
)

func TestNewPlanDefaults(t *testing.T) {
	p := mustPlan(t, `
services:
    plain:
        override: replace
        command: /bin/plain
    tuned:
        override: replace
        command: /bin/tuned
        backoff-delay: 2s
        backoff-factor: 1
        backoff-limit: 1m
        kill-delay: 0s
checks:
    dflt:
        override: replace
        tcp: {port: 80}
    capped:
        override: replace
        period: 2s
        timeout: 5s
        threshold: 9
        tcp: {port: 80}
    short:
        override: replace
        period: 1s
        tcp: {port: 80}
`)
	plain := p.Services["plain"]
	if plain.BackoffDelay != (OptionalDuration{Value: 500 * time.Millisecond}) ||
		plain.BackoffFactor != (OptionalFloat{Value: 2}) ||
		plain.BackoffLimit != (OptionalDuration{Value: 30 * time.Second}) ||
		plain.KillDelay != (OptionalDuration{}) {
		t.Errorf("plain defaults: %#v", plain)
	}
	for _, tt := range []struct {
		name                string
		delay, limit, kill  time.Duration
		factor              float64
		onSuccess, onFailed ServiceAction
	}{
		{"plain", 500 * time.Millisecond, 30 * time.Second, 5 * time.Second, 2, ActionRestart, ActionRestart},
		{"tuned", 2 * time.Second, time.Minute, 0, 1, ActionRestart, ActionRestart},
	} {
		s := p.Services[tt.name]
		if s.EffectiveBackoffDelay() != tt.delay || s.EffectiveBackoffLimit() != tt.limit ||
			s.EffectiveKillDelay() != tt.kill || s.EffectiveBackoffFactor() != tt.factor ||
			s.EffectiveOnSuccess() != tt.onSuccess || s.EffectiveOnFailure() != tt.onFailed {
			t.Errorf("%s: effective values wrong", tt.name)
		}
	}
	// Effective values are the same on an unprocessed layer service.
	if s := (&Service{}); s.EffectiveBackoffDelay() != DefaultBackoffDelay || s.EffectiveKillDelay() != DefaultKillDelay {
		t.Errorf("zero service effective values wrong")
	}

	for _, tt := range []struct {
		name            string
		period, timeout time.Duration
		threshold       int
	}{
		{"dflt", 10 * time.Second, 3 * time.Second, 3},
		{"capped", 2 * time.Second, 2 * time.Second, 9},
		{"short", time.Second, time.Second, 3},
	} {
		c := p.Checks[tt.name]
		if c.EffectivePeriod() != tt.period || c.EffectiveTimeout() != tt.timeout || c.EffectiveThreshold() != tt.threshold {
			t.Errorf("%s: effective %v %v %v, want %v %v %v", tt.name,
				c.EffectivePeriod(), c.EffectiveTimeout(), c.EffectiveThreshold(), tt.period, tt.timeout, tt.threshold)
		}
		if c.Period.Value != tt.period || c.Timeout.Value != tt.timeout || c.Threshold != tt.threshold {
			t.Errorf("%s: plan values %#v", tt.name, c)
		}
		if !c.Enabled() || c.TCP.EffectiveHost() != "localhost" {
			t.Errorf("%s: run-time defaults wrong", tt.name)
		}
	}
	if p.Checks["dflt"].Period.IsSet || p.Checks["dflt"].Timeout.IsSet || !p.Checks["capped"].Timeout.IsSet {
		t.Errorf("IsSet must record only what layers set")
	}
}

func TestNewPlanKeepsLayers(t *testing.T) {
	layers, err := parseAll("services:\n    a:\n        override: replace\n        command: x\n")
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(layers)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Layers) != 1 || p.Layers[0] != layers[0] {
		t.Fatalf("plan layers = %v", p.Layers)
	}
	p.Services["a"].Command = "changed"
	if layers[0].Services["a"].Command != "x" {
		t.Errorf("plan shares a service with its layer")
	}
	empty, err := NewPlan(nil)
	if err != nil || empty.Services == nil || empty.Checks == nil || empty.LogTargets == nil || empty.Workloads == nil {
		t.Errorf("empty plan: %#v, %v", empty, err)
	}
}

func TestNewPlanErrors(t *testing.T) {
	svc := func(name, extra string) string {
		return "    " + name + ":\n        override: replace\n        command: /bin/" + name + "\n" + extra
	}
	tests := []struct {
		name   string
		layers []string
		err    string
	}{
		// §7.5
		{"missing command", []string{"services:\n    svc:\n        override: replace\n"}, `plan must define "command" for service "svc"`},
		{"missing command after merge", []string{"services:\n    svc:\n        override: merge\n        summary: x\n"}, `plan must define "command" for service "svc"`},
		{"unknown requires", []string{"services:\n" + svc("a", "        requires: [b]\n")}, `service "b" does not exist`},
		{"loop", []string{"services:\n" + svc("a", "        after: [b]\n") + svc("b", "        after: [a]\n")}, `services in before/after loop: a, b`},
		{"loop before", []string{"services:\n" + svc("a", "        before: [b]\n") + svc("b", "        before: [c]\n") + svc("c", "        before: [a]\n")}, `services in before/after loop: a, b, c`},
		{"loop across layers", []string{"services:\n" + svc("a", "        after: [b]\n") + svc("b", ""), "services:\n    b:\n        override: merge\n        after: [a]\n"}, `services in before/after loop: a, b`},

		// §4 plan level
		{"check without type", []string{"checks:\n    chk:\n        override: replace\n        level: alive\n"}, `plan must specify one of "http", "tcp", or "exec" for check "chk"`},
		{"check with two types", []string{"checks:\n    chk:\n        override: replace\n        http: {url: x}\n", "checks:\n    chk:\n        override: merge\n        tcp: {port: 1}\n"}, `plan must specify one of "http", "tcp", or "exec" for check "chk"`},
		{"http without url", []string{"checks:\n    chk:\n        override: replace\n        http: {headers: {a: b}}\n"}, `plan must set "url" for http check "chk"`},
		{"tcp without port", []string{"checks:\n    chk:\n        override: replace\n        tcp: {host: x}\n"}, `plan must set "port" for tcp check "chk"`},
		{"exec without command", []string{"checks:\n    chk:\n        override: replace\n        exec: {working-dir: /}\n"}, `plan must set "command" for exec check "chk"`},
		{"exec unknown context", []string{"checks:\n    chk:\n        override: replace\n        exec: {command: x, service-context: nope}\n"}, `plan check "chk" service context specifies non-existent service "nope"`},

		// §5 plan level
		{"target without type", []string{"log-targets:\n    tgt:\n        override: replace\n        location: x\n"}, `plan must define "type" ("loki", "opentelemetry" or "syslog") for log target "tgt"`},
		{"target unknown service", []string{"services:\n" + svc("a", "") + "log-targets:\n    tgt:\n        override: replace\n        type: syslog\n        location: udp://x:1\n        services: [all, -a, -b]\n"}, `log target "tgt" specifies unknown service "b"`},
		{"target without location", []string{"log-targets:\n    tgt:\n        override: replace\n        type: opentelemetry\n"}, `plan must define "location" for log target "tgt"`},

		// §6.1 plan level
		{"unknown workload", []string{"services:\n" + svc("a", "        workload: wl\n")}, `workload "wl": not defined for service "a"`},
		{"workload and user", []string{"services:\n" + svc("a", "        workload: wl\n        user-id: 1\n") + "workloads:\n    wl:\n        override: replace\n"}, `plan service "a" cannot have user information and a workload at the same time`},
		{"workload and group", []string{"services:\n" + svc("a", "        workload: wl\n        group: g\n") + "workloads:\n    wl:\n        override: replace\n"}, `plan service "a" cannot have group information and a workload at the same time`},
		{"workload bad user", []string{"workloads:\n    wl:\n        override: replace\n        user: root\n        user-id: 7\n"}, `workload "wl": user "root" UID (0) does not match user-id (7)`},
		{"workload unknown user", []string{"workloads:\n    wl:\n        override: replace\n        user: no-such-user-xyz\n"}, `workload "wl": user: unknown user no-such-user-xyz`},
		{"workload group only", []string{"workloads:\n    wl:\n        override: replace\n        group-id: 3\n"}, `workload "wl": must specify user, not just group`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := planFrom(tt.layers...)
			checkErr(t, tt.name, err, tt.err)
			var fe *FormatError
			if err != nil && !errors.As(err, &fe) {
				t.Errorf("error is %T, want *FormatError", err)
			}
		})
	}
}

func TestNewPlanAcceptsLooseReferences(t *testing.T) {
	// after/before naming unknown services are ignored; requires cycles are
	// fine; "all" and "-all" are valid log target entries.
	mustPlan(t, `
services:
    a:
        override: replace
        command: /bin/a
        after: [ghost]
        before: [phantom]
        requires: [b]
    b:
        override: replace
        command: /bin/b
        requires: [a]
log-targets:
    tgt:
        override: replace
        type: loki
        location: http://x
        services: [all, -all, a]
workloads:
    wl:
        override: replace
        user: root
        user-id: 0
        group-id: 0
`)
}

func TestEffectiveValuesWhenSet(t *testing.T) {
	s := &Service{OnSuccess: ActionShutdown, OnFailure: ActionIgnore, Startup: StartupEnabled}
	if s.EffectiveOnSuccess() != ActionShutdown || s.EffectiveOnFailure() != ActionIgnore || !s.Enabled() {
		t.Errorf("service effective values ignore what is set")
	}
	c := &Check{Threshold: 1, Startup: CheckStartupDisabled, Period: dur(time.Minute), Timeout: dur(time.Second)}
	if c.EffectiveThreshold() != 1 || c.Enabled() || c.EffectivePeriod() != time.Minute || c.EffectiveTimeout() != time.Second {
		t.Errorf("check effective values ignore what is set")
	}
	if (&TCPCheck{Host: "h"}).EffectiveHost() != "h" {
		t.Errorf("tcp host ignored")
	}
	for name, want := range map[string]bool{"all": true, "default": true, "none": true, "web": false, "-all": false} {
		if IsDeprecatedServiceName(name) != want {
			t.Errorf("IsDeprecatedServiceName(%q) != %v", name, want)
		}
	}
	var nilService *Service
	if !nilService.Equal(nil) || nilService.Equal(&Service{}) || (&Service{}).Equal(nil) {
		t.Errorf("Equal mishandles nil")
	}
}
