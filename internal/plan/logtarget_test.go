package plan

import (
	"strings"
	"testing"
)

func TestLogTargetForwards(t *testing.T) {
	tests := []struct {
		services []string
		yes, no  []string
	}{
		{nil, nil, []string{"a", "all"}},
		{[]string{"all"}, []string{"a", "b"}, nil},
		{[]string{"a"}, []string{"a"}, []string{"b", "-a"}},
		{[]string{"all", "-b"}, []string{"a"}, []string{"b"}},
		{[]string{"all", "-b", "b"}, []string{"a", "b"}, nil},
		{[]string{"a", "b", "-all"}, nil, []string{"a", "b"}},
		{[]string{"a", "-all", "b"}, []string{"b"}, []string{"a"}},
		{[]string{"-a", "all"}, []string{"a"}, nil},
		{[]string{"all", "-a", "-"}, []string{"b"}, []string{"a"}},
	}
	for _, tt := range tests {
		lt := &LogTarget{Services: tt.services}
		for _, s := range tt.yes {
			if !lt.Forwards(s) {
				t.Errorf("%v does not forward %q", tt.services, s)
			}
		}
		for _, s := range tt.no {
			if lt.Forwards(s) {
				t.Errorf("%v forwards %q", tt.services, s)
			}
		}
	}
}

func TestLogTargetLocation(t *testing.T) {
	layer := func(typ, loc string) string {
		return "log-targets:\n    tgt:\n        override: replace\n        type: " + typ + "\n        location: '" + loc + "'\n"
	}
	good := [][2]string{
		{"loki", "http://loki:3100/loki/api/v1/push"},
		{"loki", "https://user:pw@loki.example/push?x=1"},
		{"opentelemetry", "http://127.0.0.1:4318"},
		{"syslog", "tcp://127.0.0.1:514"},
		{"syslog", "udp://[::1]:5514"},
		{"syslog", "udp://logs.example:514"},
	}
	for _, g := range good {
		if _, err := planFrom(layer(g[0], g[1])); err != nil {
			t.Errorf("%s %s: %v", g[0], g[1], err)
		}
	}
	bad := []struct{ typ, loc, err string }{
		{"loki", "http://[::1", `log target "tgt" has invalid location "http://[::1": missing ']' in host`},
		{"loki", "loki:3100/push", `log target "tgt" has invalid location "loki:3100/push": scheme must be "http" or "https"`},
		{"loki", "ftp://x/y", `scheme must be "http" or "https"`},
		{"opentelemetry", "http:///v1", `log target "tgt" has invalid location "http:///v1": no host`},
		{"opentelemetry", "http://a b", `invalid character " " in host name`},
		{"syslog", "http://x:514", `scheme must be "tcp" or "udp"`},
		{"syslog", "tcp://x", `must be tcp://host:port`},
		{"syslog", "udp://x:0", `invalid port "0"`},
		{"syslog", "udp://x:99999", `invalid port "99999"`},
		{"syslog", "tcp://x:514/path", `must be tcp://host:port`},
		{"syslog", "%zz", `invalid URL escape "%zz"`},
	}
	for _, b := range bad {
		_, err := planFrom(layer(b.typ, b.loc))
		if err == nil || !strings.Contains(err.Error(), b.err) {
			t.Errorf("%s %q: error %v, want %q", b.typ, b.loc, err, b.err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), `log target "tgt" has invalid location `) {
			t.Errorf("%s %q: error %v lacks the prefix", b.typ, b.loc, err)
		}
	}
}
