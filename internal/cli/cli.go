package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/pebble-project/pebble/client"
	"github.com/pebble-project/pebble/internal/version"
)

// defaultDir is the Pebble directory when $PEBBLE is unset.
const defaultDir = "/var/lib/pebble/default"

// Run runs the pebble command line with args (without the program name) and
// returns the process exit code (cli.md §1.2). ctx ends long-running
// commands: waiting commands abort their change, and run stops the daemon.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return newEnv(stdin, stdout, stderr, os.Getenv).run(ctx, args)
}

// env is what commands need from the outside world. Tests build their own.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string

	pebbleDir string // $PEBBLE or defaultDir
	socket    string // $PEBBLE_SOCKET or $PEBBLE/.pebble.socket
	baseURL   string // $PEBBLE_BASEURL

	now      func() time.Time
	loc      *time.Location // zone of relative times
	tty      bool           // stdout is a terminal: show a spinner
	width    int            // terminal width for error messages
	poll     time.Duration  // how often waiting commands poll a change
	maxGone  time.Duration  // how long waiting tolerates an unreachable daemon
	isRoot   bool
	warnings bool // check for new warnings after a command

	client *client.Client // created on first use

	// daemon, if set, replaces system.Run in tests of the run command.
	daemon daemonFunc
}

func newEnv(stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *env {
	e := &env{
		stdin:    stdin,
		stdout:   stdout,
		stderr:   stderr,
		getenv:   getenv,
		now:      time.Now,
		loc:      time.Local,
		tty:      isTerminal(stdout),
		poll:     100 * time.Millisecond,
		maxGone:  5 * time.Second,
		isRoot:   os.Getuid() == 0,
		warnings: true,
	}
	e.pebbleDir = getenv("PEBBLE")
	if e.pebbleDir == "" {
		e.pebbleDir = defaultDir
	}
	e.socket = getenv("PEBBLE_SOCKET")
	if e.socket == "" {
		e.socket = filepath.Join(e.pebbleDir, ".pebble.socket")
	}
	e.baseURL = getenv("PEBBLE_BASEURL")
	e.width = terminalWidth(stdout)
	if e.width <= 0 {
		e.width, _ = strconv.Atoi(getenv("COLUMNS"))
	}
	if e.width < 40 {
		e.width = 80
	}
	return e
}

// Client returns the API client, creating it on first use.
func (e *env) Client() (*client.Client, error) {
	if e.client == nil {
		c, err := client.New(&client.Config{Socket: e.socket, BaseURL: e.baseURL})
		if err != nil {
			return nil, fmt.Errorf("cannot create client: %w", err)
		}
		e.client = c
	}
	return e.client, nil
}

// exitError ends a command with a given exit code after printing msg (if
// any) to stderr as it is, without the "error: " prefix.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string {
	return fmt.Sprintf("exit status %d: %s", e.code, e.msg)
}

// run parses args, runs the command and reports its outcome.
func (e *env) run(ctx context.Context, args []string) int {
	err := e.dispatch(ctx, args)
	if e.client != nil {
		defer e.client.CloseIdleConnections()
	}
	var exit *exitError
	switch {
	case err == nil:
		if e.warnings {
			e.presentWarnings()
		}
		return 0
	case errors.As(err, &exit):
		if exit.msg != "" {
			fmt.Fprintln(e.stderr, exit.msg)
		}
		return exit.code
	}
	fmt.Fprintf(e.stderr, "error: %s\n", e.errorMessage(err))
	return 1
}

// dispatch finds the command named by args[0] and runs it.
func (e *env) dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 {
		e.printShortHelp()
		return nil
	}
	name := args[0]
	switch name {
	case "--version":
		fmt.Fprintln(e.stdout, version.Version)
		return nil
	case "-h", "--help":
		e.printShortHelp()
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
	cmd := info.new()
	var fs flagSet
	cmd.flags(&fs)
	positional, err := fs.parse(args[1:])
	if err == errHelp {
		e.printCommandHelp(info)
		return nil
	}
	if err != nil {
		return err
	}
	if err := checkPositional(info.args, positional); err != nil {
		return err
	}
	return cmd.run(ctx, e, positional)
}

// findCommand returns the command with the given name.
func findCommand(name string) (*cmdInfo, error) {
	for _, c := range commands {
		if c.name == name {
			return c, nil
		}
	}
	return nil, fmt.Errorf("unknown command %q, see 'pebble help'", name)
}

// errorMessage turns err into the text after "error: " (cli.md §1.2). API
// errors are wrapped to the terminal width.
func (e *env) errorMessage(err error) string {
	var apiErr *client.Error
	if !errors.As(err, &apiErr) {
		return err.Error()
	}
	msg := err.Error()
	switch apiErr.Kind {
	case client.ErrorKindLoginRequired:
		if !e.isRoot {
			msg += " (try with sudo)"
		}
	case client.ErrorKindNoDefaultServices:
		msg = "no default services"
	}
	return fill(msg, len("error: "), e.width)
}

// presentWarnings tells the user about warnings newer than the last time
// they listed warnings (cli.md §1.2).
func (e *env) presentWarnings() {
	if e.client == nil {
		return
	}
	latest := e.client.LatestWarningTime()
	if latest.IsZero() {
		return
	}
	if !latest.After(e.warningsLastListed()) {
		return
	}
	fmt.Fprintln(e.stderr, "WARNING: There are new warnings. See 'pebble warnings'.")
}

// warningsLastListed reads the time warnings were last listed from the CLI
// state file (cli.md §6.2); the zero time if unknown.
func (e *env) warningsLastListed() time.Time {
	dir := e.getenv("XDG_CONFIG_HOME")
	if dir == "" {
		dir = filepath.Join(e.getenv("HOME"), ".config")
	}
	data, err := os.ReadFile(filepath.Join(dir, "pebble", "cli.json"))
	if err != nil {
		return time.Time{}
	}
	var state struct {
		Pebble map[string]struct {
			WarningsLastListed time.Time `json:"warnings-last-listed"`
		} `json:"pebble"`
	}
	if err := json.Unmarshal(data, &state); err != nil {
		return time.Time{}
	}
	return state.Pebble[e.socket].WarningsLastListed
}
