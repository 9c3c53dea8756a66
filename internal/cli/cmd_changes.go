package cli

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/pebble-project/pebble/client"
)

var changesInfo = &cmdInfo{
	name:    "changes",
	summary: summaries["changes"],
	description: `
The changes command lists the recent changes, oldest first, or only those
that concern the named service.`,
	usage: "[changes-OPTIONS] [<service>]",
	args:  []posArg{{name: "<service>", optional: true}},
	new:   func() command { return &cmdChanges{} },
}

type cmdChanges struct {
	format  string
	absTime bool
}

func (c *cmdChanges) flags(fs *flagSet) {
	absTimeFlag(fs, &c.absTime)
	formatFlag(fs, &c.format)
}

var allDigits = regexp.MustCompile(`^[0-9]+$`)

func (c *cmdChanges) run(ctx context.Context, e *env, args []string) error {
	var service string
	if len(args) > 0 {
		service = args[0]
	}
	if allDigits.MatchString(service) {
		return fmt.Errorf("'pebble changes' command expects a service name, try 'pebble tasks %s'", service)
	}
	if service == "everything" {
		fmt.Fprintln(e.stdout, "Yes, yes it does.")
		return nil
	}
	cli, err := e.Client()
	if err != nil {
		return err
	}
	changes, err := cli.Changes(ctx, &client.ChangesOptions{ServiceName: service, Selector: client.ChangesAll})
	if err != nil {
		return err
	}
	e.warnMaintenance()
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].SpawnTime.Before(changes[j].SpawnTime) })

	if c.format != "text" {
		if changes == nil {
			changes = []*client.Change{}
		}
		return writeNonText(e.stdout, c.format, struct {
			Changes []*client.Change `json:"changes" yaml:"changes"`
		}{changes})
	}
	if len(changes) == 0 {
		fmt.Fprintln(e.stderr, "no changes found")
		return nil
	}
	w := newTable(e.stdout)
	fmt.Fprintln(w, "ID\tStatus\tSpawn\tReady\tSummary")
	for _, chg := range changes {
		ready := "-"
		if !chg.ReadyTime.IsZero() {
			ready = fmtTime(chg.ReadyTime, e.now(), e.loc, c.absTime)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", chg.ID, chg.Status,
			fmtTime(chg.SpawnTime, e.now(), e.loc, c.absTime), ready, chg.Summary)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout)
	return nil
}

var tasksInfo = &cmdInfo{
	name:    "tasks",
	summary: summaries["tasks"],
	description: `
The tasks command lists the tasks of a change, and the log of each task that
has one. Name the change by its ID, or pick the latest change of a kind with
--last.`,
	usage: "[tasks-OPTIONS] [<change-id>]",
	args:  []posArg{{name: "<change-id>", desc: "Change ID", optional: true}},
	new:   func() command { return &cmdTasks{} },
}

type cmdTasks struct {
	format  string
	absTime bool
	last    string
}

func (c *cmdTasks) flags(fs *flagSet) {
	fs.String(&c.last, 0, "last", "", "", `Show the latest change of this kind (start, stop, replan, ...). With a "?" after the kind, finding no such change is not an error (quote the "?" from the shell).`)
	absTimeFlag(fs, &c.absTime)
	formatFlag(fs, &c.format)
}

// errNoChangeOK ends the tasks command silently: --last=<kind>? found none.
var errNoChangeOK = errors.New("no change found, as allowed")

func (c *cmdTasks) run(ctx context.Context, e *env, args []string) error {
	cli, err := e.Client()
	if err != nil {
		return err
	}
	var id string
	if len(args) > 0 {
		id = args[0]
	}
	id, err = c.changeID(ctx, e, cli, id)
	if err == errNoChangeOK {
		return nil
	}
	if err != nil {
		return err
	}
	chg, err := cli.Change(ctx, id)
	if err != nil {
		return err
	}
	e.warnMaintenance()
	if c.format != "text" {
		return writeNonText(e.stdout, c.format, chg)
	}

	w := newTable(e.stdout)
	fmt.Fprintln(w, "Status\tSpawn\tReady\tSummary")
	for _, t := range chg.Tasks {
		ready := "-"
		if !t.ReadyTime.IsZero() {
			ready = fmtTime(t.ReadyTime, e.now(), e.loc, c.absTime)
		}
		summary := t.Summary
		if t.Status == "Doing" && t.Progress.Total > 1 {
			summary += fmt.Sprintf(" (%.2f%%)", float64(t.Progress.Done)/float64(t.Progress.Total)*100)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", t.Status, fmtTime(t.SpawnTime, e.now(), e.loc, c.absTime), ready, summary)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for _, t := range chg.Tasks {
		if len(t.Log) == 0 {
			continue
		}
		fmt.Fprintf(e.stdout, "\n%s\n%s\n\n", strings.Repeat(".", 70), t.Summary)
		for _, line := range t.Log {
			fmt.Fprintln(e.stdout, line)
		}
	}
	fmt.Fprintln(e.stdout)
	return nil
}

// changeID resolves the change to show: the given ID, or the latest change
// of the --last kind.
func (c *cmdTasks) changeID(ctx context.Context, e *env, cli *client.Client, id string) (string, error) {
	switch {
	case id == "" && c.last == "":
		return "", errors.New("please provide change ID or type with --last=<type>")
	case id != "" && c.last != "":
		return "", errors.New("cannot use change ID and type together")
	case id != "":
		return id, nil
	}
	kind, optional := strings.CutSuffix(c.last, "?")
	changes, err := cli.Changes(ctx, &client.ChangesOptions{Selector: client.ChangesAll})
	if err != nil {
		return "", err
	}
	e.warnMaintenance()
	var latest *client.Change
	for _, chg := range changes {
		if chg.Kind == kind && (latest == nil || chg.SpawnTime.After(latest.SpawnTime)) {
			latest = chg
		}
	}
	switch {
	case latest != nil:
		return latest.ID, nil
	case optional:
		return "", errNoChangeOK
	case len(changes) == 0:
		return "", errors.New("no changes found")
	}
	return "", fmt.Errorf("no changes of type %q found", c.last)
}

// warnMaintenance prints the daemon's maintenance message, if any, as a
// warning.
func (e *env) warnMaintenance() {
	if e.client == nil {
		return
	}
	if err := e.client.Maintenance(); err != nil {
		fmt.Fprintf(e.stderr, "WARNING: %s\n", e.errorMessage(err))
	}
}
