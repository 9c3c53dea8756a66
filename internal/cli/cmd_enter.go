package cli

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/pebble-project/pebble/internal/cli/command"
	"github.com/pebble-project/pebble/internal/system"
)

var enterInfo = &command.Info{
	Name:    "enter",
	Summary: summaries["enter"],
	Description: `
The enter command facilitates the use of Pebble as an entrypoint for
containers. When used without a subcommand it mimics the behavior of the run
command alone, while if used with a subcommand it runs that subcommand in the
most appropriate environment taking into account its purpose.

These subcommands are currently supported:

  help      (1)(2)
  version   (1)(2)
  plan      (1)(2)
  services  (1)(2)
  ls        (1)(2)
  exec      (2)
  start     (3)
  stop      (3)

(1) Services are not started.
(2) No logs on stdout unless -v is used.
(3) Services continue running after the subcommand succeeds.`,
	Usage: "[enter-OPTIONS] [<subcommand>...]",
	Args:  []command.PosArg{{Name: "<subcommand>", Rest: true, Optional: true}},
	New:   func() command.Command { return &cmdEnter{} },
}

type cmdEnter struct {
	cmdRun
	runFirst bool // --run
}

func (c *cmdEnter) Flags(fs *command.FlagSet) {
	fs.PassAfterNonOption()
	c.cmdRun.Flags(fs)
	fs.Bool(&c.runFirst, 0, "run", "Start default services before executing subcommand")
}

// enterMode says how enter treats a subcommand (cli.md §5).
type enterMode struct {
	daemon   bool // start the daemon in-process
	noRun    bool // --run is rejected
	needRun  bool // --run is required
	noVerb   bool // -v/--verbose is rejected
	quiet    bool // daemon log silenced unless verbose
	keepOnOK bool // the daemon keeps running if the subcommand succeeded
	keep     bool // the daemon keeps running whatever the outcome
}

var enterModes = map[string]enterMode{
	"help":     {noRun: true},
	"version":  {daemon: true, noRun: true, quiet: true},
	"plan":     {daemon: true, noRun: true, quiet: true},
	"services": {daemon: true, noRun: true, quiet: true},
	"ls":       {daemon: true, noRun: true, quiet: true},
	"exec":     {daemon: true, noVerb: true, quiet: true},
	"start":    {daemon: true, keepOnOK: true},
	"stop":     {daemon: true, needRun: true, keep: true},
}

// Run runs the subcommand, and the daemon when it needs one, in the command
// line's own environment (bound through the embedded cmdRun).
func (c *cmdEnter) Run(ctx context.Context, _ *command.Env, args []string) error {
	return c.run(ctx, c.env, args)
}

func (c *cmdEnter) run(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return c.cmdRun.run(ctx, e, nil)
	}
	sub := args[0]
	mode, ok := enterModes[sub]
	switch {
	case !ok:
		return fmt.Errorf("enter: subcommand %q is not supported", sub)
	case mode.noRun && c.runFirst:
		return fmt.Errorf("enter: cannot provide --run before %q subcommand", sub)
	case mode.needRun && !c.runFirst:
		return fmt.Errorf("enter: must use --run before %q subcommand", sub)
	case mode.noVerb && c.verbose:
		return fmt.Errorf("enter: cannot provide -v/--verbose before %q subcommand", sub)
	}
	if !mode.daemon {
		return e.dispatch(ctx, args)
	}
	verbose := c.verbose || e.Getenv("PEBBLE_VERBOSE") == "1"
	if sub == "exec" {
		verbose = e.Getenv("PEBBLE_VERBOSE") == "1"
	}

	// The daemon runs in this process; it is ready once it serves the API
	// and, with --run, the default services have been started.
	ready := make(chan struct{})
	var readyOnce sync.Once
	inner := e.daemon
	e.daemon = func(ctx context.Context, opts system.Options) (int, error) {
		opts.Hold = !c.runFirst
		// exec passes the signals it gets on to the command, whose exit
		// then ends enter; the daemon must not stop on them meanwhile.
		opts.NoSignals = sub == "exec"
		opts.Ready = func() { readyOnce.Do(func() { close(ready) }) }
		if mode.quiet && !verbose {
			opts.Stderr = io.Discard
			opts.Verbose = false
		}
		if inner != nil {
			return inner(ctx, opts)
		}
		return system.Run(ctx, opts)
	}
	daemonCtx, stopDaemon := context.WithCancel(ctx)
	defer stopDaemon()
	done := make(chan error, 1)
	go func() { done <- c.cmdRun.run(daemonCtx, e, nil) }()
	select {
	case <-ready:
	case err := <-done:
		return err
	}

	subErr := e.dispatch(ctx, args)
	if mode.keep || (mode.keepOnOK && subErr == nil) {
		if subErr != nil {
			fmt.Fprintf(e.Stderr, "error: %s\n", e.ErrorMessage(subErr))
		}
		return <-done
	}
	stopDaemon()
	daemonErr := <-done
	if subErr != nil {
		return subErr
	}
	return daemonErr
}
