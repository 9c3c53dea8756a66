package logs

import (
	"context"
	"time"
)

// StreamOptions select the entries Stream delivers (api.md §14).
type StreamOptions struct {
	// N is how many of the latest buffered entries come first, across the
	// buffers: -1 (or less) means all, 0 none.
	N int
	// Follow keeps delivering new entries until ctx ends; without it only
	// what was buffered when the call began is delivered.
	Follow bool
}

// Sink receives the output of Stream: entries as JSON lines (AppendJSON).
type Sink interface {
	// Write receives whole lines; an error ends Stream with that error.
	// p is only valid during the call.
	Write(p []byte) error
	// Flush is called when every entry available was delivered, before
	// Stream waits for more output (or returns).
	Flush() error
}

// streamChunk is how much output Stream gathers before a Write.
const streamChunk = 128 << 10

// Stream reads bufs and delivers their entries in time order to sink as
// JSON lines, the latest opts.N of the buffered ones first (api.md §14).
// Following, the order holds for the entries still to come too (Merger's
// Follow), and it returns when ctx ends, with a nil error.
func Stream(ctx context.Context, bufs []*Buffer, opts StreamOptions, sink Sink) error {
	n := max(opts.N, -1)
	wake := make(chan struct{}, 1)
	merger := NewMerger()
	merger.Markers, merger.Follow = true, opts.Follow
	var its []*Iterator
	for _, buf := range bufs {
		it := buf.NewIterator(n)
		if opts.Follow {
			defer buf.Watch(wake)()
			defer it.Follow()()
		}
		// Only what is buffered now: later output is for following.
		it.StopHere()
		its = append(its, it)
		merger.Add(it)
	}
	merger.Poll()
	out, err := deliverBacklog(merger, n, sink)
	if err != nil {
		return err
	}
	if err := sink.Flush(); err != nil || !opts.Follow {
		return err
	}

	for _, it := range its {
		it.Unstop()
	}
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	for {
		merger.Poll()
		for ok := true; ok; {
			if out, ok = merger.AppendJSON(out); len(out) >= streamChunk || !ok && len(out) > 0 {
				if err := sink.Write(out); err != nil {
					return err
				}
				out = out[:0]
				if ctx.Err() != nil {
					return nil
				}
			}
		}
		if err := sink.Flush(); err != nil {
			return err
		}
		if d := merger.Wait(); d > 0 {
			retry.Reset(d)
		}
		select {
		case <-wake:
		case <-retry.C:
		case <-ctx.Done():
			return nil
		}
	}
}

// deliverBacklog delivers what merger holds: all of it when n is -1, else
// its latest n entries. It returns its scratch for the caller's reuse.
func deliverBacklog(merger *Merger, n int, sink Sink) ([]byte, error) {
	var out []byte
	if n < 0 {
		for ok := true; ok; {
			if out, ok = merger.AppendJSON(out); len(out) >= streamChunk || !ok && len(out) > 0 {
				if err := sink.Write(out); err != nil {
					return nil, err
				}
				out = out[:0]
			}
		}
		return out, nil
	}
	if n == 0 {
		return out, nil
	}
	// The latest n entries, each as its JSON line(s).
	ring := make([][]byte, 0, min(n, 1024))
	first := 0
	for {
		var line []byte
		if len(ring) == n {
			line = ring[first][:0]
		}
		line, ok := merger.AppendJSON(line)
		if !ok {
			break
		}
		if len(ring) == n {
			ring[first] = line
			first = (first + 1) % n
			continue
		}
		ring = append(ring, line)
	}
	for i := range ring {
		out = append(out, ring[(first+i)%len(ring)]...)
		if len(out) >= streamChunk || i == len(ring)-1 {
			if err := sink.Write(out); err != nil {
				return nil, err
			}
			out = out[:0]
		}
	}
	return out, nil
}
