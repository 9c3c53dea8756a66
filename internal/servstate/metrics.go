package servstate

import "github.com/pebble-project/pebble/internal/metrics"

// WriteMetrics writes the services' families of GET /v1/metrics for every
// service started at least once, in name order: Pebble's
// pebble_service_active and pebble_service_start_count (api.md §8), then
// our extension, the resource usage of each service's processes, so a
// platform can charge each service back.
func (m *Manager) WriteMetrics(w *metrics.Writer) {
	active := metrics.Family{Name: "pebble_service_active", Kind: metrics.Gauge,
		Help: "Whether the service is currently active (1) or not (0)"}
	starts := metrics.Family{Name: "pebble_service_start_count", Kind: metrics.Counter,
		Help: "Number of times the service has started"}
	var started []string
	for _, info := range m.Services(nil) {
		if info.CurrentSince.IsZero() && info.StartCount == 0 {
			continue
		}
		started = append(started, info.Name)
		label := []metrics.Label{{Name: "service", Value: info.Name}}
		isActive := 0.0
		if info.Current == StatusActive {
			isActive = 1
		}
		active.Samples = append(active.Samples, metrics.Sample{Labels: label, Value: isActive})
		starts.Samples = append(starts.Samples, metrics.Sample{Labels: label, Value: float64(info.StartCount)})
	}
	w.Write(active)
	w.Write(starts)
	if len(started) == 0 {
		return
	}
	writeUsageMetrics(w, m.Usage(started))
}
