package cli

import (
	"context"
	"fmt"

	"github.com/pebble-project/pebble/internal/cli/command"
	"github.com/pebble-project/pebble/internal/version"
)

var versionInfo = &command.Info{
	Name:    "version",
	Summary: summaries["version"],
	Description: `
The version command shows the version of this client and of the daemon it
talks to.`,
	Usage: "[version-OPTIONS]",
	New:   func() command.Command { return &cmdVersion{} },
}

type cmdVersion struct {
	format     string
	clientOnly bool
}

func (c *cmdVersion) Flags(fs *command.FlagSet) {
	fs.Bool(&c.clientOnly, 0, "client", "Show only the client's version")
	command.FormatFlag(fs, &c.format)
}

// versionResult is the --format=json|yaml document.
type versionResult struct {
	Client string `json:"client" yaml:"client"`
	Server string `json:"server,omitempty" yaml:"server,omitempty"`
}

func (c *cmdVersion) Run(ctx context.Context, e *command.Env, _ []string) error {
	if c.clientOnly {
		if c.format != "text" {
			return command.WriteNonText(e.Stdout, c.format, versionResult{Client: version.Version})
		}
		fmt.Fprintln(e.Stdout, version.Version)
		return nil
	}
	cli, err := e.Client()
	if err != nil {
		return err
	}
	server := ""
	info, serverErr := cli.SysInfo(ctx)
	if serverErr == nil {
		server = info.Version
	}
	if c.format != "text" {
		// An unreachable daemon is an error in these formats, after the
		// document with the client version.
		if err := command.WriteNonText(e.Stdout, c.format, versionResult{Client: version.Version, Server: server}); err != nil {
			return err
		}
		return serverErr
	}
	if serverErr != nil {
		server = "-"
	}
	w := command.NewTable(e.Stdout)
	fmt.Fprintf(w, "client\t%s\n", version.Version)
	fmt.Fprintf(w, "server\t%s\n", server)
	return w.Flush()
}
