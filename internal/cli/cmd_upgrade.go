package cli

import (
	"context"
	"time"

	"github.com/pebble-project/pebble/client"
	"github.com/pebble-project/pebble/internal/cli/command"
)

var upgradeInfo = &command.Info{
	Name:    "upgrade",
	Summary: summaries["upgrade"],
	Description: `
The upgrade command makes the running daemon re-execute itself from a new
binary in place: same PID, services left running, listeners and state handed
over. The new binary is checked first; if it cannot take over, the daemon
carries on as it was and the command fails saying why.`,
	Usage: "[upgrade-OPTIONS]",
	New:   func() command.Command { return &cmdUpgrade{} },
}

// upgradeMaxGone is how long pebble upgrade waits for an answer while the
// daemon is between binaries: requests wait in the socket's backlog until
// the new daemon serves, which a loaded machine can take seconds to do.
const upgradeMaxGone = time.Minute

type cmdUpgrade struct {
	binary string
	noWait bool
}

func (c *cmdUpgrade) Flags(fs *command.FlagSet) {
	fs.String(&c.binary, 0, "binary", "<path>", "", "Absolute path of the new daemon binary (default: the daemon's own executable, read again from disk)")
	command.NoWaitFlag(fs, &c.noWait)
}

func (c *cmdUpgrade) Run(ctx context.Context, e *command.Env, _ []string) error {
	cli, err := e.Client()
	if err != nil {
		return err
	}
	e.MaxGone = max(e.MaxGone, upgradeMaxGone)
	changeID, err := cli.Upgrade(ctx, &client.UpgradeOptions{Binary: c.binary})
	if err != nil {
		return err
	}
	return waitUnless(ctx, e, cli, changeID, c.noWait)
}
