package servstate

import (
	"sort"

	"github.com/pebble-project/pebble/internal/metrics"
)

// GroupUsage is the sum of the usage of the services of one charge group
// (the plan's charge-group field), for charge-back per team. A figure
// that is not known for every service of the group is not known for the
// group (its Has field is false), so that each total is exactly the sum
// of its services' figures. MemoryPeak is the sum of the services' peaks,
// which may have come at different times.
type GroupUsage struct {
	Group string
	// Services are the group's services that were started, sorted.
	Services []string
	Measures
}

// GroupTotals adds up usage by charge group, sorted by group; services
// without a group are in none.
func GroupTotals(usage []Usage) []GroupUsage {
	byGroup := make(map[string]*GroupUsage)
	for _, u := range usage {
		if u.Group == "" {
			continue
		}
		g := byGroup[u.Group]
		if g == nil {
			g = &GroupUsage{Group: u.Group, Measures: Measures{HasMemoryPeak: true, HasFDs: true, HasIO: true}}
			byGroup[u.Group] = g
		}
		g.Services = append(g.Services, u.Name)
		g.add(u.Measures)
	}
	out := make([]GroupUsage, 0, len(byGroup))
	for _, g := range byGroup {
		sort.Strings(g.Services)
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Group < out[j].Group })
	return out
}

// addCharges fills the charge-back fields of usage that Usage has not
// (it reads Starts with the record): the charge group of each service in
// the current plan and its OOM kills.
func (m *Manager) addCharges(usage []Usage) {
	m.mu.Lock()
	p := m.plan
	m.mu.Unlock()
	for i := range usage {
		u := &usage[i]
		if svc := p.Services[u.Name]; svc != nil {
			u.Group = svc.ChargeGroup
		}
		u.OOMKills = m.oomKills(u.Name)
	}
}

// usageMeasure is a figure of Usage written as one family with a sample
// per service (pebble_service_<suffix>) and, summed in GroupUsage, one
// with a sample per group (pebble_group_<suffix>). A service or group
// whose figure is not known has no sample.
type usageMeasure struct {
	suffix                 string
	kind                   metrics.Kind
	serviceHelp, groupHelp string
	value                  func(Measures) (float64, bool)
	// groupOnly is set for a figure whose service family is Pebble's.
	groupOnly bool
}

// usageMeasures are the usage families, in the order they are written.
var usageMeasures = []usageMeasure{
	{"cpu_seconds_total", metrics.Counter,
		"CPU time (user and system) used by the service's processes since the daemon started, in seconds",
		"CPU time (user and system) used by the processes of the group's services since the daemon started, in seconds",
		func(m Measures) (float64, bool) { return m.CPU.Seconds(), true }, false},
	{"cpu_user_seconds_total", metrics.Counter,
		"User CPU time (running their own code) of the service's processes since the daemon started, in seconds",
		"User CPU time (running their own code) of the processes of the group's services since the daemon started, in seconds",
		func(m Measures) (float64, bool) { return m.CPUUser.Seconds(), true }, false},
	{"cpu_system_seconds_total", metrics.Counter,
		"System CPU time (the kernel working for them) of the service's processes since the daemon started, in seconds",
		"System CPU time (the kernel working for them) of the processes of the group's services since the daemon started, in seconds",
		func(m Measures) (float64, bool) { return m.CPUSystem.Seconds(), true }, false},
	{"memory_bytes", metrics.Gauge,
		"Memory used by the service's processes now, in bytes",
		"Memory used by the processes of the group's services now, in bytes",
		func(m Measures) (float64, bool) { return float64(m.Memory), true }, false},
	{"memory_peak_bytes", metrics.Gauge,
		"Most memory the service's processes used at once since the daemon started, in bytes",
		"Sum of the peak memory of the group's services (each since the daemon started), in bytes",
		func(m Measures) (float64, bool) { return float64(m.MemoryPeak), m.HasMemoryPeak }, false},
	{"processes", metrics.Gauge,
		"Number of processes the service has now",
		"Number of processes the group's services have now",
		func(m Measures) (float64, bool) { return float64(m.Processes), true }, false},
	{"open_fds", metrics.Gauge,
		"File descriptors the service's processes have open now",
		"File descriptors the processes of the group's services have open now",
		func(m Measures) (float64, bool) { return float64(m.FDs), m.HasFDs }, false},
	{"io_read_bytes_total", metrics.Counter,
		"Bytes the service's processes read from storage since the daemon started",
		"Bytes the processes of the group's services read from storage since the daemon started",
		func(m Measures) (float64, bool) { return float64(m.IORead), m.HasIO }, false},
	{"io_write_bytes_total", metrics.Counter,
		"Bytes the service's processes wrote to storage since the daemon started",
		"Bytes the processes of the group's services wrote to storage since the daemon started",
		func(m Measures) (float64, bool) { return float64(m.IOWrite), m.HasIO }, false},
	{"starts_total", metrics.Counter,
		"", // Pebble's pebble_service_start_count
		"Number of times the group's services have started",
		func(m Measures) (float64, bool) { return float64(m.Starts), true }, true},
	{"oom_kills_total", metrics.Counter,
		"Processes of the service the kernel's OOM killer killed at its memory limit, since the daemon started",
		"Processes of the group's services the kernel's OOM killer killed, since the daemon started",
		func(m Measures) (float64, bool) { return float64(m.OOMKills), true }, false},
}

// writeUsageMetrics writes the usage families of the services, then
// those of their charge groups.
func writeUsageMetrics(w *metrics.Writer, usage []Usage) {
	for _, m := range usageMeasures {
		if m.groupOnly {
			continue
		}
		f := metrics.Family{Name: "pebble_service_" + m.suffix, Kind: m.kind, Help: m.serviceHelp}
		for _, u := range usage {
			if v, ok := m.value(u.Measures); ok {
				f.Samples = append(f.Samples, metrics.Sample{Labels: []metrics.Label{{Name: "service", Value: u.Name}}, Value: v})
			}
		}
		w.Write(f)
	}
	groups := GroupTotals(usage)
	for _, m := range usageMeasures {
		f := metrics.Family{Name: "pebble_group_" + m.suffix, Kind: m.kind, Help: m.groupHelp}
		for _, g := range groups {
			if v, ok := m.value(g.Measures); ok {
				f.Samples = append(f.Samples, metrics.Sample{Labels: []metrics.Label{{Name: "group", Value: g.Group}}, Value: v})
			}
		}
		w.Write(f)
	}
}
