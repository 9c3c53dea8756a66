// Package cli is the pebble command line: it parses the arguments, calls the
// daemon through the public client package, and prints the texts, tables and
// exit codes of cli.md.
//
// Run is the entry point; it finds the command named by the first argument
// in the list of commands (help.go) and runs it. The building blocks every
// command uses (its environment, flags, help, output formats, waiting for a
// change) are in the command package; commands of one concern live in a
// family package each (files, notices, identities), and the rest (run and
// enter, services, checks, changes, logs, exec, plan, help, version) here.
//
// Only the run command starts a daemon, through internal/system, and only
// cmd_run.go and cmd_enter.go import it; every other command is a client of
// the API and must not import servstate, plan or other daemon packages. The
// package keeps no global state: the environment and the standard streams
// are passed to Run, so tests run commands in-process against a fake daemon.
package cli
