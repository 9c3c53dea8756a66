package plan

import (
	"testing"
	"time"
)

func TestParseTimingFields(t *testing.T) {
	l := mustParse(t, 1, "base", `
services:
    backup:
        override: replace
        command: backup
        schedule: "30 2 * * mon-fri"
    tick:
        override: replace
        command: tick
        schedule: "@every 2s"
checks:
    up:
        override: replace
        start-period: 30s
        tcp: {port: 5432}
`)
	if got := l.Services["backup"].Schedule; got != "30 2 * * mon-fri" {
		t.Errorf("backup schedule = %q", got)
	}
	s, err := l.Services["tick"].ParsedSchedule()
	if err != nil || s.Every() != 2*time.Second {
		t.Errorf("tick schedule = %v, %v", s, err)
	}
	if got := l.Checks["up"].StartPeriod; got != dur(30*time.Second) {
		t.Errorf("start-period = %+v", got)
	}
	// A later layer replaces the schedule and the start-period.
	over := mustParse(t, 2, "over", `
services:
    backup:
        override: merge
        schedule: "@daily"
checks:
    up:
        override: merge
        start-period: 5s
`)
	b := l.Services["backup"].Copy()
	b.Merge(over.Services["backup"])
	if b.Schedule != "@daily" || b.Command != "backup" {
		t.Errorf("merged backup = %+v", b)
	}
	c := l.Checks["up"].Copy()
	c.Merge(over.Checks["up"])
	if c.StartPeriod != dur(5*time.Second) {
		t.Errorf("merged start-period = %+v", c.StartPeriod)
	}
}

func TestParseTimingErrors(t *testing.T) {
	const svc = "services:\n    db:\n        override: replace\n        command: db\n"
	const check = "checks:\n    up:\n        override: replace\n        tcp: {port: 5432}\n"
	tests := []struct{ name, yaml, err string }{
		{"cron field", svc + "        schedule: \"61 * * * *\"\n",
			`layer "base" service "db" field "schedule": invalid minute field "61": value 61 out of range 0-59`},
		{"field count", svc + "        schedule: \"* *\"\n",
			`layer "base" service "db" field "schedule": cron schedule "* *" has 2 fields, want 5 (minute hour day-of-month month day-of-week)`},
		{"every", svc + "        schedule: \"@every soon\"\n",
			`layer "base" service "db" field "schedule": invalid @every duration "soon"`},
		{"negative start-period", check + "        start-period: -1s\n",
			`layer "base" check "up" field "start-period": must not be negative, not -1s`},
		{"bad start-period", check + "        start-period: later\n",
			`cannot parse layer "base" section "checks": line 5: check "up" field "start-period": invalid duration "later"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseLayer(1, "base", []byte(tt.yaml))
			checkErr(t, "ParseLayer", err, tt.err)
		})
	}
}
