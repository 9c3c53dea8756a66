package cli

import (
	"context"
	"fmt"

	"github.com/pebble-project/pebble/client"
)

// The waiting service commands: start, stop, restart, replan, autostart.

var startInfo = &cmdInfo{
	name:    "start",
	summary: summaries["start"],
	description: `
The start command starts the named services, and the services they require,
in dependency order.`,
	usage: "[start-OPTIONS] <service>...",
	args:  []posArg{{name: "<service>", rest: true}},
	new:   func() command { return &cmdServiceAction{action: (*client.Client).Start} },
}

var stopInfo = &cmdInfo{
	name:    "stop",
	summary: summaries["stop"],
	description: `
The stop command stops the named services, and the services that require
them, in dependency order.`,
	usage: "[stop-OPTIONS] <service>...",
	args:  []posArg{{name: "<service>", rest: true}},
	new:   func() command { return &cmdServiceAction{action: (*client.Client).Stop} },
}

var restartInfo = &cmdInfo{
	name:    "restart",
	summary: summaries["restart"],
	description: `
The restart command stops the named services, then starts them again together
with the services they require.`,
	usage: "[restart-OPTIONS] <service>...",
	args:  []posArg{{name: "<service>", rest: true}},
	new:   func() command { return &cmdServiceAction{action: (*client.Client).Restart} },
}

var replanInfo = &cmdInfo{
	name:    "replan",
	summary: summaries["replan"],
	description: `
The replan command restarts the services whose configuration changed since
they were started, and starts the services set to start by default that are
not running.`,
	usage: "[replan-OPTIONS]",
	new:   func() command { return &cmdServiceAction{action: (*client.Client).Replan} },
}

var autostartInfo = &cmdInfo{
	name:    "autostart",
	summary: summaries["autostart"],
	description: `
The autostart command starts the services whose startup is "enabled", and the
services they require.`,
	usage: "[autostart-OPTIONS]",
	new:   func() command { return &cmdServiceAction{action: (*client.Client).AutoStart} },
}

// cmdServiceAction asks for a service action, then waits for its change.
type cmdServiceAction struct {
	action func(*client.Client, context.Context, *client.ServiceOptions) (string, error)
	noWait bool
}

func (c *cmdServiceAction) flags(fs *flagSet) {
	noWaitFlag(fs, &c.noWait)
}

func (c *cmdServiceAction) run(ctx context.Context, e *env, names []string) error {
	cli, err := e.Client()
	if err != nil {
		return err
	}
	changeID, err := c.action(cli, ctx, &client.ServiceOptions{Names: names})
	if err != nil {
		return err
	}
	if c.noWait {
		fmt.Fprintln(e.stdout, changeID)
		return nil
	}
	_, err = e.waitChange(ctx, cli, changeID)
	return err
}
