package command

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testFlags is a flag set with one option of each kind.
type testFlags struct {
	verbose, hold bool
	format, n     string
	args          [][]string
}

func (f *testFlags) set() *FlagSet {
	var fs FlagSet
	fs.Bool(&f.verbose, 'v', "verbose", "")
	fs.Bool(&f.hold, 0, "hold", "")
	fs.String(&f.format, 0, "format", "", "text", "", "text", "json", "yaml")
	fs.String(&f.n, 'n', "", "", "30", "")
	fs.Terminated(&f.args, "args", ";", "")
	return &fs
}

func TestFlagParsing(t *testing.T) {
	tests := []struct {
		args       []string
		want       testFlags
		positional []string
	}{
		{nil, testFlags{format: "text", n: "30"}, nil},
		{[]string{"a", "--hold", "b", "-v"}, testFlags{hold: true, verbose: true, format: "text", n: "30"}, []string{"a", "b"}},
		{[]string{"--format=json"}, testFlags{format: "json", n: "30"}, nil},
		{[]string{"--format", "yaml", "x"}, testFlags{format: "yaml", n: "30"}, []string{"x"}},
		{[]string{"-n5"}, testFlags{format: "text", n: "5"}, nil},
		{[]string{"-vn", "7"}, testFlags{verbose: true, format: "text", n: "7"}, nil},
		{[]string{"--", "--hold", "-v"}, testFlags{format: "text", n: "30"}, []string{"--hold", "-v"}},
		{[]string{"-"}, testFlags{format: "text", n: "30"}, []string{"-"}},
		{
			[]string{"--args", "svc", "--port", "80", ";", "--hold", "--args", "other"},
			testFlags{hold: true, format: "text", n: "30", args: [][]string{{"svc", "--port", "80"}, {"other"}}}, nil,
		},
		{[]string{"--args"}, testFlags{format: "text", n: "30", args: [][]string{nil}}, nil},
	}
	for _, tt := range tests {
		var got testFlags
		positional, err := got.set().Parse(tt.args)
		require.NoError(t, err, "%q", tt.args)
		assert.Equal(t, tt.want, got, "%q", tt.args)
		assert.Equal(t, tt.positional, positional, "%q", tt.args)
	}
}

func TestFlagErrors(t *testing.T) {
	tests := []struct {
		args []string
		err  string
	}{
		{[]string{"--bogus"}, "unknown flag `bogus'"},
		{[]string{"-x"}, "unknown flag `x'"},
		{[]string{"--format=xml"}, "Invalid value `xml' for option `--format'. Allowed values are: text, json or yaml"},
		{[]string{"--format"}, "expected argument for flag `--format'"},
		{[]string{"--format", "--hold"}, "expected argument for flag `--format', but got option `--hold'"},
		{[]string{"-n", "--"}, "expected argument for flag `-n', but got double dash `--'"},
		{[]string{"--hold=yes"}, "bool flag `--hold' cannot have an argument"},
		{[]string{"--verbose=1"}, "bool flag `-v, --verbose' cannot have an argument"},
		{[]string{"--args=x"}, "terminated option's flag `--args' cannot use `='"},
	}
	for _, tt := range tests {
		var f testFlags
		_, err := f.set().Parse(tt.args)
		assert.EqualError(t, err, tt.err, "%q", tt.args)
	}
	var f testFlags
	_, err := f.set().Parse([]string{"x", "--help", "--bogus"})
	assert.Equal(t, ErrHelp, err)
}

func TestCheckPositional(t *testing.T) {
	services := []PosArg{{Name: "<service>", Rest: true}}
	add := []PosArg{{Name: "<label>"}, {Name: "<layer-path>"}}
	optional := []PosArg{{Name: "<change-id>", Optional: true}}
	tests := []struct {
		specs []PosArg
		args  []string
		err   string
	}{
		{services, []string{"a", "b"}, ""},
		{services, nil, "the required argument `<service> (at least 1 argument)` was not provided"},
		{add, []string{"a", "b"}, ""},
		{add, []string{"a"}, "the required argument `<layer-path>` was not provided"},
		{add, nil, "the required arguments `<label>` and `<layer-path>` were not provided"},
		{add, []string{"a", "b", "c"}, "too many arguments for command"},
		{optional, nil, ""},
		{optional, []string{"1", "2"}, "too many arguments for command"},
		{nil, []string{"x"}, "too many arguments for command"},
	}
	for _, tt := range tests {
		err := CheckPositional(tt.specs, tt.args)
		if tt.err == "" {
			assert.NoError(t, err, "%q", tt.args)
		} else {
			assert.EqualError(t, err, tt.err, "%q", tt.args)
		}
	}
}
