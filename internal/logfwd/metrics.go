package logfwd

import "github.com/pebble-project/pebble/internal/metrics"

// WriteMetrics writes the log forwarding counters (our extension of
// GET /v1/metrics): a family per counter, a sample per target in name
// order; nothing while there are no targets.
func (m *Manager) WriteMetrics(w *metrics.Writer) {
	families := []metrics.Family{
		{Name: "pebble_log_target_sent_total", Kind: metrics.Counter,
			Help: "Log entries the log target's receiver accepted"},
		{Name: "pebble_log_target_dropped_total", Kind: metrics.Counter,
			Help: "Log entries given up on: refused by the receiver, or unsent when the target was removed or the daemon stopped"},
		{Name: "pebble_log_target_lost_bytes_total", Kind: metrics.Counter,
			Help: "Bytes of service output overwritten in the service buffers before the log target could send them"},
		{Name: "pebble_log_target_failures_total", Kind: metrics.Counter,
			Help: "Failed attempts to send logs to the log target"},
	}
	for _, t := range m.Status() {
		label := []metrics.Label{{Name: "target", Value: t.Name}}
		for i, v := range []uint64{t.Sent, t.Dropped, t.LostBytes, t.Failures} {
			families[i].Samples = append(families[i].Samples, metrics.Sample{Labels: label, Value: float64(v)})
		}
	}
	for _, f := range families {
		w.Write(f)
	}
}
