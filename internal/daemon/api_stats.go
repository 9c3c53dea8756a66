package daemon

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
}

// serviceStats returns the stats of the named services (all when names is
// empty) that have been started, by name.
func (a *api) serviceStats(names []string) map[string]*serviceStatsJSON {
	usage := a.services.Usage(names)
	out := make(map[string]*serviceStatsJSON, len(usage))
	for _, u := range usage {
		out[u.Name] = &serviceStatsJSON{CPUSeconds: u.CPU.Seconds(), MemoryBytes: u.Memory, Processes: u.Processes}
	}
	return out
}
