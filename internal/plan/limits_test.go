package plan

import "testing"

func TestParseLimits(t *testing.T) {
	l := mustParse(t, 0, "base", `
services:
    worker:
        override: replace
        command: /app/worker
        charge-group: team-a
        limits:
            memory: 512MiB
            pids: 200
            cpu: 1.5
            nofile: 4096
            nproc: unlimited
            core: 0.5K
            stack: 8M
            as: 2GB
            cpu-time: 3600
`)
	got := l.Services["worker"]
	want := Limits{
		Memory:  OptionalLimit{512 << 20, true},
		Pids:    OptionalLimit{200, true},
		CPU:     OptionalFloat{1.5, true},
		NoFile:  OptionalLimit{4096, true},
		NProc:   OptionalLimit{Unlimited, true},
		Core:    OptionalLimit{512, true},
		Stack:   OptionalLimit{8 << 20, true},
		AS:      OptionalLimit{2e9, true},
		CPUTime: OptionalLimit{3600, true},
	}
	if got.Limits != want {
		t.Errorf("limits:\n got  %+v\n want %+v", got.Limits, want)
	}
	if l := mustParse(t, 0, "zero", "services: {s: {limits: {core: 0}}}"); l.Services["s"].Limits.Core != (OptionalLimit{0, true}) {
		t.Errorf("core: 0 parsed as %+v", l.Services["s"].Limits.Core)
	}
	if got.ChargeGroup != "team-a" {
		t.Errorf("charge-group %q, want team-a", got.ChargeGroup)
	}
}

func TestLimitsMergeAcrossLayers(t *testing.T) {
	p := mustPlan(t, `
services:
    w:
        override: replace
        command: /bin/w
        charge-group: a
        limits: {memory: 1G, pids: 10, nofile: 100}
`, `
services:
    w:
        override: merge
        limits: {pids: unlimited, cpu: 0.5}
`, `
services:
    w:
        override: merge
        charge-group: b
`)
	l := p.Services["w"].Limits
	if l.Memory != (OptionalLimit{1 << 30, true}) || l.Pids != (OptionalLimit{Unlimited, true}) ||
		l.CPU != (OptionalFloat{0.5, true}) || l.NoFile != (OptionalLimit{100, true}) || l.NProc.IsSet {
		t.Errorf("merged limits %+v", l)
	}
	if g := p.Services["w"].ChargeGroup; g != "b" {
		t.Errorf("charge-group %q, want b", g)
	}
	replaced := mustPlan(t, `
services:
    w:
        override: replace
        command: /bin/w
        limits: {memory: 1G}
`, `
services:
    w:
        override: replace
        command: /bin/w
`)
	if !replaced.Services["w"].Limits.IsZero() {
		t.Errorf("override: replace kept limits %+v", replaced.Services["w"].Limits)
	}
}

func TestParseLimitsErrors(t *testing.T) {
	prefix := `cannot parse layer "lay" section "services": `
	for _, tc := range []struct{ yaml, err string }{
		{"limits: {memory: 12 parsecs}", prefix + `line 4: service "svc" field "limits.memory": expected a size in bytes such as 512MiB, 2G or 1000000, or "unlimited", not "12 parsecs"`},
		{"limits: {memory: 0}", prefix + `line 4: service "svc" field "limits.memory": size "0" out of range: must be at least 1 byte and below 8 EiB`},
		{"limits: {memory: 9000000T}", `~field "limits.memory": size "9000000T" out of range`},
		{"limits: {stack: 0}", `~field "limits.stack": size "0" out of range`},
		{"limits: {pids: 0}", prefix + `line 4: service "svc" field "limits.pids": expected a positive integer or "unlimited", not "0"`},
		{"limits: {nofile: 1k}", `~field "limits.nofile": expected a positive integer or "unlimited", not "1k"`},
		{"limits: {nofile: [1]}", `~field "limits.nofile": expected a number, not a sequence`},
		{"limits: {cpu: 0}", prefix + `line 4: service "svc" field "limits.cpu": cpu must be a number of cores of at least 0.01, not "0"`},
		{"limits: {cpu: .nan}", `~field "limits.cpu": cpu must be a number of cores`},
		{"limits: {cpu: many}", `~field "limits.cpu": invalid floating-point number "many"`},
		{"limits: {swap: 1G}", prefix + `line 4: service "svc": unknown field "limits.swap"`},
		{"limits: 5", `~service "svc" field "limits": expected a mapping`},
		{"charge-group: 'a b'", `~service "svc" field "charge-group": invalid charge group "a b"`},
	} {
		_, err := ParseLayer(0, "lay", []byte("services:\n    svc:\n        command: x\n        "+tc.yaml+"\n"))
		checkErr(t, tc.yaml, err, tc.err)
	}
}

func TestFormatLimitRoundTrips(t *testing.T) {
	for _, tc := range []struct {
		v     uint64
		bytes bool
		want  string
	}{{512 << 20, true, "512MiB"}, {1500, true, "1500"}, {3 << 40, true, "3TiB"}, {4096, false, "4096"}, {Unlimited, true, "unlimited"}, {0, true, "0"}} {
		got := FormatLimit(tc.v, tc.bytes)
		if got != tc.want {
			t.Errorf("FormatLimit(%d) = %q, want %q", tc.v, got, tc.want)
		}
		if back, err := ParseLimit(got, tc.bytes); tc.v != 0 && (err != nil || back != tc.v) {
			t.Errorf("ParseLimit(%q) = %d, %v; want %d", got, back, err, tc.v)
		}
	}
}
