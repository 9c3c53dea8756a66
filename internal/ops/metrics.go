package ops

import (
	"io"

	"github.com/pebble-project/pebble/internal/metrics"
	"github.com/pebble-project/pebble/internal/servstate"
)

// withUsage attaches each started service's resource usage to its info.
func withUsage(infos []servstate.ServiceInfo, m *servstate.Manager) []servstate.ServiceInfo {
	names := make([]string, 0, len(infos))
	for _, info := range infos {
		if info.StartCount > 0 {
			names = append(names, info.Name)
		}
	}
	if len(names) == 0 {
		return infos
	}
	byName := make(map[string]servstate.Usage, len(names))
	for _, u := range m.Usage(names) {
		byName[u.Name] = u
	}
	for i := range infos {
		if u, ok := byName[infos[i].Name]; ok {
			infos[i].Usage = &u
		}
	}
	return infos
}

// WriteMetrics writes GET /v1/metrics (api.md §8): for every service
// started at least once, pebble_service_active and
// pebble_service_start_count, one block per service in name order; then
// the checks' blocks (writeCheckMetrics); then (our extension) the
// services' resource usage, one block per metric.
func (o *Ops) WriteMetrics(w io.Writer) error {
	mw := metrics.NewWriter(w)
	var started []string
	for _, info := range o.services.Services(nil) {
		if info.CurrentSince.IsZero() && info.StartCount == 0 {
			continue
		}
		started = append(started, info.Name)
		label := []metrics.Label{{Name: "service", Value: info.Name}}
		active := 0.0
		if info.Current == servstate.StatusActive {
			active = 1
		}
		mw.Write(metrics.Family{
			Name: "pebble_service_active", Kind: metrics.Gauge,
			Help:    "Whether the service is currently active (1) or not (0)",
			Samples: []metrics.Sample{{Labels: label, Value: active}},
		})
		mw.Write(metrics.Family{
			Name: "pebble_service_start_count", Kind: metrics.Counter,
			Help:    "Number of times the service has started",
			Samples: []metrics.Sample{{Labels: label, Value: float64(info.StartCount)}},
		})
	}
	writeCheckMetrics(mw, o.checks.Metrics())
	if len(started) > 0 {
		writeUsage(mw, o.services.Usage(started))
	}
	o.writeLogTargetMetrics(mw)
	return mw.Flush()
}

// writeUsage writes the per-service resource usage: our extension, so a
// platform can charge each service back.
func writeUsage(mw *metrics.Writer, usage []servstate.Usage) {
	cpu := metrics.Family{Name: "pebble_service_cpu_seconds_total", Kind: metrics.Counter,
		Help: "CPU time (user and system) used by the service's processes since the daemon started, in seconds"}
	mem := metrics.Family{Name: "pebble_service_memory_bytes", Kind: metrics.Gauge,
		Help: "Memory used by the service's processes now, in bytes"}
	procs := metrics.Family{Name: "pebble_service_processes", Kind: metrics.Gauge,
		Help: "Number of processes the service has now"}
	for _, u := range usage {
		label := []metrics.Label{{Name: "service", Value: u.Name}}
		cpu.Samples = append(cpu.Samples, metrics.Sample{Labels: label, Value: u.CPU.Seconds()})
		mem.Samples = append(mem.Samples, metrics.Sample{Labels: label, Value: float64(u.Memory)})
		procs.Samples = append(procs.Samples, metrics.Sample{Labels: label, Value: float64(u.Processes)})
	}
	mw.Write(cpu)
	mw.Write(mem)
	mw.Write(procs)
}
