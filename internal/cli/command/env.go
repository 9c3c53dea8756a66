package command

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/pebble-project/pebble/client"
)

// defaultDir is the Pebble directory when $PEBBLE is unset.
const defaultDir = "/var/lib/pebble/default"

// Env is what commands need from the outside world: the standard streams,
// the environment, the clock and the API client. Run builds it from the
// process; tests build their own and adjust its fields.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string

	PebbleDir string // $PEBBLE or defaultDir
	Socket    string // $PEBBLE_SOCKET or $PEBBLE/.pebble.socket
	BaseURL   string // $PEBBLE_BASEURL

	Now      func() time.Time
	Loc      *time.Location // zone of relative times
	TTY      bool           // stdout is a terminal: show a spinner
	Width    int            // terminal width for error messages
	Poll     time.Duration  // how often waiting commands poll a change
	MaxGone  time.Duration  // how long waiting tolerates an unreachable daemon
	IsRoot   bool
	Warnings bool // check for new warnings after a command

	client *client.Client // created on first use
}

// NewEnv returns the environment of a command line run with these streams
// and environment variables.
func NewEnv(stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *Env {
	e := &Env{
		Stdin:    stdin,
		Stdout:   stdout,
		Stderr:   stderr,
		Getenv:   getenv,
		Now:      time.Now,
		Loc:      time.Local,
		TTY:      IsTerminal(stdout),
		Poll:     100 * time.Millisecond,
		MaxGone:  5 * time.Second,
		IsRoot:   os.Getuid() == 0,
		Warnings: true,
	}
	e.PebbleDir = getenv("PEBBLE")
	if e.PebbleDir == "" {
		e.PebbleDir = defaultDir
	}
	e.Socket = getenv("PEBBLE_SOCKET")
	if e.Socket == "" {
		e.Socket = filepath.Join(e.PebbleDir, ".pebble.socket")
	}
	e.BaseURL = getenv("PEBBLE_BASEURL")
	e.Width = terminalWidth(stdout)
	if e.Width <= 0 {
		e.Width, _ = strconv.Atoi(getenv("COLUMNS"))
	}
	if e.Width < 40 {
		e.Width = 80
	}
	return e
}

// Client returns the API client, creating it on first use.
func (e *Env) Client() (*client.Client, error) {
	if e.client == nil {
		c, err := client.New(&client.Config{Socket: e.Socket, BaseURL: e.BaseURL})
		if err != nil {
			return nil, fmt.Errorf("cannot create client: %w", err)
		}
		e.client = c
	}
	return e.client, nil
}

// ExitError ends a command with exit code Code after printing Msg (if any)
// to stderr as it is, without the "error: " prefix.
type ExitError struct {
	Code int
	Msg  string
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("exit status %d: %s", e.Code, e.Msg)
}

// ErrorMessage turns err into the text after "error: " (cli.md §1.2). API
// errors are wrapped to the terminal width.
func (e *Env) ErrorMessage(err error) string {
	var apiErr *client.Error
	if !errors.As(err, &apiErr) {
		return err.Error()
	}
	msg := err.Error()
	switch apiErr.Kind {
	case client.ErrorKindLoginRequired:
		if !e.IsRoot {
			msg += " (try with sudo)"
		}
	case client.ErrorKindNoDefaultServices:
		msg = "no default services"
	}
	return Fill(msg, len("error: "), e.Width)
}

// PresentWarnings tells the user about warnings newer than the last time
// they listed warnings (cli.md §1.2), if the command used the API.
func (e *Env) PresentWarnings() {
	if e.client == nil {
		return
	}
	latest := e.client.LatestWarningTime()
	if latest.IsZero() {
		return
	}
	st, _ := e.LoadCLIState() // unreadable: as if never listed
	if !latest.After(st.WarningsLastListed) {
		return
	}
	fmt.Fprintln(e.Stderr, "WARNING: There are new warnings. See 'pebble warnings'.")
}

// Close releases the API client's idle connections, if the command used it.
func (e *Env) Close() {
	if e.client != nil {
		e.client.CloseIdleConnections()
	}
}
