package cmdline

import (
	"slices"
	"testing"
)

func TestSplit(t *testing.T) {
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
		got, err := Split(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("Split(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("Split(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestQuoteRoundTrip(t *testing.T) {
	words := []string{"", "plain", "--port=80", "a b", "it's", `"q"`, `back\slash`, "tab\there", "new\nline", "#hash", "[", "ünï", "$HOME", "*"}
	for _, w := range words {
		got, err := Split(quote(w))
		if err != nil || len(got) != 1 || got[0] != w {
			t.Errorf("Split(quote(%q)) = %q, %v", w, got, err)
		}
	}
	if got := quote("a b"); got != "'a b'" {
		t.Errorf("quote(\"a b\") = %s, want 'a b'", got)
	}
	if got := Join([]string{"/bin/echo", "--y", "a b"}); got != "/bin/echo --y 'a b'" {
		t.Errorf("Join = %s", got)
	}
}
