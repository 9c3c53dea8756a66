package ops

import (
	"slices"

	"github.com/pebble-project/pebble/internal/logfwd"
	"github.com/pebble-project/pebble/internal/logs"
	"github.com/pebble-project/pebble/internal/metrics"
)

// LogBuffers returns the output buffers of the named services, in name
// order, for GET /v1/logs (api.md §14): every service in the plan when
// names is empty. Services that never started, or are not in the plan,
// have none.
func (o *Ops) LogBuffers(names []string) []*logs.Buffer {
	if len(names) == 0 {
		for name := range o.plans.Plan().Services {
			names = append(names, name)
		}
	}
	var bufs []*logs.Buffer
	for _, name := range sortedUnique(names) {
		if buf := o.services.Buffer(name); buf != nil {
			bufs = append(bufs, buf)
		}
	}
	return bufs
}

func sortedUnique(names []string) []string {
	out := slices.Clone(names)
	slices.Sort(out)
	return slices.Compact(out)
}

// LogForwarder is what Ops needs of log forwarding (internal/logfwd's
// Manager).
type LogForwarder interface {
	Status() []logfwd.Status
}

// SetForwarder gives Ops the log forwarder whose counters LogTargets
// reports. Call it before the API serves requests.
func (o *Ops) SetForwarder(f LogForwarder) { o.forwarder = f }

// LogTargets reports the counters of the log targets; none without a
// forwarder.
func (o *Ops) LogTargets() []logfwd.Status {
	if o.forwarder == nil {
		return nil
	}
	return o.forwarder.Status()
}

// writeLogTargetMetrics writes the log forwarding counters (our extension
// of GET /v1/metrics), one block per metric, a sample per target.
func (o *Ops) writeLogTargetMetrics(mw *metrics.Writer) {
	targets := o.LogTargets()
	if len(targets) == 0 {
		return
	}
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
	for _, t := range targets {
		label := []metrics.Label{{Name: "target", Value: t.Name}}
		for i, v := range []uint64{t.Sent, t.Dropped, t.LostBytes, t.Failures} {
			families[i].Samples = append(families[i].Samples, metrics.Sample{Labels: label, Value: float64(v)})
		}
	}
	for _, f := range families {
		mw.Write(f)
	}
}
