package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/pebble-project/pebble/internal/cli/command"
	"github.com/pebble-project/pebble/internal/version"
)

// Run runs the pebble command line with args (without the program name) and
// returns the process exit code (cli.md §1.2). ctx ends long-running
// commands: waiting commands abort their change, and run stops the daemon.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return (&env{Env: command.NewEnv(stdin, stdout, stderr, os.Getenv)}).run(ctx, args)
}

// env is the command line's environment: the commands' Env, plus what only
// run and enter use.
type env struct {
	*command.Env
	// daemon, if set, replaces system.Run in tests of the run command.
	daemon daemonFunc
}

// envCommand is a command that needs the command line's own environment:
// run starts the daemon, and enter also runs a subcommand. Dispatch binds
// it before it runs.
type envCommand interface {
	bind(e *env)
}

// run parses args, runs the command and reports its outcome.
func (e *env) run(ctx context.Context, args []string) int {
	err := e.dispatch(ctx, args)
	defer e.Close()
	var exit *command.ExitError
	switch {
	case err == nil:
		if e.Warnings {
			e.PresentWarnings()
		}
		return 0
	case errors.As(err, &exit):
		if exit.Msg != "" {
			fmt.Fprintln(e.Stderr, exit.Msg)
		}
		return exit.Code
	}
	fmt.Fprintf(e.Stderr, "error: %s\n", e.ErrorMessage(err))
	return 1
}

// dispatch finds the command named by args[0] and runs it.
func (e *env) dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 {
		printShortHelp(e.Stdout)
		return nil
	}
	name := args[0]
	switch name {
	case "--version":
		fmt.Fprintln(e.Stdout, version.Version)
		return nil
	case "-h", "--help":
		printShortHelp(e.Stdout)
		return nil
	}
	if len(name) > 1 && name[0] == '-' {
		if name[1] == '-' {
			return fmt.Errorf("unknown flag `%s'", name[2:])
		}
		return fmt.Errorf("unknown flag `%c'", name[1])
	}
	info, err := findCommand(name)
	if err != nil {
		return err
	}
	cmd := info.New()
	var fs command.FlagSet
	cmd.Flags(&fs)
	positional, err := fs.Parse(args[1:])
	if err == command.ErrHelp {
		command.WriteHelp(e.Stdout, info)
		return nil
	}
	if err != nil {
		return err
	}
	if err := command.CheckPositional(info.Args, positional); err != nil {
		return err
	}
	if c, ok := cmd.(envCommand); ok {
		c.bind(e)
	}
	return cmd.Run(ctx, e.Env, positional)
}

// findCommand returns the command with the given name.
func findCommand(name string) (*command.Info, error) {
	for _, c := range commands {
		if c.Name == name {
			return c, nil
		}
	}
	return nil, fmt.Errorf("unknown command %q, see 'pebble help'", name)
}
