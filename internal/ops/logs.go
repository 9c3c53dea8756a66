package ops

import (
	"context"
	"sort"

	"github.com/pebble-project/pebble/internal/logs"
)

// LogsOptions select the entries Logs returns (api.md §14).
type LogsOptions struct {
	// Services to read; empty means every service in the plan. Services
	// that never started, or are not in the plan, contribute nothing.
	Services []string
	// N is how many of the latest buffered entries come first, across the
	// selected services: -1 means all, 0 none.
	N int
	// Follow keeps streaming new entries until ctx ends; without it only
	// what was buffered when the call began is returned.
	Follow bool
}

// LogSink receives the entries of Logs.
type LogSink interface {
	// Entry receives one entry; an error ends Logs with that error.
	Entry(e logs.Entry) error
	// Idle is called when every entry available was delivered, before
	// Logs waits for more output (or returns); a sink that buffers flushes
	// here.
	Idle() error
}

// Logs reads the services' output buffers and delivers entries in time
// order to sink (api.md §14). Following, it returns when ctx ends, with a
// nil error.
func (o *Ops) Logs(ctx context.Context, opts LogsOptions, sink LogSink) error {
	names := opts.Services
	if len(names) == 0 {
		for name := range o.plans.Plan().Services {
			names = append(names, name)
		}
	}
	names = sortedUnique(names)
	n := opts.N
	if n < -1 {
		n = -1
	}
	wake := make(chan struct{}, 1)
	merger := logs.NewMerger()
	merger.Markers = true
	var its []*logs.Iterator
	for _, name := range names {
		buf := o.services.Buffer(name)
		if buf == nil {
			continue
		}
		it := buf.NewIterator(n)
		// Only what is buffered now: later output is for following.
		it.StopHere()
		if opts.Follow {
			defer buf.Watch(wake)()
		}
		its = append(its, it)
		merger.Add(it)
	}

	// The backlog: all of it, or the latest n entries.
	if n < 0 {
		for {
			e, ok := merger.Next()
			if !ok {
				break
			}
			if err := sink.Entry(e); err != nil {
				return err
			}
		}
	} else if n > 0 {
		ring := make([]logs.Entry, 0, min(n, 1024))
		first := 0
		for {
			e, ok := merger.Next()
			if !ok {
				break
			}
			if len(ring) == n {
				ring[first] = e
				first = (first + 1) % n
				continue
			}
			ring = append(ring, e)
		}
		for i := range ring {
			if err := sink.Entry(ring[(first+i)%len(ring)]); err != nil {
				return err
			}
		}
	}
	if err := sink.Idle(); err != nil || !opts.Follow {
		return err
	}

	for _, it := range its {
		it.Unstop()
	}
	for {
		for {
			e, ok := merger.Next()
			if !ok {
				break
			}
			if err := sink.Entry(e); err != nil {
				return err
			}
			if ctx.Err() != nil {
				return nil
			}
		}
		if err := sink.Idle(); err != nil {
			return err
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return nil
		}
	}
}

func sortedUnique(names []string) []string {
	out := append([]string(nil), names...)
	sort.Strings(out)
	j := 0
	for i, s := range out {
		if i == 0 || s != out[j-1] {
			out[j] = s
			j++
		}
	}
	return out[:j]
}

// LogForwarder is what Ops needs of log forwarding (internal/logfwd's
// Manager).
type LogForwarder interface {
	Status() []logs.ForwardStatus
}

// SetForwarder gives Ops the log forwarder whose counters LogTargets
// reports. Call it before the API serves requests.
func (o *Ops) SetForwarder(f LogForwarder) { o.forwarder = f }

// LogTargets reports the counters of the log targets; none without a
// forwarder.
func (o *Ops) LogTargets() []logs.ForwardStatus {
	if o.forwarder == nil {
		return nil
	}
	return o.forwarder.Status()
}
