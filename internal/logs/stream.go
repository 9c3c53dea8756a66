package logs

import "context"

// StreamOptions select the entries Stream delivers (api.md §14).
type StreamOptions struct {
	// N is how many of the latest buffered entries come first, across the
	// buffers: -1 (or less) means all, 0 none.
	N int
	// Follow keeps delivering new entries until ctx ends; without it only
	// what was buffered when the call began is delivered.
	Follow bool
}

// Sink receives the entries of Stream.
type Sink interface {
	// Entry receives one entry; an error ends Stream with that error.
	Entry(e Entry) error
	// Idle is called when every entry available was delivered, before
	// Stream waits for more output (or returns); a sink that buffers
	// flushes here.
	Idle() error
}

// Stream reads bufs and delivers their entries in time order to sink, the
// latest opts.N of the buffered ones first (api.md §14). Following, it
// returns when ctx ends, with a nil error.
func Stream(ctx context.Context, bufs []*Buffer, opts StreamOptions, sink Sink) error {
	n := max(opts.N, -1)
	wake := make(chan struct{}, 1)
	merger := NewMerger()
	merger.Markers = true
	var its []*Iterator
	for _, buf := range bufs {
		it := buf.NewIterator(n)
		// Only what is buffered now: later output is for following.
		it.StopHere()
		if opts.Follow {
			defer buf.Watch(wake)()
			defer it.Follow()()
		}
		its = append(its, it)
		merger.Add(it)
	}
	if err := deliverBacklog(merger, n, sink); err != nil {
		return err
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

// deliverBacklog delivers what merger holds: all of it when n is -1, else
// its latest n entries.
func deliverBacklog(merger *Merger, n int, sink Sink) error {
	if n < 0 {
		for {
			e, ok := merger.Next()
			if !ok {
				return nil
			}
			if err := sink.Entry(e); err != nil {
				return err
			}
		}
	}
	if n == 0 {
		return nil
	}
	ring := make([]Entry, 0, min(n, 1024))
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
	return nil
}
