package logs

import (
	"io"
	"sync"
	"time"
)

// DefaultMirrorQueue is how many bytes a Mirror queues for a slow writer
// before it starts dropping output.
const DefaultMirrorQueue = 1 << 20

// mirrorCloseWait bounds how long Close waits for queued output to be
// written, so a blocked stdout cannot hang the daemon's exit.
const mirrorCloseWait = time.Second

// Mirror copies formatted output to another writer (the daemon's stdout in
// verbose mode) from its own goroutine. Writers only append to a bounded
// queue; when the queue is full, the output of that Write is dropped whole
// and counted, so a slow or blocked stdout never slows a service.
type Mirror struct {
	w    io.Writer
	max  int
	wake chan struct{}
	done chan struct{}

	mu      sync.Mutex
	queue   []byte
	spare   []byte
	dropped uint64
	closed  bool
}

// NewMirror starts a mirror to w that queues at most maxQueued bytes
// (<= 0 means DefaultMirrorQueue). Call Close to stop it.
func NewMirror(w io.Writer, maxQueued int) *Mirror {
	if maxQueued <= 0 {
		maxQueued = DefaultMirrorQueue
	}
	m := &Mirror{w: w, max: maxQueued, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go m.run()
	return m
}

// Write queues p as it is (already formatted).
func (m *Mirror) Write(p []byte) (int, error) {
	m.enqueue([][]byte{p})
	return len(p), nil
}

func (m *Mirror) enqueue(pieces [][]byte) {
	n := 0
	for _, p := range pieces {
		n += len(p)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || len(m.queue)+n > m.max {
		m.dropped += uint64(n)
		return
	}
	for _, p := range pieces {
		m.queue = append(m.queue, p...)
	}
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Dropped returns how many bytes were dropped because the queue was full.
func (m *Mirror) Dropped() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dropped
}

func (m *Mirror) run() {
	defer close(m.done)
	for range m.wake {
		m.flush()
	}
	m.flush()
}

func (m *Mirror) flush() {
	for {
		m.mu.Lock()
		out := m.queue
		m.queue = m.spare[:0]
		m.spare = nil
		m.mu.Unlock()
		if len(out) == 0 {
			m.mu.Lock()
			m.spare = out[:0]
			m.mu.Unlock()
			return
		}
		m.w.Write(out) // errors are not actionable: stdout is best effort
		m.mu.Lock()
		if cap(out) <= m.max {
			m.spare = out[:0]
		}
		m.mu.Unlock()
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
	close(m.wake)
	m.mu.Unlock()
	select {
	case <-m.done:
	case <-time.After(mirrorCloseWait):
	}
}
