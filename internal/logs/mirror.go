package logs

import (
	"bytes"
	"io"
	"os"
	"sync"
	"time"
)

// DefaultMirrorLane is how many bytes of one service's formatted output a
// Mirror holds for a slow writer before that service's Pipe stops reading
// (and so the service's own writes wait, as they would on a slow stdout).
const DefaultMirrorLane = 256 << 10

// mirrorGather bounds how much output the Mirror's goroutine takes from its
// lanes in one turn.
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
	// inFlight is the output taken from pending that the goroutine is
	// writing now; its memory becomes the spare once written.
	inFlight []byte
	queued   bool // in m.ready
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
	if f, ok := w.(*os.File); ok {
		// A pipe (as a container's stdout is) that holds more takes
		// larger writes, with fewer wake-ups of the daemon and its reader.
		growPipe(f)
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
		if l.pending == nil && len(p) > 0 {
			l.pending = takeLaneBuf()
		}
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
	var turn []*mirrorLane
	for {
		select {
		case <-m.wake:
		case <-m.closing:
			m.mu.Lock()
			for _, l := range m.ready {
				l.partialDue = true // the daemon stops: write everything
			}
			m.mu.Unlock()
			for turn = m.gather(turn[:0]); len(turn) > 0; turn = m.gather(turn[:0]) {
				m.write(turn)
			}
			return
		}
		m.writing.Lock()
		for turn = m.gather(turn[:0]); len(turn) > 0; turn = m.gather(turn[:0]) {
			m.write(turn)
		}
		m.writing.Unlock()
	}
}

// write writes the output taken from the lanes of a turn, each lane's
// straight from its memory, and gives that memory back to its lane.
func (m *Mirror) write(turn []*mirrorLane) {
	for _, l := range turn {
		m.w.Write(l.inFlight) // errors are not actionable: stdout is best effort
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, l := range turn {
		// A busy lane keeps the memory (unless it grew beyond twice the
		// bound); an idle one holds none.
		if len(l.pending) > 0 && cap(l.inFlight) <= 2*m.laneMax {
			l.spare = l.inFlight[:0]
		} else {
			giveLaneBuf(l.inFlight)
		}
		l.inFlight = nil
	}
}

// gather takes one turn of the lanes' output: from each ready lane, in
// turn, its complete lines (and a final partial line that is due or fills
// the lane), up to mirrorGather bytes in all. It returns the lanes that
// gave output, which is in their inFlight.
func (m *Mirror) gather(turn []*mirrorLane) []*mirrorLane {
	m.mu.Lock()
	defer m.mu.Unlock()
	ready := m.ready
	m.ready = nil
	taken := 0
	for i, l := range ready {
		if taken >= mirrorGather {
			m.ready = append(m.ready, ready[i:]...) // next turn
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
		if n == len(l.pending) {
			l.partialDue = false
		}
		// The lines taken are written from the queue's memory; the rest
		// (the start of a line) moves to the spare, which becomes the
		// queue.
		rest := l.pending[n:]
		l.inFlight, l.pending = l.pending[:n], nil
		switch {
		case len(rest) > 0 && l.spare != nil:
			l.pending = append(l.spare, rest...)
		case len(rest) > 0:
			l.pending = append(takeLaneBuf(), rest...)
		case l.spare != nil:
			giveLaneBuf(l.spare)
		}
		l.spare = nil
		taken += n
		turn = append(turn, l)
		if len(l.pending) < m.laneMax {
			select {
			case l.room <- struct{}{}:
			default:
			}
		}
	}
	return turn
}

// laneBufSize is the capacity of the memory a lane's queue takes from
// laneBufs: its default bound and one read.
const laneBufSize = DefaultMirrorLane + readSize

// laneBufs holds the memory of the lanes' queues while they are empty, so
// that an idle service's lane holds none and a busy one does not allocate
// anew after each quiet moment.
var laneBufs = sync.Pool{New: func() any { b := make([]byte, 0, laneBufSize); return &b }}

func takeLaneBuf() []byte { return (*laneBufs.Get().(*[]byte))[:0] }

// giveLaneBuf returns b's memory to laneBufs, if it came from there (a
// queue that grew beyond it is let go).
func giveLaneBuf(b []byte) {
	if cap(b) == laneBufSize {
		b = b[:0]
		laneBufs.Put(&b)
	}
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
