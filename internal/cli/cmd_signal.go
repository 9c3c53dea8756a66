package cli

import (
	"context"
	"errors"
	"strings"

	"github.com/pebble-project/pebble/client"
	"github.com/pebble-project/pebble/internal/cli/command"
)

var signalInfo = &command.Info{
	Name:    "signal",
	Summary: summaries["signal"],
	Description: `
The signal command sends a signal to the main process of each named service.
Give the signal name in uppercase, with or without the SIG prefix, as in:
pebble signal HUP mysql nginx`,
	Usage: "<SIGNAL> <service>...",
	Args:  []command.PosArg{{Name: "<SIGNAL>"}, {Name: "<service>", Rest: true, Optional: true}},
	New:   func() command.Command { return &cmdSignal{} },
}

type cmdSignal struct{}

func (c *cmdSignal) Flags(*command.FlagSet) {}

func (c *cmdSignal) Run(ctx context.Context, e *command.Env, args []string) error {
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
