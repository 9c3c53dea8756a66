package plan

import (
	"slices"
	"testing"
)

func TestSplitCommand(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  string
	}{
		{in: "", want: nil},
		{in: "   \t\n", want: nil},
		{in: "/bin/echo hello world", want: []string{"/bin/echo", "hello", "world"}},
		{in: "  a\tb\nc  ", want: []string{"a", "b", "c"}},
		{in: `echo 'a b' "c d"`, want: []string{"echo", "a b", "c d"}},
		{in: `echo 'it''s'`, want: []string{"echo", "its"}},
		{in: `echo a'b c'd`, want: []string{"echo", "ab cd"}},
		{in: `echo "a \"q\" \\ \x"`, want: []string{"echo", `a "q" \ x`}},
		{in: `echo 'a \ b'`, want: []string{"echo", `a \ b`}},
		{in: `echo a\ b \'`, want: []string{"echo", "a b", "'"}},
		{in: `echo '' ""`, want: []string{"echo", "", ""}},
		{in: `echo # a comment`, want: []string{"echo"}},
		{in: "echo # comment\nnext", want: []string{"echo", "next"}},
		{in: `echo a#b`, want: []string{"echo", "a#b"}},
		{in: `cmd [ "x [ y ] z" ]`, want: []string{"cmd", "[", "x [ y ] z", "]"}},
		{in: `echo 'unterminated`, err: "EOF found when expecting closing quote"},
		{in: `echo "unterminated`, err: "EOF found when expecting closing quote"},
		{in: `echo trailing\`, err: "EOF found after escape character"},
		{in: `echo "trailing\`, err: "EOF found after escape character"},
	}
	for _, tt := range tests {
		got, err := SplitCommand(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("SplitCommand(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("SplitCommand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestQuoteWordRoundTrip(t *testing.T) {
	words := []string{"", "plain", "--port=80", "a b", "it's", `"q"`, `back\slash`, "tab\there", "new\nline", "#hash", "[", "ünï", "$HOME", "*"}
	for _, w := range words {
		got, err := SplitCommand(QuoteWord(w))
		if err != nil || len(got) != 1 || got[0] != w {
			t.Errorf("SplitCommand(QuoteWord(%q)) = %q, %v", w, got, err)
		}
	}
	if got := QuoteWord("a b"); got != "'a b'" {
		t.Errorf("QuoteWord(\"a b\") = %s, want 'a b'", got)
	}
	if got := JoinCommand([]string{"/bin/echo", "--y", "a b"}); got != "/bin/echo --y 'a b'" {
		t.Errorf("JoinCommand = %s", got)
	}
}

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
