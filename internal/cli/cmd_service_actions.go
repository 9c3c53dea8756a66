package cli

import (
	"context"
	"fmt"

	"github.com/pebble-project/pebble/client"
	"github.com/pebble-project/pebble/internal/cli/command"
)

// The waiting service commands: start, stop, restart, reload, replan,
// autostart.

var startInfo = &command.Info{
	Name:    "start",
	Summary: summaries["start"],
	Description: `
The start command starts the named services, and the services they require,
in dependency order.`,
	Usage: "[start-OPTIONS] <service>...",
	Args:  []command.PosArg{{Name: "<service>", Rest: true}},
	New:   func() command.Command { return &cmdServiceAction{action: (*client.Client).Start} },
}

var stopInfo = &command.Info{
	Name:    "stop",
	Summary: summaries["stop"],
	Description: `
The stop command stops the named services, and the services that require
them, in dependency order.`,
	Usage: "[stop-OPTIONS] <service>...",
	Args:  []command.PosArg{{Name: "<service>", Rest: true}},
	New:   func() command.Command { return &cmdServiceAction{action: (*client.Client).Stop} },
}

var restartInfo = &command.Info{
	Name:    "restart",
	Summary: summaries["restart"],
	Description: `
The restart command stops the named services, then starts them again together
with the services they require.`,
	Usage: "[restart-OPTIONS] <service>...",
	Args:  []command.PosArg{{Name: "<service>", Rest: true}},
	New:   func() command.Command { return &cmdServiceAction{action: (*client.Client).Restart} },
}

var reloadInfo = &command.Info{
	Name:    "reload",
	Summary: summaries["reload"],
	Description: `
The reload command asks the named running services to reload their
configuration without a restart: each gets its reload-signal, or its
reload-command runs. A service that is not running or has neither is an
error, and nothing is reloaded.`,
	Usage: "[reload-OPTIONS] <service>...",
	Args:  []command.PosArg{{Name: "<service>", Rest: true}},
	New:   func() command.Command { return &cmdServiceAction{action: (*client.Client).Reload} },
}

var replanInfo = &command.Info{
	Name:    "replan",
	Summary: summaries["replan"],
	Description: `
The replan command restarts the services whose configuration changed since
they were started, and starts the services set to start by default that are
not running.`,
	Usage: "[replan-OPTIONS]",
	New:   func() command.Command { return &cmdServiceAction{action: (*client.Client).Replan} },
}

var autostartInfo = &command.Info{
	Name:    "autostart",
	Summary: summaries["autostart"],
	Description: `
The autostart command starts the services whose startup is "enabled", and the
services they require.`,
	Usage: "[autostart-OPTIONS]",
	New:   func() command.Command { return &cmdServiceAction{action: (*client.Client).AutoStart} },
}

// cmdServiceAction asks for a service action, then waits for its change.
type cmdServiceAction struct {
	action func(*client.Client, context.Context, *client.ServiceOptions) (string, error)
	noWait bool
}

func (c *cmdServiceAction) Flags(fs *command.FlagSet) {
	command.NoWaitFlag(fs, &c.noWait)
}

func (c *cmdServiceAction) Run(ctx context.Context, e *command.Env, names []string) error {
	cli, err := e.Client()
	if err != nil {
		return err
	}
	changeID, err := c.action(cli, ctx, &client.ServiceOptions{Names: names})
	if err != nil {
		return err
	}
	return waitUnless(ctx, e, cli, changeID, c.noWait)
}

// waitUnless waits for the change, or with noWait (--no-wait) prints its
// ID and returns at once.
func waitUnless(ctx context.Context, e *command.Env, cli *client.Client, changeID string, noWait bool) error {
	if noWait {
		fmt.Fprintln(e.Stdout, changeID)
		return nil
	}
	_, err := e.WaitChange(ctx, cli, changeID)
	return err
}
