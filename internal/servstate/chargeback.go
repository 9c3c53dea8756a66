package servstate

import (
	"sort"
	"time"

	"github.com/pebble-project/pebble/internal/metrics"
)

// GroupUsage is the sum of the usage of the services of one charge group
// (the plan's charge-group field), for charge-back per team.
type GroupUsage struct {
	Group string
	// Services are the group's services that were started, sorted.
	Services  []string
	CPU       time.Duration
	Memory    uint64
	Processes int
	Starts    int
	OOMKills  uint64
}

// GroupTotals adds up usage by charge group, sorted by group; services
// without a group are in none.
func GroupTotals(usage []Usage) []GroupUsage {
	byGroup := make(map[string]*GroupUsage)
	var out []GroupUsage
	for _, u := range usage {
		if u.Group == "" {
			continue
		}
		g := byGroup[u.Group]
		if g == nil {
			out = append(out, GroupUsage{Group: u.Group})
			g = &out[len(out)-1]
			byGroup[u.Group] = g
		}
		g.Services = append(g.Services, u.Name)
		g.CPU += u.CPU
		g.Memory += u.Memory
		g.Processes += u.Processes
		g.Starts += u.Starts
		g.OOMKills += u.OOMKills
	}
	for i := range out {
		sort.Strings(out[i].Services)
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

// writeChargeMetrics writes the OOM kills of each service and the
// families of the charge groups: CPU, memory, processes, starts and OOM
// kills summed over the group's services.
func writeChargeMetrics(w *metrics.Writer, usage []Usage) {
	oom := metrics.Family{Name: "pebble_service_oom_kills_total", Kind: metrics.Counter,
		Help: "Processes of the service the kernel's OOM killer killed at its memory limit, since the daemon started"}
	for _, u := range usage {
		oom.Samples = append(oom.Samples, metrics.Sample{Labels: []metrics.Label{{Name: "service", Value: u.Name}}, Value: float64(u.OOMKills)})
	}
	w.Write(oom)
	groups := GroupTotals(usage)
	if len(groups) == 0 {
		return
	}
	families := []struct {
		metrics.Family
		value func(GroupUsage) float64
	}{
		{metrics.Family{Name: "pebble_group_cpu_seconds_total", Kind: metrics.Counter,
			Help: "CPU time (user and system) used by the processes of the group's services since the daemon started, in seconds"},
			func(g GroupUsage) float64 { return g.CPU.Seconds() }},
		{metrics.Family{Name: "pebble_group_memory_bytes", Kind: metrics.Gauge,
			Help: "Memory used by the processes of the group's services now, in bytes"},
			func(g GroupUsage) float64 { return float64(g.Memory) }},
		{metrics.Family{Name: "pebble_group_processes", Kind: metrics.Gauge,
			Help: "Number of processes the group's services have now"},
			func(g GroupUsage) float64 { return float64(g.Processes) }},
		{metrics.Family{Name: "pebble_group_starts_total", Kind: metrics.Counter,
			Help: "Number of times the group's services have started"},
			func(g GroupUsage) float64 { return float64(g.Starts) }},
		{metrics.Family{Name: "pebble_group_oom_kills_total", Kind: metrics.Counter,
			Help: "Processes of the group's services the kernel's OOM killer killed, since the daemon started"},
			func(g GroupUsage) float64 { return float64(g.OOMKills) }},
	}
	for _, f := range families {
		for _, g := range groups {
			f.Samples = append(f.Samples, metrics.Sample{Labels: []metrics.Label{{Name: "group", Value: g.Group}}, Value: f.value(g)})
		}
		w.Write(f.Family)
	}
}
