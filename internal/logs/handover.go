package logs

import (
	"os"
	"sync"
	"time"
)

// Across an in-place upgrade (docs/upgrade.md) a service's output goes on
// without a line lost or written twice: the old daemon stops reading each
// pipe where it is (Detach: what the service wrote since stays in the
// kernel's pipe), pauses the mirror between two writes, and hands over each
// writer's state (HandOver): its buffer, the line it is in the middle of
// and what its mirror lane has not written yet. The new daemon restores it
// (TakeOver) and reads on from the same pipe (AdoptPipe).

// WriterState is a Writer's hand-over.
type WriterState struct {
	// Data is the buffer's content, oldest byte first; End is the
	// absolute position one past its last byte.
	Data []byte `json:"data"`
	End  uint64 `json:"end"`
	// LostNL and LastLostNL count the lines the buffer dropped, for
	// readers' missed-line counts.
	LostNL     uint64 `json:"lost-newlines,omitempty"`
	LastLostNL uint64 `json:"last-lost-newline,omitempty"`
	// StartTime is the time of the line Data starts in, when that line's
	// prefix was dropped.
	StartTime time.Time `json:"start-time,omitzero"`
	// MidLine is set when the last line has no newline yet; LineTime,
	// LineLen and Continued describe that line.
	MidLine   bool      `json:"mid-line,omitempty"`
	LineTime  time.Time `json:"line-time"`
	LineLen   int       `json:"line-len,omitempty"`
	Continued bool      `json:"continued,omitempty"`
	// Mirror is what the mirror lane holds and has not written yet.
	Mirror []byte `json:"mirror,omitempty"`
}

// HandOver returns the writer's state. Call it with the writer's pipe
// detached and its mirror paused, so that nothing changes it meanwhile.
func (w *Writer) HandOver() WriterState {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := WriterState{MidLine: w.midLine, LineTime: w.lineTime, LineLen: w.lineLen, Continued: w.continued}
	b := w.buf
	b.mu.Lock()
	st.End, st.LostNL, st.LastLostNL, st.StartTime = b.end, b.lostNL, b.lastLostNL, b.startTime
	held := int(b.end - b.start)
	st.Data = b.copyLocked(make([]byte, 0, held), b.start, held)
	b.mu.Unlock()
	if w.lane != nil {
		m := w.lane.m
		m.mu.Lock()
		st.Mirror = append([]byte(nil), w.lane.pending...)
		m.mu.Unlock()
	}
	return st
}

// TakeOver restores a state handed over by the daemon this one replaced,
// into a writer that has written nothing yet.
func (w *Writer) TakeOver(st WriterState) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.midLine, w.lineTime, w.lineLen, w.continued = st.MidLine, st.LineTime, st.LineLen, st.Continued
	b := w.buf
	b.mu.Lock()
	// A buffer grown for followers comes back at its first size (the
	// followers did not survive the exec): appending drops, and counts,
	// what does not fit.
	b.start = st.End - uint64(len(st.Data))
	b.end = b.start
	b.lostNL, b.lastLostNL, b.startTime = st.LostNL, st.LastLostNL, st.StartTime
	b.appendLocked(st.Data)
	b.lineTime = st.LineTime
	b.written = time.Now()
	b.mu.Unlock()
	if w.lane != nil && len(st.Mirror) > 0 {
		w.lane.enqueue([][]byte{st.Mirror}, false)
	}
}

// Detach stops the pipe's goroutine between two reads and returns the read
// end, still open: what the service writes from now on waits in the pipe
// for whoever reads it next. It returns nil when the goroutine had already
// ended (the pipe reached its end).
func (p *Pipe) Detach() *os.File {
	p.detached.Store(true)
	p.once.Do(func() { close(p.stop) })
	p.r.SetReadDeadline(time.Now()) // wakes a read that waits for data
	<-p.done
	if p.eof.Load() {
		p.r.Close()
		return nil
	}
	p.r.SetReadDeadline(time.Time{})
	return p.r
}

// Reattach starts reading again after Detach: the upgrade did not happen.
// Call it before anything calls Finish.
func (p *Pipe) Reattach() {
	p.stop, p.done, p.once = make(chan struct{}), make(chan struct{}), sync.Once{}
	p.detached.Store(false)
	p.Start()
}

// AdoptPipe returns a started Pipe that copies r, the read end of a
// service's output pipe handed over by the daemon this one replaced, into
// the writer.
func (w *Writer) AdoptPipe(r *os.File) *Pipe {
	p := &Pipe{w: w, r: r, stop: make(chan struct{}), done: make(chan struct{})}
	p.Start()
	return p
}

// Pause stops the mirror's writes between two of them, until Resume: what
// the lanes hold stays in them (see HandOver).
func (m *Mirror) Pause() { m.writing.Lock() }

// Resume undoes Pause.
func (m *Mirror) Resume() { m.writing.Unlock() }

// FinishedPipe returns a Pipe with nothing left to read, for a run whose
// output pipe reached its end before it was handed over.
func FinishedPipe() *Pipe {
	p := &Pipe{stop: make(chan struct{}), done: make(chan struct{})}
	close(p.done)
	return p
}
