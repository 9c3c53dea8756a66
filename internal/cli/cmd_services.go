package cli

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/pebble-project/pebble/client"
	"github.com/pebble-project/pebble/internal/cli/command"
)

var servicesInfo = &command.Info{
	Name:    "services",
	Summary: summaries["services"],
	Description: `
The services command shows the status of the named services, or of every
service in the plan when none is named.`,
	Usage: "[services-OPTIONS] [<service>...]",
	Args:  []command.PosArg{{Name: "<service>", Rest: true, Optional: true}},
	New:   func() command.Command { return &cmdServices{} },
}

type cmdServices struct {
	format  string
	absTime bool
	stats   bool
	exits   bool
}

func (c *cmdServices) Flags(fs *command.FlagSet) {
	command.FormatFlag(fs, &c.format)
	command.AbsTimeFlag(fs, &c.absTime)
	fs.Bool(&c.stats, 0, "stats", "Show the CPU time, memory, processes, open files and storage I/O of each service's processes, and the totals of each charge group")
	fs.Bool(&c.exits, 0, "exits", "Show each service's restart count, last exit and failure reason")
}

func (c *cmdServices) Run(ctx context.Context, e *command.Env, names []string) error {
	cli, err := e.Client()
	if err != nil {
		return err
	}
	services, err := cli.Services(ctx, &client.ServicesOptions{Names: names, Stats: c.stats})
	if err != nil {
		return err
	}
	if c.format != "text" {
		byName := make(map[string]*client.ServiceInfo, len(services))
		for _, svc := range services {
			byName[svc.Name] = svc
		}
		return command.WriteNonText(e.Stdout, c.format, struct {
			Services map[string]*client.ServiceInfo `json:"services" yaml:"services"`
		}{byName})
	}
	if len(services) == 0 {
		if len(names) == 0 {
			fmt.Fprintln(e.Stderr, "Plan has no services.")
		} else {
			fmt.Fprintln(e.Stderr, "No matching services.")
		}
		return nil
	}
	// The Scheduled and Notes columns are there only when a service has a
	// schedule or notes, so Pebble's output stays byte for byte the same
	// without them.
	scheduled := slices.ContainsFunc(services, func(s *client.ServiceInfo) bool { return s.Schedule != "" })
	header := []string{"Service", "Startup", "Current", "Since"}
	if scheduled {
		header = append(header, "Scheduled")
	}
	if c.stats {
		header = append(header, usageHeader...)
	}
	if c.exits {
		header = append(header, "Restarts", "Exit", "Exited", "Failure")
	}
	notes := c.notes(e, services)
	if notes != nil {
		header = append(header, "Notes")
	}
	w := command.NewTable(e.Stdout)
	fmt.Fprintln(w, strings.Join(header, "\t"))
	for i, svc := range services {
		since := "-"
		if !svc.CurrentSince.IsZero() {
			since = command.FormatTime(svc.CurrentSince, e.Now(), e.Loc, c.absTime)
		}
		row := []string{svc.Name, string(svc.Startup), string(svc.Current), since}
		if scheduled {
			row = append(row, c.nextRun(e, svc))
		}
		if c.stats {
			if st := svc.Stats; st != nil {
				row = append(row, usageCells(st.Usage)...)
			} else {
				for range usageHeader {
					row = append(row, "-")
				}
			}
		}
		if c.exits {
			row = append(row, c.exitColumns(e, svc)...)
		}
		if notes != nil {
			row = append(row, notes[i])
		}
		fmt.Fprintln(w, strings.Join(row, "\t"))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	writeLimitNotes(e, services)
	if c.stats {
		return writeGroupTotals(e, services)
	}
	return nil
}

// writeGroupTotals prints, below the services, the totals of each charge
// group of the services shown, in group order.
func writeGroupTotals(e *command.Env, services []*client.ServiceInfo) error {
	byGroup := make(map[string]*client.GroupTotals)
	var names []string
	for _, svc := range services {
		if st := svc.Stats; st != nil && st.GroupTotals != nil && byGroup[st.ChargeGroup] == nil {
			byGroup[st.ChargeGroup] = st.GroupTotals
			names = append(names, st.ChargeGroup)
		}
	}
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	fmt.Fprintln(e.Stdout)
	w := command.NewTable(e.Stdout)
	fmt.Fprintln(w, strings.Join(append([]string{"Group", "Services"}, usageHeader...), "\t"))
	for _, name := range names {
		g := byGroup[name]
		row := append([]string{name, strings.Join(g.Services, ",")}, usageCells(g.Usage)...)
		fmt.Fprintln(w, strings.Join(row, "\t"))
	}
	return w.Flush()
}

// usageHeader are the columns of --stats, which usageCells fills.
var usageHeader = []string{"CPU", "User", "System", "Memory", "Peak", "Processes", "FDs", "Read", "Written"}

// usageCells returns the --stats cells of a service or group: "-" for a
// figure the daemon could not read.
func usageCells(u client.Usage) []string {
	seconds := func(s float64) string { return fmt.Sprintf("%.2fs", s) }
	optBytes := func(n *uint64) string {
		if n == nil {
			return "-"
		}
		return formatBytes(*n)
	}
	fds := "-"
	if u.OpenFDs != nil {
		fds = fmt.Sprint(*u.OpenFDs)
	}
	return []string{seconds(u.CPUSeconds), seconds(u.CPUUserSeconds), seconds(u.CPUSystemSeconds),
		formatBytes(u.MemoryBytes), optBytes(u.MemoryPeakBytes), fmt.Sprint(u.Processes), fds,
		optBytes(u.IOReadBytes), optBytes(u.IOWriteBytes)}
}

// writeLimitNotes tells, on stderr so the table stays as Pebble prints
// it, which services were OOM-killed and which limits are not enforced.
func writeLimitNotes(e *command.Env, services []*client.ServiceInfo) {
	for _, svc := range services {
		if svc.ExitReason != "" {
			fmt.Fprintf(e.Stderr, "Service %q: last run ended: %s\n", svc.Name, svc.ExitReason)
		}
		for _, n := range svc.LimitsNotEnforced {
			fmt.Fprintf(e.Stderr, "Service %q: limit %s not enforced: %s\n", svc.Name, n.Limit, n.Reason)
		}
	}
}

// exitColumns returns the Restarts, Exit, Exited and Failure cells
// of svc: "-" where there is nothing to show.
func (c *cmdServices) exitColumns(e *command.Env, svc *client.ServiceInfo) []string {
	last, exited, failure := "-", "-", "-"
	switch {
	case svc.LastExitSignal != "":
		last = svc.LastExitSignal
	case svc.LastExitCode != nil:
		last = fmt.Sprintf("code %d", *svc.LastExitCode)
	}
	if !svc.LastExitTime.IsZero() {
		exited = command.FormatTime(svc.LastExitTime, e.Now(), e.Loc, c.absTime)
	}
	if svc.Failure != "" {
		failure = svc.Failure
	}
	return []string{fmt.Sprint(svc.RestartCount), last, exited, failure}
}

// notes returns the Notes column of each service (docs/readiness.md): its
// readiness, status text and one-shot result; nil when no service has any,
// so that the table is Pebble's.
func (c *cmdServices) notes(e *command.Env, services []*client.ServiceInfo) []string {
	var notes []string
	for i, svc := range services {
		var parts []string
		if svc.Readiness != "" {
			parts = append(parts, svc.Readiness)
		}
		if svc.StatusText != "" {
			parts = append(parts, strconv.Quote(svc.StatusText))
		}
		if r := svc.Oneshot; r != nil {
			parts = append(parts, fmt.Sprintf("exited %d %s", r.ExitCode, command.FormatTime(r.Exited, e.Now(), e.Loc, c.absTime)))
		}
		if len(parts) == 0 {
			continue
		}
		if notes == nil {
			notes = make([]string, len(services))
			for j := range notes {
				notes[j] = "-"
			}
		}
		notes[i] = strings.Join(parts, ", ")
	}
	return notes
}

// nextRun is the Scheduled column: the next due time of a scheduled
// service, with the runs skipped so far, or "-".
func (c *cmdServices) nextRun(e *command.Env, svc *client.ServiceInfo) string {
	if svc.Schedule == "" || svc.NextRun.IsZero() {
		return "-"
	}
	next := command.FormatTime(svc.NextRun, e.Now(), e.Loc, c.absTime)
	if svc.SkippedRuns > 0 {
		next += fmt.Sprintf(" (%d skipped)", svc.SkippedRuns)
	}
	return next
}

// formatBytes shows a byte count with an SI unit: 512B, 12.3kB, 4.56MB.
func formatBytes(n uint64) string {
	const units = "kMGTPE"
	if n < 1000 {
		return fmt.Sprintf("%dB", n)
	}
	v := float64(n)
	i := -1
	for v >= 1000 && i < len(units)-1 {
		v /= 1000
		i++
	}
	switch {
	case v < 10:
		return fmt.Sprintf("%.2f%cB", v, units[i])
	case v < 100:
		return fmt.Sprintf("%.1f%cB", v, units[i])
	}
	return fmt.Sprintf("%.0f%cB", v, units[i])
}
