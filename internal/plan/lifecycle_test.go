package plan

import (
	"testing"
	"time"
)

func TestParseLifecycleFields(t *testing.T) {
	l := mustParse(t, 1, "base", `
services:
    db:
        override: replace
        command: db
        readiness:
            check: db-ready
            notify: true
        start-timeout: 90s
    migrate:
        override: replace
        command: migrate
        type: oneshot
    web:
        override: replace
        command: web
        readiness: {}
`)
	db := l.Services["db"]
	if *db.Readiness != (Readiness{Check: "db-ready", Notify: true}) || db.StartTimeout != dur(90*time.Second) || db.Type != TypeUnset {
		t.Errorf("db = %+v readiness %+v", db, db.Readiness)
	}
	if m := l.Services["migrate"]; !m.IsOneshot() || m.Readiness != nil || m.EffectiveStartTimeout() != 0 {
		t.Errorf("migrate = %+v", m)
	}
	if w := l.Services["web"]; w.Readiness == nil || w.Readiness.IsSet() || w.EffectiveStartTimeout() != 0 {
		t.Errorf("web readiness = %+v, want an empty object", w.Readiness)
	}
}

func TestParseLifecycleErrors(t *testing.T) {
	const svc = "services:\n    db:\n        override: replace\n        command: db\n"
	tests := []struct{ name, yaml, err string }{
		{"bad type", svc + "        type: forking\n",
			`layer "base" service "db": type must be "simple" or "oneshot", not "forking"`},
		{"bad duration", svc + "        start-timeout: soon\n",
			`cannot parse layer "base" section "services": line 5: service "db" field "start-timeout": invalid duration "soon"`},
		{"zero timeout", svc + "        start-timeout: 0s\n",
			`layer "base" service "db": start-timeout must be positive, not 0s`},
		{"negative timeout", svc + "        start-timeout: -1s\n",
			`layer "base" service "db": start-timeout must be positive, not -1s`},
		{"notify not bool", svc + "        readiness: {notify: yes please}\n",
			`cannot parse layer "base" section "services": line 5: service "db" field "readiness.notify": expected true or false, not !!str "yes please"`},
		{"unknown readiness field", svc + "        readiness: {port: 5}\n",
			`cannot parse layer "base" section "services": line 5: service "db": unknown field "readiness.port"`},
		{"readiness not a mapping", svc + "        readiness: db-ready\n",
			`cannot parse layer "base" section "services": line 5: service "db" field "readiness": expected a mapping, not !!str "db-ready"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseLayer(1, "base", []byte(tt.yaml))
			checkErr(t, "ParseLayer", err, tt.err)
		})
	}
}

func TestPlanLifecycleErrors(t *testing.T) {
	const check = "checks:\n    up:\n        override: replace\n        tcp: {port: 5432}\n"
	svc := func(extra string) string {
		return "services:\n    db:\n        override: replace\n        command: db\n" + extra
	}
	merge := func(extra string) string {
		return "services:\n    db:\n        override: merge\n" + extra
	}
	tests := []struct {
		name   string
		layers []string
		err    string
	}{
		{"unknown check", []string{svc(""), merge("        readiness: {check: nope}\n")},
			`layer "layer-1" service "db": readiness check "nope" is not a check of the plan`},
		{"oneshot with readiness", []string{svc("        readiness: {notify: true}\n"), merge("        type: oneshot\n")},
			`layer "layer-0" service "db": a oneshot service cannot have readiness: it is ready when it exits 0`},
		{"oneshot restarts on success", []string{svc("        type: oneshot\n        on-success: restart\n")},
			`layer "layer-0" service "db": a oneshot service cannot have on-success "restart": a succeeded one-shot stays done`},
		{"oneshot restarts on failure", []string{svc("        type: oneshot\n"), merge("        on-failure: restart\n")},
			`layer "layer-1" service "db": a oneshot service cannot have on-failure "restart": a failed one-shot stays failed until started again`},
		{"oneshot restarts on check failure", []string{check + svc("        type: oneshot\n        on-check-failure: {up: restart}\n")},
			`layer "layer-0" service "db": a oneshot service cannot have on-check-failure "up" "restart"`},
		{"timeout without readiness", []string{svc(""), merge("        start-timeout: 5s\n")},
			`layer "layer-1" service "db": start-timeout needs readiness or type oneshot (without them a service is started at the okay delay)`},
		{"readiness reset leaves a timeout", []string{svc("        readiness: {notify: true}\n        start-timeout: 5s\n"), merge("        readiness: {}\n")},
			`layer "layer-0" service "db": start-timeout needs readiness or type oneshot (without them a service is started at the okay delay)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := planFrom(tt.layers...)
			checkErr(t, tt.name, err, tt.err)
			// Adding the last layer to a plan of the others reports the same.
			if len(tt.layers) < 2 {
				return
			}
			p := mustPlan(t, tt.layers[:len(tt.layers)-1]...)
			top := mustParse(t, len(tt.layers)-1, "layer-"+string(rune('0'+len(tt.layers)-1)), tt.layers[len(tt.layers)-1])
			_, err = p.WithLayer(top, false, false)
			checkErr(t, tt.name+" (WithLayer)", err, tt.err)
		})
	}
}

func TestPlanLifecycleMerge(t *testing.T) {
	p := mustPlan(t, `
checks:
    up:
        override: replace
        tcp: {port: 5432}
services:
    db:
        override: replace
        command: db
        readiness: {check: up}
        start-timeout: 10s
    job:
        override: replace
        command: job
        type: oneshot
        start-timeout: 1m
`, `
services:
    db:
        override: merge
        readiness: {notify: true}
    job:
        override: merge
        type: simple
        readiness: {notify: true}
`)
	db := p.Services["db"]
	// readiness is replaced as a whole; start-timeout stays.
	if *db.Readiness != (Readiness{Notify: true}) || db.EffectiveStartTimeout() != 10*time.Second {
		t.Errorf("db readiness %+v timeout %s", db.Readiness, db.EffectiveStartTimeout())
	}
	if job := p.Services["job"]; job.IsOneshot() || job.EffectiveStartTimeout() != time.Minute {
		t.Errorf("job = %+v", job)
	}
	web := mustPlan(t, "services:\n    web:\n        override: replace\n        command: web\n        readiness: {notify: true}\n").Services["web"]
	if web.EffectiveStartTimeout() != DefaultStartTimeout {
		t.Errorf("default start-timeout with readiness = %s", web.EffectiveStartTimeout())
	}
}

func TestReadinessEqual(t *testing.T) {
	var none *Readiness
	if !none.Equal(&Readiness{}) || !(&Readiness{}).Equal(none) {
		t.Errorf("nil and empty readiness should be equal")
	}
	if none.Equal(&Readiness{Notify: true}) {
		t.Errorf("nil and notify readiness should differ")
	}
}
