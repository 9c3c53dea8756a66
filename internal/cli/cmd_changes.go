package cli

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/pebble-project/pebble/client"
	"github.com/pebble-project/pebble/internal/cli/command"
)

var changesInfo = &command.Info{
	Name:    "changes",
	Summary: summaries["changes"],
	Description: `
The changes command lists the recent changes, oldest first, or only those
that concern the named service.`,
	Usage: "[changes-OPTIONS] [<service>]",
	Args:  []command.PosArg{{Name: "<service>", Optional: true}},
	New:   func() command.Command { return &cmdChanges{} },
}

type cmdChanges struct {
	format  string
	absTime bool
}

func (c *cmdChanges) Flags(fs *command.FlagSet) {
	command.AbsTimeFlag(fs, &c.absTime)
	command.FormatFlag(fs, &c.format)
}

var allDigits = regexp.MustCompile(`^[0-9]+$`)

func (c *cmdChanges) Run(ctx context.Context, e *command.Env, args []string) error {
	var service string
	if len(args) > 0 {
		service = args[0]
	}
	if allDigits.MatchString(service) {
		return fmt.Errorf("'pebble changes' command expects a service name, try 'pebble tasks %s'", service)
	}
	if service == "everything" {
		fmt.Fprintln(e.Stdout, "Yes, yes it does.")
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
	warnMaintenance(e, cli)
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].SpawnTime.Before(changes[j].SpawnTime) })

	if c.format != "text" {
		if changes == nil {
			changes = []*client.Change{}
		}
		return command.WriteNonText(e.Stdout, c.format, struct {
			Changes []*client.Change `json:"changes" yaml:"changes"`
		}{changes})
	}
	if len(changes) == 0 {
		fmt.Fprintln(e.Stderr, "no changes found")
		return nil
	}
	w := command.NewTable(e.Stdout)
	fmt.Fprintln(w, "ID\tStatus\tSpawn\tReady\tSummary")
	for _, chg := range changes {
		ready := "-"
		if !chg.ReadyTime.IsZero() {
			ready = command.FormatTime(chg.ReadyTime, e.Now(), e.Loc, c.absTime)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", chg.ID, chg.Status,
			command.FormatTime(chg.SpawnTime, e.Now(), e.Loc, c.absTime), ready, chg.Summary)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.Stdout)
	return nil
}

var tasksInfo = &command.Info{
	Name:    "tasks",
	Summary: summaries["tasks"],
	Description: `
The tasks command lists the tasks of a change, and the log of each task that
has one. Name the change by its ID, or pick the latest change of a kind with
--last.`,
	Usage: "[tasks-OPTIONS] [<change-id>]",
	Args:  []command.PosArg{{Name: "<change-id>", Desc: "Change ID", Optional: true}},
	New:   func() command.Command { return &cmdTasks{} },
}

type cmdTasks struct {
	format  string
	absTime bool
	last    string
}

func (c *cmdTasks) Flags(fs *command.FlagSet) {
	fs.String(&c.last, 0, "last", "", "", `Show the latest change of this kind (start, stop, replan, ...). With a "?" after the kind, finding no such change is not an error (quote the "?" from the shell).`)
	command.AbsTimeFlag(fs, &c.absTime)
	command.FormatFlag(fs, &c.format)
}

// errNoChangeOK ends the tasks command silently: --last=<kind>? found none.
var errNoChangeOK = errors.New("no change found, as allowed")

func (c *cmdTasks) Run(ctx context.Context, e *command.Env, args []string) error {
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
	warnMaintenance(e, cli)
	if c.format != "text" {
		return command.WriteNonText(e.Stdout, c.format, chg)
	}

	w := command.NewTable(e.Stdout)
	fmt.Fprintln(w, "Status\tSpawn\tReady\tSummary")
	for _, t := range chg.Tasks {
		ready := "-"
		if !t.ReadyTime.IsZero() {
			ready = command.FormatTime(t.ReadyTime, e.Now(), e.Loc, c.absTime)
		}
		summary := t.Summary
		if t.Status == "Doing" && t.Progress.Total > 1 {
			summary += fmt.Sprintf(" (%.2f%%)", float64(t.Progress.Done)/float64(t.Progress.Total)*100)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", t.Status, command.FormatTime(t.SpawnTime, e.Now(), e.Loc, c.absTime), ready, summary)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for _, t := range chg.Tasks {
		if len(t.Log) == 0 {
			continue
		}
		fmt.Fprintf(e.Stdout, "\n%s\n%s\n\n", strings.Repeat(".", 70), t.Summary)
		for _, line := range t.Log {
			fmt.Fprintln(e.Stdout, line)
		}
	}
	fmt.Fprintln(e.Stdout)
	return nil
}

// changeID resolves the change to show: the given ID, or the latest change
// of the --last kind.
func (c *cmdTasks) changeID(ctx context.Context, e *command.Env, cli *client.Client, id string) (string, error) {
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
	warnMaintenance(e, cli)
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
func warnMaintenance(e *command.Env, cli *client.Client) {
	if err := cli.Maintenance(); err != nil {
		fmt.Fprintf(e.Stderr, "WARNING: %s\n", e.ErrorMessage(err))
	}
}
