package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/pebble-project/pebble/internal/version"
)

const shortHelp = `Pebble lets you control services and perform management actions on
the system that is running them.

Usage: pebble <command> [<options>...]

Commands can be classified as follows:

         Run: run, upgrade
        Info: help, version
        Plan: add, plan, replan
    Services: services, logs, start, restart, reload, signal, stop
      Checks: checks, check, start-checks, stop-checks, health
       Files: push, pull, ls, mkdir, rm, exec
     Changes: changes, tasks
   Workflows: workflows, run-workflow
     Notices: warnings, okay, notices, notice, notify
  Identities: identities --help

Set the PEBBLE environment variable to override the configuration directory
(which defaults to /var/lib/pebble/default). Set PEBBLE_SOCKET to override
the unix socket used for the API (defaults to $PEBBLE/.pebble.socket).

For more information about a command, run 'pebble help <command>'.
For a short summary of all commands, run 'pebble help --all'.
`

const longHelp = `Pebble lets you control services and perform management actions on
the system that is running them.

Usage: pebble <command> [<options>...]

Commands can be classified as follows:

  Run (run the service manager):
    run                Run the service manager environment
    upgrade            Re-execute the daemon from a new binary in place

  Info (help and version information):
    help               Show help about a command
    version            Show version details

  Plan (view and change configuration):
    add                Dynamically add a layer to the plan's layers
    plan               Show the plan with layers combined
    replan             Ensure running services and checks match the current plan

  Services (manage services):
    services           Query the status of configured services
    logs               Fetch service logs
    start              Start a service and its dependencies
    restart            Restart a service
    reload             Reload running services without restarting them
    signal             Send a signal to one or more running services
    stop               Stop a service and its dependents

  Checks (manage health checks):
    checks             Query the status of configured health checks
    check              Query the details of a configured health check
    start-checks       Start one or more checks
    stop-checks        Stop one or more checks
    health             Query health of checks

  Files (work with files and execute commands):
    push               Transfer a file to the remote system
    pull               Retrieve a file from the remote system
    ls                 List path contents
    mkdir              Create a directory
    rm                 Remove a file or directory
    exec               Execute a remote command and wait for it to finish

  Changes (manage changes and their tasks):
    changes            List system changes
    tasks              List a change's tasks

  Workflows (run lifecycle procedures):
    workflows          List the workflows of the plan and their last runs
    run-workflow       Run a workflow of the plan and wait for it

  Notices (manage notices and warnings):
    warnings           List warnings
    okay               Acknowledge notices and warnings
    notices            List notices
    notice             Fetch a single notice
    notify             Record a custom notice

  Identities (manage user identities):
    identities         List identities
    identity           Show a single identity
    add-identities     Add new identities
    update-identities  Update or replace identities
    remove-identities  Remove identities

Set the PEBBLE environment variable to override the configuration directory
(which defaults to /var/lib/pebble/default). Set PEBBLE_SOCKET to override
the unix socket used for the API (defaults to $PEBBLE/.pebble.socket).

For more information about a command, run 'pebble help <command>'.
`

const servicesHelp = `Usage:
  pebble services [services-OPTIONS] [<service>...]

The services command shows the status of the named services, or of every
service in the plan when none is named.

[services command options]
      --format=[text|json|yaml]   Output format (default: text)
      --abs-time                  Show absolute times in RFC 3339 format,
                                  instead of relative times for the last and
                                  next 60 days and dates beyond
      --stats                     Show the CPU time, memory, processes, open
                                  files and storage I/O of each service's
                                  processes, and the totals of each charge group
      --exits                     Show each service's restart count, last exit
                                  and failure reason
`

func TestHelp(t *testing.T) {
	isolate(t)
	tests := []struct {
		args   []string
		stdout string
	}{
		{nil, shortHelp},
		{[]string{"help"}, shortHelp},
		{[]string{"--help"}, shortHelp},
		{[]string{"-h"}, shortHelp},
		{[]string{"help", "--all"}, longHelp},
		{[]string{"help", "services"}, servicesHelp},
		{[]string{"services", "--help"}, servicesHelp},
		{[]string{"services", "foo", "-h", "--bogus"}, servicesHelp},
		{[]string{"--version"}, version.Version + "\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := runCLI(t, tt.args...)
			assert.Equal(t, result{stdout: tt.stdout}, r)
		})
	}
}

func TestHelpOfEveryCommand(t *testing.T) {
	isolate(t)
	for _, info := range commands {
		r := runCLI(t, info.Name, "--help")
		assert.Equal(t, 0, r.code, info.Name)
		assert.True(t, strings.HasPrefix(r.stdout, "Usage:\n  pebble "+info.Name), "%s: %q", info.Name, r.stdout)
		assert.Empty(t, r.stderr)
		for _, line := range strings.Split(r.stdout, "\n") {
			assert.LessOrEqual(t, len(line), 80, "%s: %q", info.Name, line)
		}
	}
}

func TestHelpWithArgumentsAndShortOptions(t *testing.T) {
	isolate(t)
	r := runCLI(t, "tasks", "-h")
	assert.Contains(t, r.stdout, "\n[tasks command arguments]\n  <change-id>:                    Change ID\n")
	r = runCLI(t, "help", "run")
	assert.Contains(t, r.stdout, "\n          --hold         Do not start the default services\n")
	assert.Contains(t, r.stdout, "\n      -v, --verbose      Copy all service output to stdout (also\n                         PEBBLE_VERBOSE=1)\n")
}

func TestHelpErrors(t *testing.T) {
	isolate(t)
	tests := []struct {
		args   []string
		stderr string
	}{
		{[]string{"help", "--all", "services"}, "error: help accepts a command, or '--all', but not both\n"},
		{[]string{"help", "bogus"}, "error: unknown command \"bogus\", see 'pebble help'\n"},
		{[]string{"help", "services", "extra"}, "error: unknown command \"extra\", see 'pebble help'\n"},
		{[]string{"bogus"}, "error: unknown command \"bogus\", see 'pebble help'\n"},
		{[]string{"--bogus"}, "error: unknown flag `bogus'\n"},
		{[]string{"-x"}, "error: unknown flag `x'\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			assert.Equal(t, result{stderr: tt.stderr, code: 1}, runCLI(t, tt.args...))
		})
	}
}

// TestRun checks the exported entry point with real streams.
func TestRun(t *testing.T) {
	isolate(t)
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), []string{"version", "--client"}, nil, &stdout, &stderr)
	assert.Equal(t, 0, code)
	assert.Equal(t, version.Version+"\n", stdout.String())
	assert.Empty(t, stderr.String())
}

// TestEveryListedCommandExists: the help index (cli.md §2) names no
// command that the CLI lacks, and every command has its summary.
func TestEveryListedCommandExists(t *testing.T) {
	have := make(map[string]bool)
	for _, c := range commands {
		have[c.Name] = true
		if summary(c.Name) == "" {
			t.Errorf("command %q has no summary", c.Name)
		}
	}
	for name := range summaries {
		if !have[name] {
			t.Errorf("summary for %q, but no such command", name)
		}
	}
}
