package logfwd

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/pebble-project/pebble/internal/logs"
	"github.com/pebble-project/pebble/internal/plan"
)

// item is one entry waiting to be sent, with the labels of its service at
// the time it was read.
type item struct {
	logs.Entry
	labels *labelSet
}

type opKind int

const (
	opConfig opKind = iota
	opAdd
	opRemove
	opLabels
	opStop
)

// op is an update from the Manager, applied by the target's goroutine.
type op struct {
	kind     opKind
	service  string
	it       *logs.Iterator
	labels   *labelSet
	typ      plan.LogTargetType
	location string
	deadline time.Time
}

// source is one service the target reads.
type source struct {
	it      *logs.Iterator
	unwatch func()
	labels  *labelSet
	lost    uint64 // it.Lost() already counted
}

// target forwards to one log target. Its goroutine (run) owns the fields
// marked "goroutine"; the Manager talks to it through push.
type target struct {
	m      *Manager
	name   string
	ctx    context.Context
	cancel context.CancelFunc

	data chan struct{} // cap 1: a watched buffer was written
	ctl  chan struct{} // cap 1: ops are pending
	done chan struct{}

	// selected is the Manager's view of what the target reads; m.mu.
	selected map[string]selection

	mu    sync.Mutex
	ops   []op
	stats Status

	// goroutine
	typ      plan.LogTargetType
	location string
	sender   sender
	sources  map[string]*source
	merger   *logs.Merger
	batch    []item
	first    time.Time // when the oldest entry of batch was read
	backoff  time.Duration
	retryAt  time.Time // no send before this, after a failure
	lostLog  time.Time // when lost output was last logged
	lostNote uint64    // lost bytes not yet logged
}

func newTarget(m *Manager, name string) *target {
	t := &target{
		m:        m,
		name:     name,
		data:     make(chan struct{}, 1),
		ctl:      make(chan struct{}, 1),
		done:     make(chan struct{}),
		selected: make(map[string]selection),
		sources:  make(map[string]*source),
		merger:   logs.NewMerger(),
	}
	t.ctx, t.cancel = context.WithCancel(m.ctx)
	t.stats.Name = name
	return t
}

func (t *target) push(o op) {
	t.mu.Lock()
	t.ops = append(t.ops, o)
	t.mu.Unlock()
	select {
	case t.ctl <- struct{}{}:
	default:
	}
}

// selection is a service a target reads, as the Manager sees it.
type selection struct {
	labels *labelSet
	it     *logs.Iterator // the iterator handed to the goroutine
}

// deselect makes the target stop reading service. Nothing the service
// writes after this call is forwarded, even if the goroutine is reading
// the iterator right now: the iterator stops here. m.mu must be held.
func (t *target) deselect(service string) {
	if sel, ok := t.selected[service]; ok {
		sel.it.StopHere()
		delete(t.selected, service)
		t.push(op{kind: opRemove, service: service})
	}
}

func (t *target) configure(typ plan.LogTargetType, location string) {
	t.push(op{kind: opConfig, typ: typ, location: location})
}

// stop asks the goroutine to flush what it can before deadline and end.
func (t *target) stop(deadline time.Time) {
	t.push(op{kind: opStop, deadline: deadline})
}

func (t *target) status() Status {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.stats
	s.Services = append([]string(nil), s.Services...)
	return s
}

func (t *target) update(f func(s *Status)) {
	t.mu.Lock()
	f(&t.stats)
	t.mu.Unlock()
}

// run is the target's goroutine.
func (t *target) run() {
	defer close(t.done)
	defer t.cancel()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer func() {
		for name, s := range t.sources {
			t.removeSource(name, s)
		}
		if t.sender != nil {
			t.sender.close()
		}
	}()
	for {
		if deadline, stopping := t.applyOps(); stopping {
			t.finalFlush(deadline)
			return
		}
		now := time.Now()
		backingOff := now.Before(t.retryAt)
		if !backingOff {
			t.fill()
			if len(t.batch) > 0 && (len(t.batch) >= t.m.opts.MaxBatch || now.Sub(t.first) >= t.m.opts.FlushDelay) {
				t.flush()
				continue
			}
		}
		// Wait for data (unless backing off: then output waits in the
		// buffers), an update, or the next deadline.
		var wake time.Time
		data := t.data
		if backingOff {
			wake, data = t.retryAt, nil
		} else if len(t.batch) > 0 {
			wake = t.first.Add(t.m.opts.FlushDelay)
		}
		var fire <-chan time.Time
		if !wake.IsZero() {
			timer.Reset(time.Until(wake))
			fire = timer.C
		}
		select {
		case <-data:
		case <-t.ctl:
		case <-fire:
		case <-t.ctx.Done():
			// Only Close cancels this context, after a stop op.
		}
		timer.Stop()
	}
}

// applyOps applies the pending updates; it reports whether the target must
// stop, and by when.
func (t *target) applyOps() (time.Time, bool) {
	t.mu.Lock()
	ops := t.ops
	t.ops = nil
	t.mu.Unlock()
	var deadline time.Time
	stopping := false
	for _, o := range ops {
		switch o.kind {
		case opConfig:
			if o.typ != t.typ || o.location != t.location {
				if t.sender != nil {
					t.sender.close()
				}
				t.typ, t.location = o.typ, o.location
				t.sender = newSender(t.m.opts, o.typ, o.location)
				t.backoff, t.retryAt = 0, time.Time{}
				t.update(func(s *Status) { s.Type, s.Location = string(o.typ), o.location })
			}
		case opAdd:
			if old := t.sources[o.service]; old != nil {
				t.removeSource(o.service, old)
			}
			s := &source{it: o.it, labels: o.labels, unwatch: o.it.Buffer().Watch(t.data)}
			t.sources[o.service] = s
			t.merger.Add(o.it)
		case opRemove:
			if s := t.sources[o.service]; s != nil {
				t.removeSource(o.service, s)
			}
		case opLabels:
			if s := t.sources[o.service]; s != nil {
				s.labels = o.labels
			}
		case opStop:
			deadline, stopping = o.deadline, true
		}
	}
	if len(ops) > 0 {
		names := make([]string, 0, len(t.sources))
		for name := range t.sources {
			names = append(names, name)
		}
		sort.Strings(names)
		t.update(func(s *Status) { s.Services = names })
	}
	return deadline, stopping
}

func (t *target) removeSource(service string, s *source) {
	s.unwatch()
	t.merger.Remove(s.it)
	delete(t.sources, service)
}

// fill reads entries into the batch until it is full or nothing is left.
func (t *target) fill() {
	for len(t.batch) < t.m.opts.MaxBatch {
		e, ok := t.merger.Next()
		if !ok {
			break
		}
		s := t.sources[e.Service]
		if s == nil {
			// A line not written by a logs.Writer: attribute it to no
			// service's labels.
			s = t.sourceOf(e)
		}
		if len(t.batch) == 0 {
			t.first = time.Now()
		}
		if e.Time.IsZero() {
			e.Time = time.Now().UTC().Truncate(time.Millisecond)
		}
		var labels *labelSet
		if s != nil {
			labels = s.labels
		}
		t.batch = append(t.batch, item{Entry: e, labels: labels})
	}
	t.countLost()
	t.update(func(s *Status) { s.Pending = len(t.batch) })
}

// sourceOf finds the source of an entry whose service does not name one;
// nil if there are several.
func (t *target) sourceOf(e logs.Entry) *source {
	if len(t.sources) == 1 {
		for _, s := range t.sources {
			return s
		}
	}
	return nil
}

// countLost adds what the buffers overwrote before this target read it,
// including what it has not reached yet (so a stalled target shows its
// loss).
func (t *target) countLost() {
	var lost uint64
	for _, s := range t.sources {
		if l := s.it.Lost() + s.it.Behind(); l > s.lost {
			lost += l - s.lost
			s.lost = l
		}
	}
	if lost > 0 {
		t.lostNote += lost
		t.update(func(s *Status) { s.LostBytes += lost })
	}
	if t.lostNote > 0 && time.Since(t.lostLog) >= 10*time.Second {
		t.m.logf("Cannot forward all logs to target %q: %d bytes of output were overwritten before they could be sent", t.name, t.lostNote)
		t.lostNote = 0
		t.lostLog = time.Now()
	}
}

// flush sends the batch once. On a temporary failure the batch is kept and
// the next attempt waits for the backoff; on a permanent one it is dropped.
func (t *target) flush() {
	ctx, cancel := context.WithTimeout(t.ctx, t.m.opts.Timeout)
	err := t.send(ctx)
	cancel()
	if err == nil {
		t.backoff, t.retryAt = 0, time.Time{}
		return
	}
	var se *sendError
	if errors.As(err, &se) && !se.retry {
		t.drop(err)
		return
	}
	t.failed(err)
	if t.backoff == 0 {
		t.backoff = t.m.opts.BackoffMin
	} else {
		t.backoff = min(2*t.backoff, t.m.opts.BackoffMax)
	}
	wait := t.backoff + time.Duration(rand.Int64N(int64(t.backoff/10)+1))
	if errors.As(err, &se) && se.retryAfter > wait {
		wait = min(se.retryAfter, t.m.opts.BackoffMax)
	}
	t.retryAt = time.Now().Add(wait)
}

// send sends the batch and counts the result. Entries the receiver
// rejected in a partial success are dropped, not sent again, and the
// rejection is recorded as a failure.
func (t *target) send(ctx context.Context) error {
	if t.sender == nil {
		return &sendError{err: errors.New("log target has no type")}
	}
	err := t.sender.send(ctx, t.batch)
	var rejected *rejectedError
	if err != nil && !errors.As(err, &rejected) {
		return err
	}
	n, refused := len(t.batch), 0
	if rejected != nil {
		refused = min(rejected.count, n)
	}
	clear(t.batch)
	t.batch = t.batch[:0]
	t.update(func(s *Status) { s.Sent += uint64(n - refused); s.Dropped += uint64(refused); s.Pending = 0 })
	if rejected != nil {
		t.failed(err)
	}
	return nil
}

// failed records and logs a failed attempt.
func (t *target) failed(err error) {
	t.countLost()
	t.m.logf("Cannot flush logs to target %q: %v", t.name, err)
	t.update(func(s *Status) {
		s.Failures++
		s.LastError = err.Error()
		s.LastErrorTime = time.Now()
	})
}

// drop gives up on the batch.
func (t *target) drop(err error) {
	n := len(t.batch)
	t.failed(fmt.Errorf("%w (dropped %d entries)", err, n))
	clear(t.batch)
	t.batch = t.batch[:0]
	t.update(func(s *Status) { s.Dropped += uint64(n); s.Pending = 0 })
}

// finalFlush sends everything buffered until deadline: one attempt per
// batch, no backoff.
func (t *target) finalFlush(deadline time.Time) {
	ctx, cancel := context.WithDeadline(t.ctx, deadline)
	defer cancel()
	for _, s := range t.sources {
		s.it.StopHere()
	}
	for {
		t.fill()
		if len(t.batch) == 0 {
			return
		}
		if err := t.send(ctx); err != nil {
			if ctx.Err() != nil {
				err = fmt.Errorf("%w: final flush took too long", err)
			}
			// Count what is left in the buffers too, then give up.
			t.dropRest(err)
			return
		}
	}
}

// dropRest drops the batch and everything still unread.
func (t *target) dropRest(err error) {
	n := len(t.batch)
	for {
		if _, ok := t.merger.Next(); !ok {
			break
		}
		n++
	}
	clear(t.batch)
	t.batch = t.batch[:0]
	t.failed(fmt.Errorf("%w (dropped %d entries)", err, n))
	t.update(func(s *Status) { s.Dropped += uint64(n); s.Pending = 0 })
}
