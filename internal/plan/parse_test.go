package plan

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

func TestParseLayerFull(t *testing.T) {
	l := mustParse(t, 7, "full", `
summary: a summary
description: a description
services:
    web:
        summary: web server
        description: serves
        startup: enabled
        override: replace
        command: /usr/bin/web [ --port 80 ]
        after: [db]
        before: [proxy]
        requires: [db]
        environment: {B: 2, A: 1, C: yes}
        user-id: 1000
        user: web
        group-id: 1001
        group: webgrp
        working-dir: /srv
        on-success: shutdown
        on-failure: success-shutdown
        on-check-failure: {up: ignore}
        backoff-delay: 1s
        backoff-factor: 1.5
        backoff-limit: 90s
        kill-delay: 0s
    odd:
        override: merge
        startup: disabled
checks:
    up:
        override: replace
        level: alive
        startup: disabled
        period: 5s
        timeout: 1s
        threshold: 7
        http:
            url: http://localhost/health
            headers: {X-A: b}
    port:
        override: merge
        tcp:
            port: 80
            host: example.com
    run:
        override: merge
        exec:
            command: /bin/true
            service-context: web
            environment: {K: v}
            working-dir: /tmp
log-targets:
    loki:
        override: merge
        type: loki
        location: http://loki:3100/loki/api/v1/push
        services: [all, -web]
        labels: {env: prod}
workloads:
    wl:
        override: replace
        environment: {W: "1"}
        user-id: 5
        group-id: 6
pairing:
    mode: multiple
`)
	want := &Layer{
		Order:       7,
		Label:       "full",
		Summary:     "a summary",
		Description: "a description",
		Services: map[string]*Service{
			"web": {
				Name:           "web",
				Summary:        "web server",
				Description:    "serves",
				Startup:        StartupEnabled,
				Override:       ReplaceOverride,
				Command:        "/usr/bin/web [ --port 80 ]",
				After:          []string{"db"},
				Before:         []string{"proxy"},
				Requires:       []string{"db"},
				Environment:    map[string]string{"A": "1", "B": "2", "C": "yes"},
				UserID:         ptr(1000),
				User:           "web",
				GroupID:        ptr(1001),
				Group:          "webgrp",
				WorkingDir:     "/srv",
				OnSuccess:      ActionShutdown,
				OnFailure:      ActionSuccessShutdown,
				OnCheckFailure: map[string]ServiceAction{"up": ActionIgnore},
				BackoffDelay:   dur(time.Second),
				BackoffFactor:  OptionalFloat{Value: 1.5, IsSet: true},
				BackoffLimit:   dur(90 * time.Second),
				KillDelay:      dur(0),
			},
			"odd": {Name: "odd", Override: MergeOverride, Startup: StartupDisabled},
		},
		Checks: map[string]*Check{
			"up": {
				Name: "up", Override: ReplaceOverride, Level: AliveLevel, Startup: CheckStartupDisabled,
				Period: dur(5 * time.Second), Timeout: dur(time.Second), Threshold: 7,
				HTTP: &HTTPCheck{URL: "http://localhost/health", Headers: map[string]string{"X-A": "b"}},
			},
			"port": {Name: "port", Override: MergeOverride, TCP: &TCPCheck{Port: 80, Host: "example.com"}},
			"run": {Name: "run", Override: MergeOverride, Exec: &ExecCheck{
				Command: "/bin/true", ServiceContext: "web", Environment: map[string]string{"K": "v"}, WorkingDir: "/tmp",
			}},
		},
		LogTargets: map[string]*LogTarget{
			"loki": {
				Name: "loki", Type: LokiTarget, Location: "http://loki:3100/loki/api/v1/push",
				Services: []string{"all", "-web"}, Override: MergeOverride, Labels: map[string]string{"env": "prod"},
			},
		},
		Workloads: map[string]*Workload{
			"wl": {Name: "wl", Override: ReplaceOverride, Environment: map[string]string{"W": "1"}, UserID: ptr(5), GroupID: ptr(6)},
		},
		Pairing:   &Pairing{Mode: PairingMultiple},
		Workflows: map[string]*Workflow{},
	}
	if !reflect.DeepEqual(l, want) {
		t.Errorf("layer mismatch:\n got  %#v\n want %#v", l, want)
		for name := range want.Services {
			if !reflect.DeepEqual(l.Services[name], want.Services[name]) {
				t.Errorf("service %q:\n got  %#v\n want %#v", name, l.Services[name], want.Services[name])
			}
		}
	}
}

func TestParseLayerEmptyAndSpecial(t *testing.T) {
	for _, doc := range []string{"", "\n", "# only a comment\n", "~", "null", "{}", "services:\nchecks: {}\n"} {
		l, err := ParseLayer(1, "empty", []byte(doc))
		if err != nil {
			t.Errorf("%q: %v", doc, err)
			continue
		}
		if len(l.Services)+len(l.Checks)+len(l.LogTargets)+len(l.Workloads) != 0 || l.Pairing != nil {
			t.Errorf("%q: layer not empty: %#v", doc, l)
		}
		if l.Services == nil || l.Checks == nil || l.LogTargets == nil || l.Workloads == nil {
			t.Errorf("%q: nil section map", doc)
		}
	}
}

func TestParseLayerAliasesAndMergeKeys(t *testing.T) {
	l := mustParse(t, 1, "alias", `
services:
    a: &base
        override: replace
        command: /bin/a
        environment: &env {X: "1"}
    b:
        <<: *base
        command: /bin/b
    c:
        override: merge
        command: /bin/c
        environment: *env
`)
	if got := l.Services["b"]; got.Command != "/bin/b" || got.Override != ReplaceOverride || got.Environment["X"] != "1" {
		t.Errorf("merge key not applied: %#v", got)
	}
	if got := l.Services["c"].Environment["X"]; got != "1" {
		t.Errorf("alias not followed: %q", got)
	}
}

func TestParseLayerNullFieldsAreUnset(t *testing.T) {
	l := mustParse(t, 1, "nulls", `
services:
    a:
        override: replace
        command:
        backoff-delay:
        backoff-factor: ~
        user-id:
        after:
checks:
    c:
        override: replace
        http:
`)
	if s := l.Services["a"]; s.Command != "" || s.BackoffDelay.IsSet || s.BackoffFactor.IsSet || s.UserID != nil || s.After != nil {
		t.Errorf("null fields should be unset: %#v", s)
	}
	if c := l.Checks["c"]; c.HTTP != nil {
		t.Errorf("null http should be unset: %#v", c.HTTP)
	}
}

func TestParseLayerErrors(t *testing.T) {
	tests := []struct {
		name  string
		label string
		yaml  string
		err   string // exact, or a substring when it starts with "~"
	}{
		// §2 top level.
		{name: "unknown section", yaml: "foo: bar\n", err: `cannot parse layer "test": unknown section "foo"`},
		{name: "identities not a section", yaml: "identities: {}\n", err: `cannot parse layer "test": unknown section "identities"`},
		{name: "not a mapping", yaml: "- a\n", err: `~cannot parse layer "test": line 1: expected a mapping`},
		{name: "bad yaml", yaml: "services: [\n", err: `~cannot parse layer "test": yaml: `},
		{name: "duplicate key", yaml: "services:\n    a:\n        override: replace\n    a:\n        override: merge\n",
			err: `cannot parse layer "test" section "services": line 4: mapping key "a" already defined at line 2`},
		{name: "unknown service field", yaml: "services:\n    svc:\n        override: replace\n        foo: bar\n",
			err: `cannot parse layer "test" section "services": line 4: service "svc": unknown field "foo"`},
		{name: "unknown check field", yaml: "checks:\n    chk:\n        override: replace\n        http:\n            url: x\n            bad: 1\n",
			err: `cannot parse layer "test" section "checks": line 6: check "chk": unknown field "http.bad"`},
		{name: "unknown log target field", yaml: "log-targets:\n    t:\n        override: replace\n        kind: loki\n",
			err: `cannot parse layer "test" section "log-targets": line 4: log target "t": unknown field "kind"`},
		{name: "unknown workload field", yaml: "workloads:\n    w:\n        override: replace\n        uid: 1\n",
			err: `cannot parse layer "test" section "workloads": line 4: workload "w": unknown field "uid"`},
		{name: "unknown pairing field", yaml: "pairing:\n    mod: single\n",
			err: `cannot parse layer "test" section "pairing": line 2: pairing: unknown field "mod"`},
		{name: "service not a mapping", yaml: "services:\n    svc: [a]\n",
			err: `~cannot parse layer "test" section "services": line 2: service "svc": expected a mapping`},
		{name: "command not a string", yaml: "services:\n    svc:\n        command: [a]\n",
			err: `cannot parse layer "test" section "services": line 3: service "svc" field "command": expected a string, not a sequence`},
		{name: "after not a list", yaml: "services:\n    svc:\n        after: a\n",
			err: `~service "svc" field "after": expected a list`},
		{name: "user-id not an int", yaml: "services:\n    svc:\n        user-id: abc\n",
			err: `~service "svc" field "user-id": expected an integer`},
		{name: "threshold not an int", yaml: "checks:\n    c:\n        threshold: 1.5\n",
			err: `~check "c" field "threshold": expected an integer`},
		{name: "tcp port not an int", yaml: "checks:\n    c:\n        tcp:\n            port: http\n",
			err: `~check "c" field "tcp.port": expected an integer`},

		// §10 durations and numbers.
		{name: "duration not a string", yaml: "services:\n    svc:\n        backoff-delay: [1s]\n",
			err: `cannot parse layer "test" section "services": line 3: service "svc" field "backoff-delay": duration must be a YAML string`},
		{name: "bare number duration", yaml: "services:\n    svc:\n        kill-delay: 5\n",
			err: `cannot parse layer "test" section "services": line 3: service "svc" field "kill-delay": invalid duration "5"`},
		{name: "bad duration", yaml: "services:\n    svc:\n        backoff-delay: foo\n", err: `~invalid duration "foo"`},
		{name: "bad check period", yaml: "checks:\n    c:\n        period: soon\n", err: `~check "c" field "period": invalid duration "soon"`},
		{name: "factor not a number", yaml: "services:\n    svc:\n        backoff-factor: {a: 1}\n",
			err: `~service "svc" field "backoff-factor": value must be a YAML number`},
		{name: "factor invalid", yaml: "services:\n    svc:\n        backoff-factor: foo\n",
			err: `~service "svc" field "backoff-factor": invalid floating-point number "foo"`},
		{name: "factor zero", yaml: "services:\n    svc1:\n        override: replace\n        command: cmd\n        backoff-factor: 0\n",
			err: `plan service "svc1" backoff-factor must be 1.0 or greater, not 0`},
		{name: "factor small", yaml: "services:\n    svc1:\n        override: replace\n        command: cmd\n        backoff-factor: 0.5\n",
			err: `plan service "svc1" backoff-factor must be 1.0 or greater, not 0.5`},
		{name: "factor NaN", yaml: "services:\n    svc1:\n        backoff-factor: NaN\n",
			err: `plan service "svc1" backoff-factor must be 1.0 or greater, not NaN`},

		// §3 services.
		{name: "empty service name", yaml: "services:\n    \"\":\n        override: replace\n", err: `cannot use empty string as service name`},
		{name: "reserved service name", yaml: "services:\n    pebble:\n        override: replace\n", err: `cannot use reserved service name "pebble"`},
		{name: "dash service name", yaml: "services:\n    -x:\n        override: replace\n", err: `cannot use service name "-x": starting with "-" not allowed`},
		{name: "null service", yaml: "services:\n    svc:\n", err: `service object cannot be null for service "svc"`},
		{name: "on-success success-shutdown", yaml: "services:\n    svc:\n        on-success: success-shutdown\n",
			err: `plan service "svc" on-success action "success-shutdown" invalid`},
		{name: "on-success unknown", yaml: "services:\n    svc:\n        on-success: explode\n",
			err: `plan service "svc" on-success action "explode" invalid`},
		{name: "on-failure failure-shutdown", yaml: "services:\n    svc:\n        on-failure: failure-shutdown\n",
			err: `plan service "svc" on-failure action "failure-shutdown" invalid`},
		{name: "on-check-failure failure-shutdown", yaml: "services:\n    svc:\n        on-check-failure:\n            chk: failure-shutdown\n",
			err: `plan service "svc" on-check-failure action "failure-shutdown" invalid`},
		{name: "command unterminated", yaml: "services:\n    svc1:\n        override: replace\n        command: foo '\n",
			err: `plan service "svc1" command invalid: cannot parse service "svc1" command: EOF found when expecting closing quote`},
		{name: "command after group", yaml: "services:\n    svc1:\n        command: cmd -v [ --foo ] bar\n",
			err: `plan service "svc1" command invalid: cannot parse service "svc1" command: cannot have any arguments after [ ... ] group`},
		{name: "command starts with group", yaml: "services:\n    svc1:\n        command: '[ cmd ]'\n",
			err: `plan service "svc1" command invalid: cannot parse service "svc1" command: cannot start command with [ ... ] group`},
		{name: "command nested group", yaml: "services:\n    svc1:\n        command: cmd [ [ x ] ]\n",
			err: `plan service "svc1" command invalid: cannot parse service "svc1" command: cannot nest [ ... ] groups`},
		{name: "command stray bracket", yaml: "services:\n    svc1:\n        command: cmd ]\n",
			err: `plan service "svc1" command invalid: cannot parse service "svc1" command: cannot have ] outside of [ ... ] group`},

		// §4 checks.
		{name: "empty check name", yaml: "checks:\n    \"\":\n        override: replace\n", err: `cannot use empty string as check name`},
		{name: "null check", yaml: "checks:\n    chk:\n", err: `check object cannot be null for check "chk"`},
		{name: "bad level", yaml: "checks:\n    chk:\n        level: dead\n", err: `plan check "chk" level must be "alive" or "ready"`},
		{name: "bad check startup", yaml: "checks:\n    chk:\n        startup: maybe\n", err: `plan check "chk" startup must be "enabled" or "disabled"`},
		{name: "zero period", yaml: "checks:\n    chk:\n        period: 0s\n", err: `plan check "chk" period must not be zero`},
		{name: "zero timeout", yaml: "checks:\n    chk:\n        timeout: 0s\n", err: `plan check "chk" timeout must not be zero`},
		{name: "negative period", yaml: "checks:\n    chk:\n        period: -1s\n", err: `plan check "chk" period must not be negative`},
		{name: "exec command", yaml: "checks:\n    chk:\n        exec:\n            command: echo \"x\n",
			err: `plan check "chk" command invalid: EOF found when expecting closing quote`},
		{name: "exec user mismatch", yaml: "checks:\n    chk:\n        exec:\n            command: x\n            user: root\n            user-id: 5\n",
			err: `plan check "chk" has invalid user/group: user "root" UID (0) does not match user-id (5)`},
		{name: "exec unknown user", yaml: "checks:\n    chk:\n        exec:\n            command: x\n            user: no-such-user-xyz\n",
			err: `plan check "chk" has invalid user/group: user: unknown user no-such-user-xyz`},
		{name: "exec group only", yaml: "checks:\n    chk:\n        exec:\n            command: x\n            group-id: 0\n",
			err: `plan check "chk" has invalid user/group: must specify user, not just group`},
		{name: "exec group mismatch", yaml: "checks:\n    chk:\n        exec:\n            command: x\n            user: root\n            group: root\n            group-id: 5\n",
			err: `plan check "chk" has invalid user/group: group "root" GID (0) does not match group-id (5)`},
		{name: "exec unknown group", yaml: "checks:\n    chk:\n        exec:\n            command: x\n            user: root\n            group: no-such-group-xyz\n",
			err: `plan check "chk" has invalid user/group: group: unknown group no-such-group-xyz`},

		// §5 log targets.
		{name: "null log target", yaml: "log-targets:\n    tgt:\n", err: `log target object cannot be null for log target "tgt"`},
		{name: "reserved label", yaml: "log-targets:\n    tgt:\n        labels:\n            pebble_x: y\n",
			err: `log target "tgt": label "pebble_x" uses reserved prefix "pebble_"`},
		{name: "bad type", yaml: "log-targets:\n    tgt:\n        type: fluentd\n",
			err: `log target "tgt" has unsupported type "fluentd", must be "loki", "opentelemetry" or "syslog"`},

		// §6 extension sections.
		{name: "null workload", yaml: "workloads:\n    wl:\n", err: `workload "wl": cannot have a null value`},
		{name: "empty workload name", yaml: "workloads:\n    \"\":\n        override: replace\n", err: `workload "": cannot have an empty name`},
		{name: "workload without override", yaml: "workloads:\n    wl:\n        user-id: 1\n", err: `workload "wl": must define an "override" policy`},
		{name: "workload bad override", yaml: "workloads:\n    wl:\n        override: combine\n", err: `workload "wl": has an invalid "override" policy: "combine"`},
		{name: "bad pairing mode", yaml: "pairing:\n    mode: all\n", err: `invalid pairing mode "all": should be "disabled", "single" or "multiple"`},

		// §1.2 reserved labels.
		{name: "reserved label prefix", label: "pebble-foo", yaml: "", err: `cannot use reserved label prefix "pebble-"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			label := tt.label
			if label == "" {
				label = "test"
			}
			_, err := ParseLayer(1, label, []byte(tt.yaml))
			checkErr(t, tt.name, err, tt.err)
			var fe *FormatError
			if err != nil && !errors.As(err, &fe) {
				t.Errorf("error %v is %T, want *FormatError", err, err)
			}
		})
	}
}

// TestParseLayerRejectsUnknownStartup: Pebble v1.32 accepts any startup
// value and runs the service as disabled; a typo then silently keeps a
// service from starting, so we reject it.
func TestParseLayerRejectsUnknownStartup(t *testing.T) {
	_, err := ParseLayer(1, "x", []byte("services:\n    svc:\n        override: replace\n        command: x\n        startup: sometimes\n"))
	checkErr(t, "startup", err, `plan service "svc" startup must be "enabled" or "disabled", not "sometimes"`)
}

func TestParseLayerAliasBomb(t *testing.T) {
	// Each environment merges the previous one ten times over: expanding
	// them all would visit about 10^7 nodes.
	data := "services:\n    s0: {override: replace, command: x, environment: &e0 {A: b}}\n"
	for i := 1; i <= 7; i++ {
		data += fmt.Sprintf("    s%d:\n        override: replace\n        command: x\n        environment: &e%d\n", i, i)
		for range 10 {
			data += fmt.Sprintf("            <<: *e%d\n", i-1)
		}
	}
	_, err := ParseLayer(1, "bomb", []byte(data))
	checkErr(t, "alias bomb", err, "~document is too complex")
}
