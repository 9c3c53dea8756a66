package command

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The flag syntax follows the go-flags library Pebble uses, so that command
// lines and their error messages carry over:
//
//   - long options as --name, --name=value or --name value;
//   - short options as -x, clustered (-abc), with values as -xVALUE or -x VALUE;
//   - options and positional arguments may be mixed in any order;
//   - "--" ends the options; a lone "-" is a positional argument;
//   - -h and --help anywhere ask for the command's help;
//   - a terminated option (run's --args) takes every following argument up to
//     its terminator (";") or the end of the command line.

// ErrHelp is returned by parse when -h or --help was given.
var ErrHelp = errors.New("help requested")

// optKind is the kind of value an option takes.
type optKind int

const (
	boolOpt optKind = iota
	stringOpt
	terminatedOpt
	listOpt // a string option that may be repeated
)

// option is one command-line option bound to a variable.
type option struct {
	long      string
	short     rune
	desc      string
	kind      optKind
	valueName string   // shown in help as --long=<valueName>
	choices   []string // allowed values of a string option, if limited
	def       string   // default value of a string option, shown in help

	boolp  *bool
	strp   *string
	strsp  *[]string // listOpt
	listp  *[][]string
	term   string // terminator of a terminated option
	hidden bool
}

// String names the option as go-flags does in messages: "-v, --verbose".
func (o *option) String() string {
	switch {
	case o.short != 0 && o.long != "":
		return fmt.Sprintf("-%c, --%s", o.short, o.long)
	case o.short != 0:
		return fmt.Sprintf("-%c", o.short)
	}
	return "--" + o.long
}

// FlagSet is the options of one command.
type FlagSet struct {
	opts []*option
	// passAfterNonOption makes the first positional argument end the
	// options: it and everything after it are positional (exec, enter).
	passAfterNonOption bool
}

// Bool adds a boolean option; short may be 0 and long may be "".
func (fs *FlagSet) Bool(p *bool, short rune, long, desc string) {
	fs.opts = append(fs.opts, &option{long: long, short: short, desc: desc, kind: boolOpt, boolp: p})
}

// String adds an option with a value. def is assigned to *p now; when
// choices are given, any other value is an error.
func (fs *FlagSet) String(p *string, short rune, long, valueName, def, desc string, choices ...string) {
	*p = def
	fs.opts = append(fs.opts, &option{
		long: long, short: short, desc: desc, kind: stringOpt, valueName: valueName,
		choices: choices, def: def, strp: p,
	})
}

// Strings adds an option with a value that may be given more than once;
// each use appends to *p.
func (fs *FlagSet) Strings(p *[]string, short rune, long, valueName, desc string) {
	fs.opts = append(fs.opts, &option{long: long, short: short, desc: desc, kind: listOpt, valueName: valueName, strsp: p})
}

// Terminated adds an option that takes all following arguments up to term
// (or the end); each use appends one list to *p.
func (fs *FlagSet) Terminated(p *[][]string, long, term, desc string) {
	fs.opts = append(fs.opts, &option{long: long, desc: desc, kind: terminatedOpt, listp: p, term: term})
}

// PassAfterNonOption makes the first positional argument end the options.
func (fs *FlagSet) PassAfterNonOption() {
	fs.passAfterNonOption = true
}

func (fs *FlagSet) lookupLong(name string) *option {
	for _, o := range fs.opts {
		if o.long == name {
			return o
		}
	}
	return nil
}

func (fs *FlagSet) lookupShort(r rune) *option {
	for _, o := range fs.opts {
		if o.short == r {
			return o
		}
	}
	return nil
}

// parse sets the options found in args and returns the positional
// arguments. It returns ErrHelp when help was asked for.
func (fs *FlagSet) Parse(args []string) ([]string, error) {
	var positional []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "--":
			return append(positional, args[i+1:]...), nil
		case strings.HasPrefix(arg, "--"):
			name, value, hasValue := strings.Cut(arg[2:], "=")
			if name == "help" {
				return nil, ErrHelp
			}
			o := fs.lookupLong(name)
			if o == nil {
				return nil, fmt.Errorf("unknown flag `%s'", name)
			}
			var v *string
			if hasValue {
				v = &value
			}
			n, err := fs.set(o, v, args[i+1:])
			if err != nil {
				return nil, err
			}
			i += n
		case len(arg) > 1 && arg[0] == '-':
			cluster := []rune(arg[1:])
			for j := 0; j < len(cluster); j++ {
				r := cluster[j]
				if r == 'h' {
					return nil, ErrHelp
				}
				o := fs.lookupShort(r)
				if o == nil {
					return nil, fmt.Errorf("unknown flag `%c'", r)
				}
				var v *string
				if (o.kind == stringOpt || o.kind == listOpt) && j+1 < len(cluster) {
					rest := string(cluster[j+1:])
					v = &rest
					j = len(cluster)
				}
				n, err := fs.set(o, v, args[i+1:])
				if err != nil {
					return nil, err
				}
				i += n
			}
		default:
			if fs.passAfterNonOption {
				return append(positional, args[i:]...), nil
			}
			positional = append(positional, arg)
		}
	}
	return positional, nil
}

// set gives o its value: value if given inline, else taken from the
// following arguments. It returns how many of those it consumed.
func (fs *FlagSet) set(o *option, value *string, following []string) (int, error) {
	switch o.kind {
	case boolOpt:
		if value != nil {
			return 0, fmt.Errorf("bool flag `%s' cannot have an argument", o)
		}
		*o.boolp = true
		return 0, nil
	case terminatedOpt:
		if value != nil {
			return 0, fmt.Errorf("terminated option's flag `%s' cannot use `='", o)
		}
		var list []string
		n := 0
		for _, a := range following {
			n++
			if a == o.term {
				break
			}
			list = append(list, a)
		}
		*o.listp = append(*o.listp, list)
		return n, nil
	}
	n := 0
	if value == nil {
		if len(following) == 0 {
			return 0, fmt.Errorf("expected argument for flag `%s'", o)
		}
		next := following[0]
		if next == "--" {
			return 0, fmt.Errorf("expected argument for flag `%s', but got double dash `--'", o)
		}
		if len(next) > 1 && next[0] == '-' {
			return 0, fmt.Errorf("expected argument for flag `%s', but got option `%s'", o, next)
		}
		value = &next
		n = 1
	}
	if len(o.choices) > 0 && !contains(o.choices, *value) {
		allowed := strings.Join(o.choices[:len(o.choices)-1], ", ")
		if len(o.choices) > 1 {
			allowed += " or " + o.choices[len(o.choices)-1]
		}
		//lint:ignore ST1005 the wording is go-flags', which Pebble prints and scripts may match
		return 0, fmt.Errorf("Invalid value `%s' for option `%s'. Allowed values are: %s", *value, o, allowed)
	}
	if o.kind == listOpt {
		*o.strsp = append(*o.strsp, *value)
		return n, nil
	}
	*o.strp = *value
	return n, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// PosArg describes a positional argument of a command, for validation and
// help.
type PosArg struct {
	Name     string // "<service>"
	Desc     string // shown in help when set
	Optional bool
	Rest     bool // takes all remaining arguments (at least one unless optional)
}

// CheckPositional checks the count of positional arguments against specs,
// with go-flags' messages.
func CheckPositional(specs []PosArg, args []string) error {
	var missing []string
	n := len(args)
	hasRest := false
	for _, s := range specs {
		if s.Rest {
			hasRest = true
			if !s.Optional && n < 1 {
				missing = append(missing, "`"+s.Name+" (at least 1 argument)`")
			}
			n = 0
			continue
		}
		if n > 0 {
			n--
			continue
		}
		if !s.Optional {
			missing = append(missing, "`"+s.Name+"`")
		}
	}
	switch {
	case len(missing) == 1:
		return fmt.Errorf("the required argument %s was not provided", missing[0])
	case len(missing) > 1:
		return fmt.Errorf("the required arguments %s and %s were not provided",
			strings.Join(missing[:len(missing)-1], ", "), missing[len(missing)-1])
	}
	if !hasRest && n > 0 {
		return errExtraArgs
	}
	return nil
}

// errExtraArgs is returned when a command gets more positional arguments
// than it takes.
var errExtraArgs = errors.New("too many arguments for command")

// OptionalInt parses the value of an integer option; "" is unset.
func OptionalInt(name, s string) (*int, error) {
	if s == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return nil, fmt.Errorf("invalid value %q for --%s: must be an integer", s, name)
	}
	return &n, nil
}
