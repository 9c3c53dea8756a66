package cli

import (
	"context"
	"errors"
	"strings"

	"github.com/pebble-project/pebble/client"
)

var signalInfo = &cmdInfo{
	name:    "signal",
	summary: summaries["signal"],
	description: `
The signal command sends a signal to the main process of each named service.
Give the signal name in uppercase, with or without the SIG prefix, as in:
pebble signal HUP mysql nginx`,
	usage: "<SIGNAL> <service>...",
	args:  []posArg{{name: "<SIGNAL>"}, {name: "<service>", rest: true, optional: true}},
	new:   func() command { return &cmdSignal{} },
}

type cmdSignal struct{}

func (c *cmdSignal) flags(*flagSet) {}

func (c *cmdSignal) run(ctx context.Context, e *env, args []string) error {
	sig, services := args[0], args[1:]
	if strings.ToUpper(sig) != sig {
		return errors.New("signal name must be uppercase, for example HUP")
	}
	if !strings.HasPrefix(sig, "SIG") {
		sig = "SIG" + sig
	}
	cli, err := e.Client()
	if err != nil {
		return err
	}
	return cli.SendSignal(ctx, &client.SendSignalOptions{Signal: sig, Services: services})
}
