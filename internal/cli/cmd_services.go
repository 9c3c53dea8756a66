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
	stats   bool
}

func (c *cmdServices) flags(fs *flagSet) {
	formatFlag(fs, &c.format)
	absTimeFlag(fs, &c.absTime)
	fs.Bool(&c.stats, 0, "stats", "Show the CPU time, memory and process count of each service's processes")
}

func (c *cmdServices) run(ctx context.Context, e *env, names []string) error {
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
	if c.stats {
		fmt.Fprintln(w, "Service\tStartup\tCurrent\tSince\tCPU\tMemory\tProcesses")
	} else {
		fmt.Fprintln(w, "Service\tStartup\tCurrent\tSince")
	}
	for _, svc := range services {
		since := "-"
		if !svc.CurrentSince.IsZero() {
			since = fmtTime(svc.CurrentSince, e.now(), e.loc, c.absTime)
		}
		if !c.stats {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", svc.Name, svc.Startup, svc.Current, since)
			continue
		}
		cpu, mem, procs := "-", "-", "-"
		if st := svc.Stats; st != nil {
			cpu = fmt.Sprintf("%.2fs", st.CPUSeconds)
			mem = formatBytes(st.MemoryBytes)
			procs = fmt.Sprint(st.Processes)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", svc.Name, svc.Startup, svc.Current, since, cpu, mem, procs)
	}
	return w.Flush()
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
