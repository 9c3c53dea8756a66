package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pebble-project/pebble/internal/cli/command"
	"github.com/pebble-project/pebble/internal/handover"
	"github.com/pebble-project/pebble/internal/system"
	"github.com/pebble-project/pebble/internal/version"
)

// This file and cmd_enter.go are the only files of the package that import
// internal/system: every other command talks to the daemon through the
// client.

var runInfo = &command.Info{
	Name:    "run",
	Summary: summaries["run"],
	Description: `
The run command starts the service manager and runs it until it is stopped
by SIGINT, SIGTERM or SIGQUIT, or by a service's shutdown action.

--args replaces the default arguments of a service's command (the part in
[ brackets ]). It takes the service name and then every following argument,
up to a ";" argument (quote it from the shell) or the end of the command
line, for example:
pebble run --args myservice --port 8080 \; --hold`,
	Usage: "[run-OPTIONS]",
	New:   func() command.Command { return &cmdRun{} },
}

type cmdRun struct {
	env *env // bound by dispatch

	createDirs bool
	hold       bool
	http       string
	https      string
	verbose    bool
	args       [][]string
	identities string
}

func (c *cmdRun) Flags(fs *command.FlagSet) {
	fs.Bool(&c.createDirs, 0, "create-dirs", "Create the Pebble directory at startup if it does not exist")
	fs.Bool(&c.hold, 0, "hold", "Do not start the default services")
	fs.String(&c.http, 0, "http", "", "", `Also serve the open-access API over HTTP on this address, as "<address>:<port>" (for example ":4000", "192.0.2.0:4000" or "[2001:db8::1]:4000")`)
	fs.String(&c.https, 0, "https", "", "", "Serve the API over HTTPS on this address (not supported)")
	fs.Bool(&c.verbose, 'v', "verbose", "Copy all service output to stdout (also PEBBLE_VERBOSE=1)")
	fs.Terminated(&c.args, "args", ";", "Replace the default arguments of a service: the service name, then its arguments, up to \";\" or the end of the command line")
	fs.String(&c.identities, 0, "identities", "", "", "Seed identities from a YAML file at startup, like 'update-identities --replace'")
}

// runError ends "pebble run" with "cannot run daemon: <err>" and exit code 1.
func runError(err error) error {
	return &command.ExitError{Code: 1, Msg: fmt.Sprintf("cannot run daemon: %v", err)}
}

func (c *cmdRun) bind(e *env) { c.env = e }

// Run runs the daemon in the command line's own environment (see bind).
func (c *cmdRun) Run(ctx context.Context, _ *command.Env, args []string) error {
	return c.run(ctx, c.env, args)
}

func (c *cmdRun) run(ctx context.Context, e *env, _ []string) error {
	e.Warnings = false
	if checked, err := checkHandover(e); checked {
		return err
	}
	if !filepath.IsAbs(e.PebbleDir) {
		return runError(fmt.Errorf("directory %q must be absolute", e.PebbleDir))
	}
	if c.https != "" {
		return runError(fmt.Errorf("cannot listen on %q: --https is not supported (TLS and certificate identities are not implemented); use the UNIX socket, or --http for open endpoints and metrics", c.https))
	}
	serviceArgs, err := serviceArgs(c.args)
	if err != nil {
		return runError(err)
	}
	opts := system.Options{
		Dir:         e.PebbleDir,
		SocketPath:  e.Getenv("PEBBLE_SOCKET"),
		CreateDirs:  c.createDirs,
		Hold:        c.hold,
		Verbose:     c.verbose || e.Getenv("PEBBLE_VERBOSE") == "1",
		Debug:       e.Getenv("PEBBLE_DEBUG") == "1",
		Persist:     e.Getenv("PEBBLE_PERSIST") != "never",
		ServiceArgs: serviceArgs,
		HTTPAddress: c.http,
		CopyOnce:    e.Getenv("PEBBLE_COPY_ONCE"),
		Stdout:      e.Stdout,
		Stderr:      e.Stderr,

		IdentitiesFile: c.identities,
		ExecArgs:       os.Args,
	}
	code, err := e.runDaemon(ctx, opts)
	if err != nil {
		return runError(err)
	}
	if code != 0 {
		return &command.ExitError{Code: code}
	}
	return nil
}

// serviceArgs turns the lists of --args into a map from service name to
// arguments (cli.md §4).
func serviceArgs(lists [][]string) (map[string][]string, error) {
	if len(lists) == 0 {
		return nil, nil
	}
	m := make(map[string][]string, len(lists))
	for _, list := range lists {
		if len(list) == 0 {
			return nil, errors.New("--args requires a service name")
		}
		name := list[0]
		if _, ok := m[name]; ok {
			return nil, fmt.Errorf("--args provided more than once for %q service", name)
		}
		m[name] = append([]string{}, list[1:]...)
	}
	return m, nil
}

// checkHandover answers an upgrading daemon that runs this binary in check
// mode ($PEBBLE_HANDOVER_CHECK): it reads the hand-over as a new daemon
// would and prints the answer. It reports false when not in check mode.
func checkHandover(e *env) (bool, error) {
	doc, err := handover.FromEnv(handover.EnvCheck)
	if err == nil && doc == nil {
		return false, nil
	}
	if err == nil {
		err = system.CheckHandover(doc)
	}
	if err != nil {
		return true, &command.ExitError{Code: 1, Msg: err.Error()}
	}
	fmt.Fprint(e.Stdout, handover.Answer(version.Version))
	return true, nil
}

// runDaemon runs the daemon; tests replace it through env.daemon.
func (e *env) runDaemon(ctx context.Context, opts system.Options) (int, error) {
	if e.daemon != nil {
		return e.daemon(ctx, opts)
	}
	return system.Run(ctx, opts)
}

// daemonFunc is the signature of system.Run.
type daemonFunc = func(context.Context, system.Options) (int, error)
