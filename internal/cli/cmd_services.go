package cli

import (
	"context"
	"fmt"

	"github.com/pebble-project/pebble/client"
)

var servicesInfo = &cmdInfo{
	name:    "services",
	summary: summaries["services"],
	description: `
The services command shows the status of the named services, or of every
service in the plan when none is named.`,
	usage: "[services-OPTIONS] [<service>...]",
	args:  []posArg{{name: "<service>", rest: true, optional: true}},
	new:   func() command { return &cmdServices{} },
}

type cmdServices struct {
	format  string
	absTime bool
}

func (c *cmdServices) flags(fs *flagSet) {
	formatFlag(fs, &c.format)
	absTimeFlag(fs, &c.absTime)
}

func (c *cmdServices) run(ctx context.Context, e *env, names []string) error {
	cli, err := e.Client()
	if err != nil {
		return err
	}
	services, err := cli.Services(ctx, &client.ServicesOptions{Names: names})
	if err != nil {
		return err
	}
	if c.format != "text" {
		byName := make(map[string]*client.ServiceInfo, len(services))
		for _, svc := range services {
			byName[svc.Name] = svc
		}
		return writeNonText(e.stdout, c.format, struct {
			Services map[string]*client.ServiceInfo `json:"services" yaml:"services"`
		}{byName})
	}
	if len(services) == 0 {
		if len(names) == 0 {
			fmt.Fprintln(e.stderr, "Plan has no services.")
		} else {
			fmt.Fprintln(e.stderr, "No matching services.")
		}
		return nil
	}
	w := newTable(e.stdout)
	fmt.Fprintln(w, "Service\tStartup\tCurrent\tSince")
	for _, svc := range services {
		since := "-"
		if !svc.CurrentSince.IsZero() {
			since = fmtTime(svc.CurrentSince, e.now(), e.loc, c.absTime)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", svc.Name, svc.Startup, svc.Current, since)
	}
	return w.Flush()
}
