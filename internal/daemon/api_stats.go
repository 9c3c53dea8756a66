package daemon

import (
	"slices"

	"github.com/pebble-project/pebble/internal/servstate"
)

// serviceStatsJSON is the resource usage of a service in
// GET /v1/services?stats=true, an extension of ours: Pebble's clients never
// ask for it.
type serviceStatsJSON struct {
	usageJSON
	// ChargeGroup is the service's charge group (docs/resource-limits.md)
	// and GroupTotals the totals of that group's started services.
	ChargeGroup string           `json:"charge-group,omitempty"`
	GroupTotals *groupTotalsJSON `json:"group-totals,omitempty"`
}

// groupTotalsJSON is the usage of a charge group's started services added
// up.
type groupTotalsJSON struct {
	Services []string `json:"services"`
	usageJSON
}

// usageJSON are the figures of servstate.Measures; a figure the daemon
// could not read is left out.
type usageJSON struct {
	// CPUSeconds is the CPU time used since the daemon started, over all
	// runs, and its user and system parts; they never decrease.
	CPUSeconds       float64 `json:"cpu-seconds"`
	CPUUserSeconds   float64 `json:"cpu-user-seconds"`
	CPUSystemSeconds float64 `json:"cpu-system-seconds"`
	// MemoryBytes is the memory in use now, MemoryPeakBytes the most in
	// use at once since the daemon started.
	MemoryBytes     uint64  `json:"memory-bytes"`
	MemoryPeakBytes *uint64 `json:"memory-peak-bytes,omitempty"`
	// Processes and OpenFDs are the processes and their open file
	// descriptors now.
	Processes int  `json:"processes"`
	OpenFDs   *int `json:"open-fds,omitempty"`
	// IOReadBytes and IOWriteBytes are the bytes read from and written
	// to storage since the daemon started.
	IOReadBytes  *uint64 `json:"io-read-bytes,omitempty"`
	IOWriteBytes *uint64 `json:"io-write-bytes,omitempty"`
	// Starts are the launches and OOMKills the processes the OOM killer
	// killed, since the daemon started.
	Starts   int    `json:"starts"`
	OOMKills uint64 `json:"oom-kills"`
}

// newUsageJSON returns the JSON form of m.
func newUsageJSON(m servstate.Measures) usageJSON {
	j := usageJSON{CPUSeconds: m.CPU.Seconds(), CPUUserSeconds: m.CPUUser.Seconds(), CPUSystemSeconds: m.CPUSystem.Seconds(),
		MemoryBytes: m.Memory, Processes: m.Processes, Starts: m.Starts, OOMKills: m.OOMKills}
	if m.HasMemoryPeak {
		j.MemoryPeakBytes = &m.MemoryPeak
	}
	if m.HasFDs {
		j.OpenFDs = &m.FDs
	}
	if m.HasIO {
		j.IOReadBytes, j.IOWriteBytes = &m.IORead, &m.IOWrite
	}
	return j
}

// serviceStats returns the stats of the named services (all when names is
// empty) that have been started, by name.
func (a *api) serviceStats(names []string) map[string]*serviceStatsJSON {
	usage := a.services.Usage(names)
	all := usage
	if len(names) > 0 && inGroups(usage) {
		// A group's other services too, and the named ones from the same
		// reading, so that each total is the sum of the figures shown.
		all = a.services.Usage(nil)
		usage = slices.DeleteFunc(slices.Clone(all), func(u servstate.Usage) bool { return !slices.Contains(names, u.Name) })
	}
	groups := make(map[string]*groupTotalsJSON)
	for _, g := range servstate.GroupTotals(all) {
		groups[g.Group] = &groupTotalsJSON{Services: g.Services, usageJSON: newUsageJSON(g.Measures)}
	}
	out := make(map[string]*serviceStatsJSON, len(usage))
	for _, u := range usage {
		out[u.Name] = &serviceStatsJSON{usageJSON: newUsageJSON(u.Measures), ChargeGroup: u.Group, GroupTotals: groups[u.Group]}
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
