package daemon

import "github.com/pebble-project/pebble/internal/servstate"

// serviceStatsJSON is the resource usage of a service in
// GET /v1/services?stats=true, an extension of ours: Pebble's clients never
// ask for it.
type serviceStatsJSON struct {
	// CPUSeconds is the CPU time used since the daemon started, over all
	// runs; it never decreases.
	CPUSeconds float64 `json:"cpu-seconds"`
	// MemoryBytes is the memory in use now.
	MemoryBytes uint64 `json:"memory-bytes"`
	// Processes is how many processes the service has now.
	Processes int `json:"processes"`
	// The charge-back figures (docs/resource-limits.md): launches and OOM
	// kills since the daemon started, the service's charge group and the
	// totals of that group's started services.
	Starts      int              `json:"starts"`
	OOMKills    uint64           `json:"oom-kills"`
	ChargeGroup string           `json:"charge-group,omitempty"`
	GroupTotals *groupTotalsJSON `json:"group-totals,omitempty"`
}

// groupTotalsJSON is the usage of a charge group's started services added
// up.
type groupTotalsJSON struct {
	Services    []string `json:"services"`
	CPUSeconds  float64  `json:"cpu-seconds"`
	MemoryBytes uint64   `json:"memory-bytes"`
	Processes   int      `json:"processes"`
	Starts      int      `json:"starts"`
	OOMKills    uint64   `json:"oom-kills"`
}

// serviceStats returns the stats of the named services (all when names is
// empty) that have been started, by name.
func (a *api) serviceStats(names []string) map[string]*serviceStatsJSON {
	usage := a.services.Usage(names)
	all := usage
	if len(names) > 0 && inGroups(usage) {
		all = a.services.Usage(nil) // a group's other services too
	}
	groups := make(map[string]*groupTotalsJSON)
	for _, g := range servstate.GroupTotals(all) {
		groups[g.Group] = &groupTotalsJSON{Services: g.Services, CPUSeconds: g.CPU.Seconds(), MemoryBytes: g.Memory,
			Processes: g.Processes, Starts: g.Starts, OOMKills: g.OOMKills}
	}
	out := make(map[string]*serviceStatsJSON, len(usage))
	for _, u := range usage {
		out[u.Name] = &serviceStatsJSON{CPUSeconds: u.CPU.Seconds(), MemoryBytes: u.Memory, Processes: u.Processes,
			Starts: u.Starts, OOMKills: u.OOMKills, ChargeGroup: u.Group, GroupTotals: groups[u.Group]}
	}
	return out
}

// inGroups reports whether a service of usage is in a charge group.
func inGroups(usage []servstate.Usage) bool {
	for _, u := range usage {
		if u.Group != "" {
			return true
		}
	}
	return false
}
