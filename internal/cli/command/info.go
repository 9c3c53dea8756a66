package command

import "context"

// Info describes a command.
type Info struct {
	Name        string
	Summary     string // one line, for "help --all"
	Description string // paragraphs for "<cmd> --help"
	Usage       string // what follows "pebble <name>" in the usage line
	Args        []PosArg
	New         func() Command
}

// Command is one run of a command: it binds its flags, then runs with the
// positional arguments.
type Command interface {
	Flags(fs *FlagSet)
	Run(ctx context.Context, e *Env, args []string) error
}
