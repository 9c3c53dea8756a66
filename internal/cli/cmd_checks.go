package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pebble-project/pebble/client"
)

// The health check commands: checks, check, start-checks, stop-checks and
// health (cli.md §3, Checks).

var checksInfo = &cmdInfo{
	name:    "checks",
	summary: summaries["checks"],
	description: `
The checks command lists the status of the configured health checks,
optionally only those of one level or with the given names.`,
	usage: "[checks-OPTIONS] [<check>...]",
	args:  []posArg{{name: "<check>", rest: true, optional: true}},
	new:   func() command { return &cmdChecks{} },
}

var checkInfo = &cmdInfo{
	name:    "check",
	summary: summaries["check"],
	description: `
The check command shows the details of one health check, with the log of
its latest failures. With --refresh it runs the check first.`,
	usage: "[check-OPTIONS] <check>",
	args:  []posArg{{name: "<check>"}},
	new:   func() command { return &cmdCheck{} },
}

var startChecksInfo = &cmdInfo{
	name:    "start-checks",
	summary: summaries["start-checks"],
	description: `
The start-checks command starts the named health checks that are not
running, with their counters reset.`,
	usage: "<check>...",
	args:  []posArg{{name: "<check>", rest: true}},
	new:   func() command { return &cmdChecksAction{start: true} },
}

var stopChecksInfo = &cmdInfo{
	name:    "stop-checks",
	summary: summaries["stop-checks"],
	description: `
The stop-checks command stops the named health checks that are running.`,
	usage: "<check>...",
	args:  []posArg{{name: "<check>", rest: true}},
	new:   func() command { return &cmdChecksAction{} },
}

var healthInfo = &cmdInfo{
	name:    "health",
	summary: summaries["health"],
	description: `
The health command reports whether the selected health checks are healthy.
It exits with status 0 when they are and 1 when at least one is down; with
--format=json or yaml it exits with status 0 either way.`,
	usage: "[health-OPTIONS] [<check>...]",
	args:  []posArg{{name: "<check>", rest: true, optional: true}},
	new:   func() command { return &cmdHealth{} },
}

// levelFlag adds --level=alive|ready to fs, stored in *p.
func levelFlag(fs *flagSet, p *string) {
	fs.String(p, 0, "level", "", "", "Check level to filter for", "alive", "ready")
}

type cmdChecks struct {
	format string
	level  string
}

func (c *cmdChecks) flags(fs *flagSet) {
	levelFlag(fs, &c.level)
	formatFlag(fs, &c.format)
}

func (c *cmdChecks) run(ctx context.Context, e *env, names []string) error {
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
		return writeNonText(e.stdout, c.format, struct {
			Checks map[string]*client.CheckInfo `json:"checks" yaml:"checks"`
		}{byName})
	}
	if len(checks) == 0 {
		if len(names) == 0 && c.level == "" {
			fmt.Fprintln(e.stderr, "Plan has no health checks.")
		} else {
			fmt.Fprintln(e.stderr, "No matching health checks.")
		}
		return nil
	}
	w := newTable(e.stdout)
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

func (c *cmdCheck) flags(fs *flagSet) {
	fs.Bool(&c.refresh, 0, "refresh", "Run the check immediately")
	formatFlag(fs, &c.format)
}

// checkDetails is what `pebble check` prints.
type checkDetails struct {
	client.CheckInfo `yaml:",inline"`

	Error string `json:"error,omitempty" yaml:"error,omitempty"`
	Logs  string `json:"logs,omitempty" yaml:"logs,omitempty"`
}

func (c *cmdCheck) run(ctx context.Context, e *env, args []string) error {
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
		_, err = e.stdout.Write(data)
		return err
	}
	return writeNonText(e.stdout, c.format, details)
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

func (c *cmdChecksAction) flags(*flagSet) {}

func (c *cmdChecksAction) run(ctx context.Context, e *env, names []string) error {
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
		fmt.Fprintf(e.stdout, "Checks already %s.\n", verb)
	} else {
		fmt.Fprintf(e.stdout, "Checks %s: %s\n", verb, strings.Join(res.Changed, ", "))
	}
	return nil
}

type cmdHealth struct {
	format string
	level  string
}

func (c *cmdHealth) flags(fs *flagSet) {
	levelFlag(fs, &c.level)
	formatFlag(fs, &c.format)
}

func (c *cmdHealth) run(ctx context.Context, e *env, names []string) error {
	cli, err := e.Client()
	if err != nil {
		return err
	}
	healthy, err := cli.Health(ctx, &client.HealthOptions{Level: client.CheckLevel(c.level), Names: names})
	if err != nil {
		return err
	}
	if c.format != "text" {
		return writeNonText(e.stdout, c.format, struct {
			Healthy bool `json:"healthy" yaml:"healthy"`
		}{healthy})
	}
	if !healthy {
		fmt.Fprintln(e.stdout, "unhealthy")
		return &exitError{code: 1}
	}
	fmt.Fprintln(e.stdout, "healthy")
	return nil
}
