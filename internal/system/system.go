// Package system is the composition root of the daemon: it builds the state
// file, plan, service manager, changes and HTTP API, connects them, and owns
// their start and stop order.
package system

import (
	"context"
	"errors"
	"io"
)

// Options configure one run of the daemon.
type Options struct {
	// Dir is $PEBBLE; it must be absolute.
	Dir string
	// SocketPath is the API socket; "" means Dir/.pebble.socket.
	SocketPath string
	// CreateDirs creates Dir (mode 0700, with parents) when it is missing.
	CreateDirs bool
	// Hold skips autostart of startup: enabled services.
	Hold bool
	// Verbose copies service output to Stdout.
	Verbose bool
	// Debug enables DEBUG log lines.
	Debug bool
	// Persist keeps state in Dir/.pebble.state; false for PEBBLE_PERSIST=never.
	Persist bool
	// ServiceArgs replaces the [ ... ] default arguments of services (run --args).
	ServiceArgs map[string][]string
	// HTTPAddress, if set, also serves the open API on this TCP address.
	HTTPAddress string
	// Stdout receives service output in verbose mode; Stderr the daemon log.
	Stdout, Stderr io.Writer
}

// Run runs the daemon until SIGINT, SIGTERM or SIGQUIT arrives, ctx ends, or
// a service action shuts it down. It returns the exit code of cli.md §4.1,
// or an error (exit code 1) when the daemon cannot start or fails.
func Run(ctx context.Context, opts Options) (int, error) {
	return 1, errors.New("not built yet")
}
