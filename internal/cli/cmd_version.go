package cli

import (
	"context"
	"fmt"

	"github.com/pebble-project/pebble/internal/version"
)

var versionInfo = &cmdInfo{
	name:    "version",
	summary: summaries["version"],
	description: `
The version command shows the version of this client and of the daemon it
talks to.`,
	usage: "[version-OPTIONS]",
	new:   func() command { return &cmdVersion{} },
}

type cmdVersion struct {
	format     string
	clientOnly bool
}

func (c *cmdVersion) flags(fs *flagSet) {
	fs.Bool(&c.clientOnly, 0, "client", "Show only the client's version")
	formatFlag(fs, &c.format)
}

// versionResult is the --format=json|yaml document.
type versionResult struct {
	Client string `json:"client" yaml:"client"`
	Server string `json:"server,omitempty" yaml:"server,omitempty"`
}

func (c *cmdVersion) run(ctx context.Context, e *env, _ []string) error {
	if c.clientOnly {
		if c.format != "text" {
			return writeNonText(e.stdout, c.format, versionResult{Client: version.Version})
		}
		fmt.Fprintln(e.stdout, version.Version)
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
		if err := writeNonText(e.stdout, c.format, versionResult{Client: version.Version, Server: server}); err != nil {
			return err
		}
		return serverErr
	}
	if serverErr != nil {
		server = "-"
	}
	w := newTable(e.stdout)
	fmt.Fprintf(w, "client\t%s\n", version.Version)
	fmt.Fprintf(w, "server\t%s\n", server)
	return w.Flush()
}
