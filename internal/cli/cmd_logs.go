package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strconv"

	"github.com/pebble-project/pebble/client"
	"github.com/pebble-project/pebble/internal/cli/command"
)

var logsInfo = &command.Info{
	Name:    "logs",
	Summary: summaries["logs"],
	Description: `
The logs command fetches buffered logs from the given services (or all services
if none are specified) and displays them in chronological order.`,
	Usage: "[logs-OPTIONS] [<service>...]",
	Args:  []command.PosArg{{Name: "<service>", Rest: true, Optional: true}},
	New:   func() command.Command { return &cmdLogs{} },
}

type cmdLogs struct {
	follow bool
	n      string
	format string
}

func (c *cmdLogs) Flags(fs *command.FlagSet) {
	fs.Bool(&c.follow, 'f', "follow", "Follow (tail) logs for given services until Ctrl-C is pressed. If no services are specified, show logs from all services running when the command starts.")
	fs.String(&c.n, 'n', "", "", "", "Number of logs to show (before following); defaults to 30. If 'all', show all buffered logs.")
	fs.String(&c.format, 0, "format", "", "text", "Output format", "text", "json")
}

// logTimeFormat is the time of a text log line (cli.md §3).
const logTimeFormat = "2006-01-02T15:04:05.000Z07:00"

func (c *cmdLogs) Run(ctx context.Context, e *command.Env, services []string) error {
	n := 30
	switch c.n {
	case "":
	case "all":
		n = -1
	default:
		v, err := strconv.Atoi(c.n)
		if err != nil || v < 0 {
			return fmt.Errorf(`expected n to be a non-negative integer or "all", not %q`, c.n)
		}
		n = v
	}
	var write func(entry client.LogEntry) error
	switch c.format {
	case "json":
		enc := json.NewEncoder(e.Stdout)
		enc.SetEscapeHTML(false)
		write = func(entry client.LogEntry) error { return enc.Encode(&entry) }
	default:
		write = func(entry client.LogEntry) error {
			_, err := fmt.Fprintf(e.Stdout, "%s [%s] %s\n", entry.Time.Format(logTimeFormat), entry.Service, entry.Message)
			return err
		}
	}
	cli, err := e.Client()
	if err != nil {
		return err
	}
	opts := &client.LogsOptions{WriteLog: write, Services: services, N: n}
	if !c.follow {
		if n == 0 {
			return nil // the API's n=0: nothing buffered is shown
		}
		return cli.Logs(ctx, opts)
	}
	// Ctrl-C ends following; the command then succeeds.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	return cli.FollowLogs(ctx, opts)
}
