package daemon

import "github.com/pebble-project/pebble/internal/servstate"

// serviceStatsJSON is the resource usage of a service in GET /v1/services,
// an extension of ours: Pebble's clients ignore the field.
type serviceStatsJSON struct {
	// CPUSeconds is the CPU time used since the daemon started, over all
	// runs; it never decreases.
	CPUSeconds float64 `json:"cpu-seconds"`
	// MemoryBytes is the memory in use now.
	MemoryBytes uint64 `json:"memory-bytes"`
	// Processes is how many processes the service has now.
	Processes int `json:"processes"`
}

func statsToJSON(u *servstate.Usage) *serviceStatsJSON {
	if u == nil {
		return nil
	}
	return &serviceStatsJSON{CPUSeconds: u.CPU.Seconds(), MemoryBytes: u.Memory, Processes: u.Processes}
}
