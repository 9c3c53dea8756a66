package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/pebble-project/pebble/internal/cli/command"
	"github.com/pebble-project/pebble/internal/cli/files"
	"github.com/pebble-project/pebble/internal/cli/identities"
	"github.com/pebble-project/pebble/internal/cli/notices"
)

// commands are the implemented commands: those of this package and those of
// the family packages.
var commands = slices.Concat(files.Commands, identities.Commands, notices.Commands, []*command.Info{
	addInfo,
	autostartInfo,
	changesInfo,
	checkInfo,
	checksInfo,
	enterInfo,
	execInfo,
	healthInfo,
	helpInfo,
	logsInfo,
	planInfo,
	replanInfo,
	reloadInfo,
	restartInfo,
	runInfo,
	servicesInfo,
	signalInfo,
	startInfo,
	startChecksInfo,
	stopInfo,
	stopChecksInfo,
	tasksInfo,
	upgradeInfo,
	versionInfo,
	workflowsInfo,
	runWorkflowInfo,
})

// summaries are the one-line summaries (cli.md §2) of the commands whose
// Info is not in a family package; see summary.
var summaries = map[string]string{
	"run":          "Run the service manager environment",
	"help":         "Show help about a command",
	"version":      "Show version details",
	"add":          "Dynamically add a layer to the plan's layers",
	"plan":         "Show the plan with layers combined",
	"replan":       "Ensure running services and checks match the current plan",
	"services":     "Query the status of configured services",
	"logs":         "Fetch service logs",
	"start":        "Start a service and its dependencies",
	"restart":      "Restart a service",
	"reload":       "Reload running services without restarting them",
	"signal":       "Send a signal to one or more running services",
	"stop":         "Stop a service and its dependents",
	"checks":       "Query the status of configured health checks",
	"check":        "Query the details of a configured health check",
	"start-checks": "Start one or more checks",
	"stop-checks":  "Stop one or more checks",
	"health":       "Query health of checks",
	"exec":         "Execute a remote command and wait for it to finish",
	"changes":      "List system changes",
	"tasks":        "List a change's tasks",
	"enter":        "Run subcommand under a container environment",
	"autostart":    "Start services set to start by default",
	"upgrade":      "Re-execute the daemon from a new binary in place",
	"workflows":    "List the workflows of the plan and their last runs",
	"run-workflow": "Run a workflow of the plan and wait for it",
}

// helpGroup is a group of commands in "pebble help".
type helpGroup struct {
	label, description string
	commands           []string
}

// helpGroups are the groups of "pebble help", in order (cli.md §2).
var helpGroups = []helpGroup{
	{"Run", "run the service manager", []string{"run", "upgrade"}},
	{"Info", "help and version information", []string{"help", "version"}},
	{"Plan", "view and change configuration", []string{"add", "plan", "replan"}},
	{"Services", "manage services", []string{"services", "logs", "start", "restart", "reload", "signal", "stop"}},
	{"Checks", "manage health checks", []string{"checks", "check", "start-checks", "stop-checks", "health"}},
	{"Files", "work with files and execute commands", []string{"push", "pull", "ls", "mkdir", "rm", "exec"}},
	{"Changes", "manage changes and their tasks", []string{"changes", "tasks"}},
	{"Workflows", "run lifecycle procedures", []string{"workflows", "run-workflow"}},
	{"Notices", "manage notices and warnings", []string{"warnings", "okay", "notices", "notice", "notify"}},
	{"Identities", "manage user identities", []string{"identities", "identity", "add-identities", "update-identities", "remove-identities"}},
}

const (
	helpHeader = `Pebble lets you control services and perform management actions on
the system that is running them.

Usage: pebble <command> [<options>...]

Commands can be classified as follows:`

	helpFooter = `Set the PEBBLE environment variable to override the configuration directory
(which defaults to /var/lib/pebble/default). Set PEBBLE_SOCKET to override
the unix socket used for the API (defaults to $PEBBLE/.pebble.socket).

For more information about a command, run 'pebble help <command>'.`

	helpAllHint = "For a short summary of all commands, run 'pebble help --all'."
)

// printShortHelp prints "pebble help": the group index.
func printShortHelp(w io.Writer) {
	fmt.Fprintln(w, helpHeader)
	fmt.Fprintln(w)
	width := 0
	for _, g := range helpGroups {
		width = max(width, len(g.label))
	}
	for _, g := range helpGroups {
		list := strings.Join(g.commands, ", ")
		if g.label == "Identities" {
			list = "identities --help" // the full list is too long
		}
		fmt.Fprintf(w, "%*s: %s\n", width+2, g.label, list)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, helpFooter)
	fmt.Fprintln(w, helpAllHint)
}

// printLongHelp prints "pebble help --all": every group with summaries.
func printLongHelp(w io.Writer) {
	fmt.Fprintln(w, helpHeader)
	width := 0
	for _, g := range helpGroups {
		for _, c := range g.commands {
			width = max(width, len(c))
		}
	}
	for _, g := range helpGroups {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "  %s (%s):\n", g.label, g.description)
		for _, c := range g.commands {
			fmt.Fprintf(w, "    %-*s  %s\n", width, c, summary(c))
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, helpFooter)
}

var helpInfo = &command.Info{
	Name:    "help",
	Summary: summaries["help"],
	Description: `
The help command shows the list of commands, a summary of each with --all,
or the help of the commands named.`,
	Usage: "[help-OPTIONS] [<command>...]",
	Args:  []command.PosArg{{Name: "<command>", Rest: true, Optional: true}},
	New:   func() command.Command { return &cmdHelp{} },
}

type cmdHelp struct {
	all bool
}

func (c *cmdHelp) Flags(fs *command.FlagSet) {
	fs.Bool(&c.all, 0, "all", "Show a one-line summary of every command")
}

func (c *cmdHelp) Run(_ context.Context, e *command.Env, args []string) error {
	if c.all {
		if len(args) > 0 {
			return fmt.Errorf("help accepts a command, or '--all', but not both")
		}
		printLongHelp(e.Stdout)
		return nil
	}
	if len(args) == 0 {
		printShortHelp(e.Stdout)
		return nil
	}
	if len(args) > 1 {
		// Commands have no subcommands.
		return fmt.Errorf("unknown command %q, see 'pebble help'", args[1])
	}
	info, err := findCommand(args[0])
	if err != nil {
		return err
	}
	command.WriteHelp(e.Stdout, info)
	return nil
}

// summary returns the one-line summary of the named command.
func summary(name string) string {
	if info, err := findCommand(name); err == nil && info.Summary != "" {
		return info.Summary
	}
	return summaries[name]
}
