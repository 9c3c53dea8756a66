package logs

import (
	"bytes"
	"sync"
	"time"
)

// TimeLayout is the timestamp format at the start of every line.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// MaxLineSize is the longest line a Writer stores: a longer line is ended
// there and goes on in a new line (with the same time) whose text starts
// with ContinuedMarker, so no reader, not even one of the daemon's stdout
// that reads whole lines into 64 KiB, ever has to drop one.
const MaxLineSize = 64 * 1024

// ContinuedMarker starts the text of a line that continues the previous
// one, which was longer than MaxLineSize.
const ContinuedMarker = "(... continued ...) "

// Writer formats one service's output into its Buffer: every line starts
// with the UTC time its first byte was written and "[<service>] ". It is
// the io.Writer given to the service's stdout and stderr. Write never
// blocks on readers and always succeeds.
type Writer struct {
	mu       sync.Mutex
	buf      *Buffer
	service  string
	lane     *mirrorLane // nil without a Mirror
	now      func() time.Time
	midLine  bool      // the last byte written was not a newline
	lineLen  int       // bytes of the current line's text written so far
	lineTime time.Time // the time of the latest line's prefix
	// continued makes the next line a continuation of a line cut at
	// MaxLineSize.
	continued bool
	// partial wakes the buffer's readers once a line left without its
	// newline is due (PartialLineWait).
	partial *time.Timer
	prefix  []byte // scratch for the line prefix
	cont    []byte // scratch for a continuation's prefix
	out     []byte // the formatted output of the Write in progress
}

// NewWriter returns a writer for service's output into buf. If mirror is
// not nil, the formatted output is also queued on it, in a lane of the
// writer's own.
func NewWriter(service string, buf *Buffer, mirror *Mirror) *Writer {
	w := &Writer{buf: buf, service: service, now: time.Now}
	if mirror != nil {
		w.lane = mirror.lane()
	}
	buf.setService(service, func() time.Time { return w.now() })
	return w
}

// Write formats p into the buffer. All lines that begin in one call get
// the same timestamp, taken at the call.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.prefix = w.prefix[:0]
	outp := formatBufs.Get().(*[]byte)
	w.out = (*outp)[:0]
	b := w.buf
	b.mu.Lock()
	for rest := p; len(rest) > 0; {
		if !w.midLine {
			w.startLineLocked()
		}
		seg := rest
		w.midLine = true
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			seg = rest[:i+1]
			w.midLine = false
		}
		if room := MaxLineSize - w.lineLen; len(seg)-boolInt(!w.midLine) > room {
			// Too long: end the line here, the rest goes on in the next.
			seg = seg[:room]
			w.out = append(append(w.out, seg...), '\n')
			rest = rest[len(seg):]
			w.midLine, w.continued = false, true
			continue
		}
		w.lineLen += len(seg)
		w.out = append(w.out, seg...)
		rest = rest[len(seg):]
		if len(w.out) >= formatChunk {
			w.flushLocked()
		}
	}
	w.flushLocked()
	if w.midLine {
		// Only a line left without its newline needs the time: readers
		// show it once it has waited PartialLineWait.
		b.written = time.Now()
	}
	b.wakeLocked()
	b.mu.Unlock()
	*outp = w.out[:0]
	w.out = nil
	formatBufs.Put(outp)
	if w.midLine {
		if w.partial == nil {
			w.partial = time.AfterFunc(PartialLineWait, w.partialDue)
		} else {
			w.partial.Reset(PartialLineWait)
		}
	}
	return len(p), nil
}

// formatChunk is how much formatted output a Writer gathers before it
// moves it into the buffer (and the mirror) in one copy.
const formatChunk = 256 << 10

// formatBufs holds the Writers' scratch for formatted output, so that an
// idle service holds none.
var formatBufs = sync.Pool{New: func() any { b := make([]byte, 0, formatChunk+MaxLineSize); return &b }}

// flushLocked moves the formatted output gathered into the buffer and the
// mirror. The buffer's lock is held.
func (w *Writer) flushLocked() {
	if len(w.out) == 0 {
		return
	}
	b := w.buf
	b.reserveLocked(len(w.out))
	b.appendLocked(w.out)
	if w.lane != nil {
		w.lane.enqueue([][]byte{w.out}, false)
	}
	w.out = w.out[:0]
}

// startLineLocked formats the prefix of a new line (a continuation's, with
// the time of the line it continues and ContinuedMarker, after a line cut
// at MaxLineSize). The buffer's lock is held.
func (w *Writer) startLineLocked() {
	b := w.buf
	w.lineLen = 0
	if w.continued {
		w.continued = false
		w.cont = w.lineTime.AppendFormat(w.cont[:0], TimeLayout)
		w.cont = append(w.cont, " ["...)
		w.cont = append(w.cont, w.service...)
		w.cont = append(w.cont, "] "+ContinuedMarker...)
		w.out = append(w.out, w.cont...)
		w.lineLen = len(ContinuedMarker)
		return
	}
	if len(w.prefix) == 0 {
		w.lineTime = w.now().UTC().Truncate(time.Millisecond)
		w.prefix = w.lineTime.AppendFormat(w.prefix, TimeLayout)
		w.prefix = append(w.prefix, " ["...)
		w.prefix = append(w.prefix, w.service...)
		w.prefix = append(w.prefix, "] "...)
		b.lineTime = w.lineTime
	}
	w.out = append(w.out, w.prefix...)
}

// partialDue shows a line left without its newline to readers and the
// mirror: the service has written nothing for PartialLineWait.
func (w *Writer) partialDue() {
	w.buf.wake()
	if w.lane != nil {
		w.lane.due()
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
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
	if w.lane != nil {
		w.lane.enqueue([][]byte{newline}, false)
	}
}

var newline = []byte{'\n'}
