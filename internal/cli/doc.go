// Package cli is the pebble command line: it parses the arguments, calls the
// daemon through the public client package, and prints the texts, tables and
// exit codes of cli.md.
//
// Run is the entry point. Only the run command starts a daemon, through
// internal/system, and only cmd_run.go imports it; every other command is a
// client of the API and must not import servstate, plan or other daemon
// packages. The package keeps no global state: the environment and the
// standard streams are passed to Run, so tests run commands in-process
// against a fake daemon.
//
// Flags follow the syntax of go-flags (the library Pebble uses), implemented
// here in flags.go, so that command lines and usage errors carry over.
package cli
