package logs

import (
	"bytes"
	"sync"
	"time"
)

// TimeLayout is the timestamp format at the start of every line.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// Writer formats one service's output into its Buffer: every line starts
// with the UTC time its first byte was written and "[<service>] ". It is
// the io.Writer given to the service's stdout and stderr. Write never
// blocks on readers and always succeeds.
type Writer struct {
	mu       sync.Mutex
	buf      *Buffer
	service  string
	mirror   *Mirror // may be nil
	now      func() time.Time
	midLine  bool      // the last byte written was not a newline
	lineTime time.Time // the time of the latest line's prefix
	// partial wakes the buffer's readers once a line left without its
	// newline is due (PartialLineWait).
	partial *time.Timer
	prefix  []byte   // scratch for the line prefix
	pieces  [][]byte // scratch for the mirror
}

// NewWriter returns a writer for service's output into buf. If mirror is
// not nil, each formatted piece of output is also queued on it.
func NewWriter(service string, buf *Buffer, mirror *Mirror) *Writer {
	return &Writer{buf: buf, service: service, mirror: mirror, now: time.Now}
}

// Write formats p into the buffer. All lines that begin in one call get
// the same timestamp, taken at the call.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.prefix = w.prefix[:0]
	w.pieces = w.pieces[:0]
	b := w.buf
	b.mu.Lock()
	for rest := p; len(rest) > 0; {
		if !w.midLine {
			if len(w.prefix) == 0 {
				w.lineTime = w.now().UTC().Truncate(time.Millisecond)
				w.prefix = w.lineTime.AppendFormat(w.prefix, TimeLayout)
				w.prefix = append(w.prefix, " ["...)
				w.prefix = append(w.prefix, w.service...)
				w.prefix = append(w.prefix, "] "...)
				b.lineTime, b.lineService = w.lineTime, w.service
			}
			b.appendLocked(w.prefix)
			w.pieces = append(w.pieces, w.prefix)
		}
		seg := rest
		w.midLine = true
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			seg = rest[:i+1]
			w.midLine = false
		}
		b.appendLocked(seg)
		w.pieces = append(w.pieces, seg)
		rest = rest[len(seg):]
	}
	if w.midLine {
		// Only a line left without its newline needs the time: readers
		// show it once it has waited PartialLineWait.
		b.written = time.Now()
	}
	b.wakeLocked()
	b.mu.Unlock()
	if w.mirror != nil && len(w.pieces) > 0 {
		w.mirror.enqueue(w.pieces)
	}
	if w.midLine {
		if w.partial == nil {
			w.partial = time.AfterFunc(PartialLineWait, b.wake)
		} else {
			w.partial.Reset(PartialLineWait)
		}
	}
	return len(p), nil
}

// EndLine ends a line left without its newline, as if the service had
// written one: the service exited, and its last words must not run into
// the next run's output. It does nothing at the start of a line.
func (w *Writer) EndLine() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.midLine {
		return
	}
	w.midLine = false
	if w.partial != nil {
		w.partial.Stop()
	}
	b := w.buf
	b.mu.Lock()
	b.appendLocked(newline)
	b.wakeLocked()
	b.mu.Unlock()
	if w.mirror != nil {
		w.mirror.enqueue([][]byte{newline})
	}
}

var newline = []byte{'\n'}
