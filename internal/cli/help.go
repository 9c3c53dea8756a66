package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// cmdInfo describes a command.
type cmdInfo struct {
	name        string
	summary     string // one line, for "help --all"
	description string // paragraphs for "<cmd> --help"
	usage       string // what follows "pebble <name>" in the usage line
	args        []posArg
	new         func() command
}

// command is one run of a command: it binds its flags, then runs with the
// positional arguments.
type command interface {
	flags(fs *flagSet)
	run(ctx context.Context, e *env, args []string) error
}

// commands are the implemented commands.
var commands = []*cmdInfo{
	addIdentitiesInfo,
	addInfo,
	autostartInfo,
	changesInfo,
	checkInfo,
	checksInfo,
	enterInfo,
	execInfo,
	healthInfo,
	helpInfo,
	identitiesInfo,
	identityInfo,
	logsInfo,
	lsInfo,
	mkdirInfo,
	noticeInfo,
	noticesInfo,
	notifyInfo,
	okayInfo,
	planInfo,
	pullInfo,
	pushInfo,
	removeIdentitiesInfo,
	replanInfo,
	restartInfo,
	rmInfo,
	runInfo,
	servicesInfo,
	signalInfo,
	startInfo,
	startChecksInfo,
	stopInfo,
	stopChecksInfo,
	tasksInfo,
	updateIdentitiesInfo,
	versionInfo,
	warningsInfo,
}

// summaries are the one-line summaries of all commands, implemented or not
// (cli.md §2).
var summaries = map[string]string{
	"run":               "Run the service manager environment",
	"help":              "Show help about a command",
	"version":           "Show version details",
	"add":               "Dynamically add a layer to the plan's layers",
	"plan":              "Show the plan with layers combined",
	"replan":            "Ensure running services and checks match the current plan",
	"services":          "Query the status of configured services",
	"logs":              "Fetch service logs",
	"start":             "Start a service and its dependencies",
	"restart":           "Restart a service",
	"signal":            "Send a signal to one or more running services",
	"stop":              "Stop a service and its dependents",
	"checks":            "Query the status of configured health checks",
	"check":             "Query the details of a configured health check",
	"start-checks":      "Start one or more checks",
	"stop-checks":       "Stop one or more checks",
	"health":            "Query health of checks",
	"push":              "Transfer a file to the remote system",
	"pull":              "Retrieve a file from the remote system",
	"ls":                "List path contents",
	"mkdir":             "Create a directory",
	"rm":                "Remove a file or directory",
	"exec":              "Execute a remote command and wait for it to finish",
	"changes":           "List system changes",
	"tasks":             "List a change's tasks",
	"warnings":          "List warnings",
	"okay":              "Acknowledge notices and warnings",
	"notices":           "List notices",
	"notice":            "Fetch a single notice",
	"notify":            "Record a custom notice",
	"identities":        "List identities",
	"identity":          "Show a single identity",
	"add-identities":    "Add new identities",
	"update-identities": "Update or replace identities",
	"remove-identities": "Remove identities",
	"enter":             "Run subcommand under a container environment",
	"autostart":         "Start services set to start by default",
}

// helpGroup is a group of commands in "pebble help".
type helpGroup struct {
	label, description string
	commands           []string
}

// helpGroups are the groups of "pebble help", in order (cli.md §2).
var helpGroups = []helpGroup{
	{"Run", "run the service manager", []string{"run"}},
	{"Info", "help and version information", []string{"help", "version"}},
	{"Plan", "view and change configuration", []string{"add", "plan", "replan"}},
	{"Services", "manage services", []string{"services", "logs", "start", "restart", "signal", "stop"}},
	{"Checks", "manage health checks", []string{"checks", "check", "start-checks", "stop-checks", "health"}},
	{"Files", "work with files and execute commands", []string{"push", "pull", "ls", "mkdir", "rm", "exec"}},
	{"Changes", "manage changes and their tasks", []string{"changes", "tasks"}},
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
func (e *env) printShortHelp() {
	w := e.stdout
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
func (e *env) printLongHelp() {
	w := e.stdout
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
			fmt.Fprintf(w, "    %-*s  %s\n", width, c, summaries[c])
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, helpFooter)
}

// helpColumns is the width help text is laid out for.
const helpColumns = 80

// printCommandHelp prints "pebble <cmd> --help", laid out like go-flags'
// help so that it matches Pebble's.
func (e *env) printCommandHelp(info *cmdInfo) {
	w := e.stdout
	var fs flagSet
	info.new().flags(&fs)
	var visible []*option
	for _, o := range fs.opts {
		if !o.hidden {
			visible = append(visible, o)
		}
	}

	fmt.Fprintf(w, "Usage:\n  pebble %s", info.name)
	if info.usage != "" {
		fmt.Fprintf(w, " %s", info.usage)
	}
	fmt.Fprintln(w)
	if info.description != "" {
		fmt.Fprintln(w)
		fmt.Fprintln(w, wrapHelp(info.description, helpColumns, ""))
	}

	// Options and argument descriptions share one description column.
	longest, hasShort, hasValueName := 0, false, false
	for _, a := range info.args {
		longest = max(longest, len(a.name)+4)
	}
	for _, o := range visible {
		hasShort = hasShort || o.short != 0
		hasValueName = hasValueName || o.valueName != ""
		longest = max(longest, len(o.long)+len(o.valueName)+len(choicesText(o))+4)
	}
	descStart := longest + 2 + 2
	if hasShort {
		descStart += 2
	}
	if longest > 0 {
		descStart += 4
	}
	if hasValueName {
		descStart += 3
	}

	if len(visible) > 0 {
		fmt.Fprintf(w, "\n[%s command options]\n", info.name)
		for _, o := range visible {
			writeOptionHelp(w, o, hasShort, descStart)
		}
	}
	var described []posArg
	for _, a := range info.args {
		if a.desc != "" {
			described = append(described, a)
		}
	}
	if len(described) > 0 {
		fmt.Fprintf(w, "\n[%s command arguments]\n", info.name)
		for _, a := range described {
			prefix := "  " + a.name + ":"
			fmt.Fprintf(w, "%s%s%s\n", prefix, strings.Repeat(" ", max(descStart-len(prefix), 1)),
				wrapHelp(a.desc, helpColumns-1-descStart, strings.Repeat(" ", descStart)))
		}
	}
}

func choicesText(o *option) string {
	if len(o.choices) == 0 {
		return ""
	}
	return "[" + strings.Join(o.choices, "|") + "]"
}

func writeOptionHelp(w io.Writer, o *option, hasShort bool, descStart int) {
	var b strings.Builder
	b.WriteString("      ")
	switch {
	case o.short != 0:
		fmt.Fprintf(&b, "-%c", o.short)
	case hasShort:
		b.WriteString("  ")
	}
	if o.long != "" {
		switch {
		case o.short != 0:
			b.WriteString(", ")
		case hasShort:
			b.WriteString("  ")
		}
		b.WriteString("--" + o.long)
	}
	if o.kind != boolOpt {
		b.WriteString("=" + o.valueName + choicesText(o))
	}
	desc := o.desc
	if o.def != "" {
		desc += " (default: " + o.def + ")"
	}
	pad := max(descStart-b.Len(), 1)
	fmt.Fprintf(w, "%s%s%s\n", b.String(), strings.Repeat(" ", pad),
		wrapHelp(desc, helpColumns-descStart, strings.Repeat(" ", descStart)))
}

// wrapHelp wraps each line of s at spaces to at most width characters,
// starting continuation lines with prefix.
func wrapHelp(s string, width int, prefix string) string {
	width = max(width, 10)
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		line = strings.TrimSpace(line)
		for len(line) > width {
			cut := strings.LastIndex(line[:width], " ")
			if cut <= 0 {
				cut = width
			}
			out = append(out, strings.TrimSpace(line[:cut]))
			line = strings.TrimSpace(line[cut:])
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n"+prefix)
}

var helpInfo = &cmdInfo{
	name:    "help",
	summary: summaries["help"],
	description: `
The help command shows the list of commands, a summary of each with --all,
or the help of the commands named.`,
	usage: "[help-OPTIONS] [<command>...]",
	args:  []posArg{{name: "<command>", rest: true, optional: true}},
	new:   func() command { return &cmdHelp{} },
}

type cmdHelp struct {
	all bool
}

func (c *cmdHelp) flags(fs *flagSet) {
	fs.Bool(&c.all, 0, "all", "Show a one-line summary of every command")
}

func (c *cmdHelp) run(_ context.Context, e *env, args []string) error {
	if c.all {
		if len(args) > 0 {
			return fmt.Errorf("help accepts a command, or '--all', but not both")
		}
		e.printLongHelp()
		return nil
	}
	if len(args) == 0 {
		e.printShortHelp()
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
	e.printCommandHelp(info)
	return nil
}
