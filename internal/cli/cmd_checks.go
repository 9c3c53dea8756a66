package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pebble-project/pebble/client"
	"github.com/pebble-project/pebble/internal/cli/command"
)

// The health check commands: checks, check, start-checks, stop-checks and
// health (cli.md §3, Checks).

var checksInfo = &command.Info{
	Name:    "checks",
	Summary: summaries["checks"],
	Description: `
The checks command lists the status of the configured health checks,
optionally only those of one level or with the given names.`,
	Usage: "[checks-OPTIONS] [<check>...]",
	Args:  []command.PosArg{{Name: "<check>", Rest: true, Optional: true}},
	New:   func() command.Command { return &cmdChecks{} },
}

var checkInfo = &command.Info{
	Name:    "check",
	Summary: summaries["check"],
	Description: `
The check command shows the details of one health check, with the log of
its latest failures. With --refresh it runs the check first.`,
	Usage: "[check-OPTIONS] <check>",
	Args:  []command.PosArg{{Name: "<check>"}},
	New:   func() command.Command { return &cmdCheck{} },
}

var startChecksInfo = &command.Info{
	Name:    "start-checks",
	Summary: summaries["start-checks"],
	Description: `
The start-checks command starts the named health checks that are not
running, with their counters reset.`,
	Usage: "<check>...",
	Args:  []command.PosArg{{Name: "<check>", Rest: true}},
	New:   func() command.Command { return &cmdChecksAction{start: true} },
}

var stopChecksInfo = &command.Info{
	Name:    "stop-checks",
	Summary: summaries["stop-checks"],
	Description: `
The stop-checks command stops the named health checks that are running.`,
	Usage: "<check>...",
	Args:  []command.PosArg{{Name: "<check>", Rest: true}},
	New:   func() command.Command { return &cmdChecksAction{} },
}

var healthInfo = &command.Info{
	Name:    "health",
	Summary: summaries["health"],
	Description: `
The health command reports whether the selected health checks are healthy.
It exits with status 0 when they are and 1 when at least one is down; with
--format=json or yaml it exits with status 0 either way.`,
	Usage: "[health-OPTIONS] [<check>...]",
	Args:  []command.PosArg{{Name: "<check>", Rest: true, Optional: true}},
	New:   func() command.Command { return &cmdHealth{} },
}

// levelFlag adds --level=alive|ready to fs, stored in *p.
func levelFlag(fs *command.FlagSet, p *string) {
	fs.String(p, 0, "level", "", "", "Check level to filter for", "alive", "ready")
}

type cmdChecks struct {
	format string
	level  string
}

func (c *cmdChecks) Flags(fs *command.FlagSet) {
	levelFlag(fs, &c.level)
	command.FormatFlag(fs, &c.format)
}

func (c *cmdChecks) Run(ctx context.Context, e *command.Env, names []string) error {
	cli, err := e.Client()
	if err != nil {
		return err
	}
	checks, err := cli.Checks(ctx, &client.ChecksOptions{Level: client.CheckLevel(c.level), Names: names})
	if err != nil {
		return err
	}
	if c.format != "text" {
		byName := make(map[string]*client.CheckInfo, len(checks))
		for _, chk := range checks {
			byName[chk.Name] = chk
		}
		return command.WriteNonText(e.Stdout, c.format, struct {
			Checks map[string]*client.CheckInfo `json:"checks" yaml:"checks"`
		}{byName})
	}
	if len(checks) == 0 {
		if len(names) == 0 && c.level == "" {
			fmt.Fprintln(e.Stderr, "Plan has no health checks.")
		} else {
			fmt.Fprintln(e.Stderr, "No matching health checks.")
		}
		return nil
	}
	w := command.NewTable(e.Stdout)
	fmt.Fprintln(w, "Check\tLevel\tStartup\tStatus\tSuccesses\tFailures\tChange")
	for _, chk := range checks {
		level := string(chk.Level)
		if level == "" {
			level = "-"
		}
		successes, failures := "-", "-"
		if chk.Successes == nil {
			successes = "?"
		}
		if chk.Status != client.CheckStatusInactive {
			if chk.Successes != nil {
				successes = strconv.Itoa(*chk.Successes)
			}
			failures = fmt.Sprintf("%d/%d", chk.Failures, chk.Threshold)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", chk.Name, level, chk.Startup, chk.Status,
			successes, failures, changeCell(ctx, cli, chk))
	}
	return w.Flush()
}

// maxChangeCell is the most bytes the log excerpt of a Change cell takes.
const maxChangeCell = 70

// changeCell is the Change column of the checks table: the change ID, "-"
// if none, followed by the last task log message while there are failures.
func changeCell(ctx context.Context, cli *client.Client, chk *client.CheckInfo) string {
	if chk.ChangeID == "" {
		return "-"
	}
	if chk.Failures == 0 {
		return chk.ChangeID
	}
	logID := chk.ChangeID
	msg, err := lastTaskLog(ctx, cli, logID)
	if err == nil && msg == "" && chk.PrevChangeID != "" {
		logID = chk.PrevChangeID
		msg, err = lastTaskLog(ctx, cli, logID)
	}
	switch {
	case err != nil:
		return fmt.Sprintf("%s (%v)", chk.ChangeID, err)
	case msg == "":
		return chk.ChangeID
	}
	if len(msg) > maxChangeCell {
		more := fmt.Sprintf(`... run "pebble tasks %s" for more`, logID)
		msg = msg[:maxChangeCell-len(more)] + more
	}
	return fmt.Sprintf("%s (%s)", chk.ChangeID, msg)
}

// lastTaskLog returns the message of the last log entry of a change's first
// task, without its time and level, newlines shown as \n.
func lastTaskLog(ctx context.Context, cli *client.Client, changeID string) (string, error) {
	chg, err := cli.Change(ctx, changeID)
	if err != nil {
		return "", err
	}
	if len(chg.Tasks) == 0 || len(chg.Tasks[0].Log) == 0 {
		return "", nil
	}
	log := chg.Tasks[0].Log
	entry := log[len(log)-1]
	if fields := strings.SplitN(entry, " ", 3); len(fields) == 3 {
		entry = fields[2]
	}
	return strings.ReplaceAll(entry, "\n", `\n`), nil
}

type cmdCheck struct {
	format  string
	refresh bool
}

func (c *cmdCheck) Flags(fs *command.FlagSet) {
	fs.Bool(&c.refresh, 0, "refresh", "Run the check immediately")
	command.FormatFlag(fs, &c.format)
}

// checkDetails is what `pebble check` prints.
type checkDetails struct {
	client.CheckInfo `yaml:",inline"`

	Error string `json:"error,omitempty" yaml:"error,omitempty"`
	Logs  string `json:"logs,omitempty" yaml:"logs,omitempty"`
}

func (c *cmdCheck) Run(ctx context.Context, e *command.Env, args []string) error {
	name := args[0]
	cli, err := e.Client()
	if err != nil {
		return err
	}
	var details checkDetails
	if c.refresh {
		res, err := cli.RefreshCheck(ctx, &client.RefreshCheckOptions{Name: name})
		if err != nil {
			return err
		}
		details.CheckInfo, details.Error = res.Info, res.Error
	} else {
		checks, err := cli.Checks(ctx, &client.ChecksOptions{Names: []string{name}})
		if err != nil {
			return err
		}
		if len(checks) == 0 {
			return fmt.Errorf("cannot find check %q", name)
		}
		details.CheckInfo = *checks[0]
	}
	if (details.Failures > 0 || details.Error != "") && details.ChangeID != "" {
		logs, err := taskLogs(ctx, cli, details.ChangeID)
		if err != nil {
			return fmt.Errorf("cannot get task logs for change %s: %w", details.ChangeID, err)
		}
		if logs == "" && details.PrevChangeID != "" {
			logs, err = taskLogs(ctx, cli, details.PrevChangeID)
			if err != nil {
				return fmt.Errorf("cannot get task logs for change %s: %w", details.PrevChangeID, err)
			}
		}
		details.Logs = logs
	}
	if c.format == "text" {
		data, err := yaml.Marshal(details)
		if err != nil {
			return err
		}
		_, err = e.Stdout.Write(data)
		return err
	}
	return command.WriteNonText(e.Stdout, c.format, details)
}

// taskLogs returns the log lines of a change's first task, each ended by a
// newline.
func taskLogs(ctx context.Context, cli *client.Client, changeID string) (string, error) {
	chg, err := cli.Change(ctx, changeID)
	if err != nil {
		return "", err
	}
	if len(chg.Tasks) == 0 {
		return "", nil
	}
	var b strings.Builder
	for _, line := range chg.Tasks[0].Log {
		b.WriteString(line)
		b.WriteString("\n")
	}
	return b.String(), nil
}

type cmdChecksAction struct {
	start bool
}

func (c *cmdChecksAction) Flags(*command.FlagSet) {}

func (c *cmdChecksAction) Run(ctx context.Context, e *command.Env, names []string) error {
	cli, err := e.Client()
	if err != nil {
		return err
	}
	opts := &client.ChecksActionOptions{Names: names}
	action, verb := cli.StopChecks, "stopped"
	if c.start {
		action, verb = cli.StartChecks, "started"
	}
	res, err := action(ctx, opts)
	if err != nil {
		return err
	}
	if len(res.Changed) == 0 {
		fmt.Fprintf(e.Stdout, "Checks already %s.\n", verb)
	} else {
		fmt.Fprintf(e.Stdout, "Checks %s: %s\n", verb, strings.Join(res.Changed, ", "))
	}
	return nil
}

type cmdHealth struct {
	format string
	level  string
}

func (c *cmdHealth) Flags(fs *command.FlagSet) {
	levelFlag(fs, &c.level)
	command.FormatFlag(fs, &c.format)
}

func (c *cmdHealth) Run(ctx context.Context, e *command.Env, names []string) error {
	cli, err := e.Client()
	if err != nil {
		return err
	}
	healthy, err := cli.Health(ctx, &client.HealthOptions{Level: client.CheckLevel(c.level), Names: names})
	if err != nil {
		return err
	}
	if c.format != "text" {
		return command.WriteNonText(e.Stdout, c.format, struct {
			Healthy bool `json:"healthy" yaml:"healthy"`
		}{healthy})
	}
	if !healthy {
		fmt.Fprintln(e.Stdout, "unhealthy")
		return &command.ExitError{Code: 1}
	}
	fmt.Fprintln(e.Stdout, "healthy")
	return nil
}
