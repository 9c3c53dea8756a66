package checks

import "github.com/pebble-project/pebble/internal/metrics"

// WriteMetrics writes the checks' families of GET /v1/metrics (api.md §8)
// for every check in the plan, in name order: pebble_check_up (left out
// while a check is inactive), pebble_check_success_count and
// pebble_check_failure_count, counted since the daemon started.
func (m *Manager) WriteMetrics(w *metrics.Writer) {
	up := metrics.Family{Name: "pebble_check_up", Kind: metrics.Gauge,
		Help: "Whether the health check is up (1) or not (0)"}
	successes := metrics.Family{Name: "pebble_check_success_count", Kind: metrics.Counter,
		Help: "Number of times the check has succeeded"}
	failures := metrics.Family{Name: "pebble_check_failure_count", Kind: metrics.Counter,
		Help: "Number of times the check has failed"}
	for _, c := range m.Metrics() {
		label := []metrics.Label{{Name: "check", Value: c.Name}}
		if c.Status != StatusInactive {
			isUp := 0.0
			if c.Status == StatusUp {
				isUp = 1
			}
			up.Samples = append(up.Samples, metrics.Sample{Labels: label, Value: isUp})
		}
		successes.Samples = append(successes.Samples, metrics.Sample{Labels: label, Value: float64(c.Successes)})
		failures.Samples = append(failures.Samples, metrics.Sample{Labels: label, Value: float64(c.Failures)})
	}
	w.Write(up)
	w.Write(successes)
	w.Write(failures)
}
