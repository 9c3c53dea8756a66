// Package command is what every pebble command is built from: the Env it
// runs in (standard streams, environment, clock and API client), the Info
// that describes it and the Command that runs it, the option syntax of
// go-flags (FlagSet), the help of one command, the output formats of cli.md
// §1.3 (tables, times, JSON and YAML), the wait for a change with its
// spinner, and the CLI state file.
//
// The package knows no command by name: internal/cli holds the list of
// commands and dispatches to them, and the family packages beside it
// (files, notices, identities) hold commands of one concern each.
package command
