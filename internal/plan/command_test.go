package plan

import (
	"slices"
	"testing"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		command     string
		base, extra []string
		err         string
	}{
		{command: "/usr/bin/app --db=/d", base: []string{"/usr/bin/app", "--db=/d"}},
		{command: "/usr/bin/app --db=/d [ --port 8080 ]", base: []string{"/usr/bin/app", "--db=/d"}, extra: []string{"--port", "8080"}},
		{command: "app [ ]", base: []string{"app"}},
		{command: "app [ --open", base: []string{"app"}, extra: []string{"--open"}},
		{command: `cmd -v [ --foo bar -e "x [ y ] z" ]`, base: []string{"cmd", "-v"}, extra: []string{"--foo", "bar", "-e", "x [ y ] z"}},
		// Quoting a lone bracket does not hide it: groups are found in words.
		{command: `app "[" x`, base: []string{"app"}, extra: []string{"x"}},
		{command: "[ app ]", err: `cannot parse service "svc" command: cannot start command with [ ... ] group`},
		{command: "app [ a [ b ] ]", err: `cannot parse service "svc" command: cannot nest [ ... ] groups`},
		{command: "app [ a ] b", err: `cannot parse service "svc" command: cannot have any arguments after [ ... ] group`},
		{command: "app [ a ] [ b ]", err: `cannot parse service "svc" command: cannot have any arguments after [ ... ] group`},
		{command: "app a ]", err: `cannot parse service "svc" command: cannot have ] outside of [ ... ] group`},
		{command: "app 'x", err: `cannot parse service "svc" command: EOF found when expecting closing quote`},
	}
	for _, tt := range tests {
		s := &Service{Name: "svc", Command: tt.command}
		base, extra, err := s.ParseCommand()
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("%q: error = %v, want %q", tt.command, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: unexpected error %v", tt.command, err)
			continue
		}
		if tt.base != nil && !slices.Equal(base, tt.base) || !slices.Equal(extra, tt.extra) {
			t.Errorf("%q: got %q %q, want %q %q", tt.command, base, extra, tt.base, tt.extra)
		}
	}
}
