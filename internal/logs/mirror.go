package logs

import (
	"bytes"
	"io"
	"sync"
	"time"
)

// DefaultMirrorLane is how many bytes of one service's formatted output a
// Mirror holds for a slow writer before that service's Pipe stops reading
// (and so the service's own writes wait, as they would on a slow stdout).
const DefaultMirrorLane = 256 << 10

// mirrorGather bounds how much output the Mirror's goroutine gathers from
// its lanes for one write.
const mirrorGather = 1 << 20

// mirrorCloseWait bounds how long Close waits for queued output to be
// written, so a blocked stdout cannot hang the daemon's exit.
const mirrorCloseWait = time.Second

// Mirror copies formatted output to another writer (the daemon's stdout in
// verbose mode) from its own goroutine. Each Writer has a lane of its own:
// a bounded queue that the goroutine drains in turn with the other lanes,
// whole lines at a time, so one service's flood neither interleaves with
// another's lines nor holds them up for more than one turn. A full lane
// does not drop anything: the Pipe that feeds the Writer waits for room
// before it reads more of the service's output (back-pressure), so memory
// stays bounded and every line is written once, in order.
type Mirror struct {
	// writing is held while run gathers and writes; Pause holds it.
	writing sync.Mutex
	w       io.Writer
	laneMax int
	wake    chan struct{}
	closing chan struct{} // closed by Close: lanes stop waiting for room
	done    chan struct{}

	mu      sync.Mutex
	ready   []*mirrorLane // lanes with output to write, oldest turn first
	dropped uint64
	closed  bool
}

// mirrorLane is one Writer's queue on a Mirror. Its fields are guarded by
// the Mirror's mutex.
type mirrorLane struct {
	m       *Mirror
	pending []byte
	spare   []byte
	queued  bool // in m.ready
	// partialDue makes the next turn write a final line without its
	// newline too: it has waited PartialLineWait, and not because the
	// Pipe was waiting for room (waiting).
	partialDue bool
	waiting    bool
	room       chan struct{} // signalled when pending drops below laneMax
}

// NewMirror starts a mirror to w whose lanes hold at most laneMax bytes
// each before their pipes wait (<= 0 means DefaultMirrorLane). Call Close
// to stop it.
func NewMirror(w io.Writer, laneMax int) *Mirror {
	if laneMax <= 0 {
		laneMax = DefaultMirrorLane
	}
	m := &Mirror{
		w:       w,
		laneMax: laneMax,
		wake:    make(chan struct{}, 1),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	go m.run()
	return m
}

func (m *Mirror) lane() *mirrorLane {
	return &mirrorLane{m: m, room: make(chan struct{}, 1)}
}

// enqueue appends pieces to the lane. It never blocks: Pipe waits for room
// before it reads (waitRoom), so a lane exceeds its bound by at most one
// read's worth.
func (l *mirrorLane) enqueue(pieces [][]byte, partialDue bool) {
	m := l.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		for _, p := range pieces {
			m.dropped += uint64(len(p))
		}
		return
	}
	for _, p := range pieces {
		l.pending = append(l.pending, p...)
	}
	// New output restarts the wait of a line without its newline.
	l.partialDue = partialDue
	l.queueLocked()
}

// due marks the lane's final line without its newline as due.
func (l *mirrorLane) due() { l.enqueue(nil, true) }

func (l *mirrorLane) queueLocked() {
	if l.queued || len(l.pending) == 0 {
		return
	}
	l.queued = true
	l.m.ready = append(l.m.ready, l)
	select {
	case l.m.wake <- struct{}{}:
	default:
	}
}

// waitRoom waits until the lane holds less than its bound, the mirror
// closes, or stop is closed.
func (l *mirrorLane) waitRoom(stop <-chan struct{}) {
	m := l.m
	for {
		m.mu.Lock()
		full := len(l.pending) >= m.laneMax && !m.closed
		l.waiting = full
		m.mu.Unlock()
		if !full {
			return
		}
		select {
		case <-l.room:
		case <-m.closing:
		case <-stop:
		}
		m.mu.Lock()
		l.waiting = false
		m.mu.Unlock()
		select {
		case <-m.closing:
			return
		case <-stop:
			return
		default:
		}
	}
}

// Dropped returns how many bytes were dropped because they came after
// Close.
func (m *Mirror) Dropped() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dropped
}

func (m *Mirror) run() {
	defer close(m.done)
	var out []byte
	for {
		select {
		case <-m.wake:
		case <-m.closing:
			m.mu.Lock()
			for _, l := range m.ready {
				l.partialDue = true // the daemon stops: write everything
			}
			m.mu.Unlock()
			for out = m.gather(out[:0]); len(out) > 0; out = m.gather(out[:0]) {
				m.w.Write(out)
			}
			return
		}
		m.writing.Lock()
		for out = m.gather(out[:0]); len(out) > 0; out = m.gather(out[:0]) {
			m.w.Write(out) // errors are not actionable: stdout is best effort
		}
		m.writing.Unlock()
		if cap(out) > mirrorGather {
			out = nil
		}
	}
}

// gather appends one turn of the lanes' output to out: from each ready
// lane, in turn, its complete lines (and a final partial line that is due
// or fills the lane), up to mirrorGather bytes in all.
func (m *Mirror) gather(out []byte) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	turn := m.ready
	m.ready = nil
	for i, l := range turn {
		if len(out) >= mirrorGather {
			m.ready = append(m.ready, turn[i:]...) // next turn
			break
		}
		l.queued = false
		// Whole lines only, so that lanes never interleave within a
		// line; but a line without its newline once it is due, and a
		// line longer than the lane.
		n := bytes.LastIndexByte(l.pending, '\n') + 1
		if (l.partialDue && !l.waiting) || (n == 0 && len(l.pending) >= m.laneMax) {
			n = len(l.pending)
		}
		if n == 0 {
			continue // only the start of a line: wait for its rest
		}
		out = append(out, l.pending[:n]...)
		if n == len(l.pending) {
			l.partialDue = false
		}
		// Keep the rest (the start of a line) in the spare, which becomes
		// the queue; a queue grown beyond twice the bound is let go.
		rest := append(l.spare[:0], l.pending[n:]...)
		l.spare = l.pending[:0]
		if cap(l.spare) > 2*m.laneMax {
			l.spare = nil
		}
		l.pending = rest
		if len(l.pending) < m.laneMax {
			select {
			case l.room <- struct{}{}:
			default:
			}
		}
	}
	return out
}

// Close stops accepting output, writes what is queued and stops the
// goroutine. It waits at most one second for a blocked writer; the goroutine
// then ends as soon as that write returns.
func (m *Mirror) Close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	close(m.closing)
	m.mu.Unlock()
	select {
	case <-m.done:
	case <-time.After(mirrorCloseWait):
	}
}
