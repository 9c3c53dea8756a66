package logs

import (
	"bytes"
	"sync"
	"time"
)

// DefaultBufferSize is the size of a service's ring buffer: 100 KiB.
const DefaultBufferSize = 100 * 1024

// Buffer is a fixed-size ring of formatted output. Positions are absolute
// byte offsets since the buffer was created, so a reader can tell how much
// it missed. Its methods are safe for concurrent use.
type Buffer struct {
	mu   sync.Mutex
	data []byte
	end  uint64 // absolute position one past the last byte written
	// start is the oldest position held: end minus the size once the
	// buffer is full, but later after it grew.
	start uint64
	// lineTime and lineService are those of the latest line a Writer
	// began: the service a reader that lost a line's prefix attributes its
	// rest to, and the earliest time of what is written next.
	lineTime    time.Time
	lineService string
	// startTime is the time of the line the oldest byte held is part of,
	// when that line's prefix was overwritten: the time a reader that lost
	// the prefix gives the rest of the line (not lineTime, which is a later
	// line's once the writer has gone on).
	startTime time.Time
	// clock is the Writer's clock, which times its lines (nil for a
	// buffer written raw).
	clock func() time.Time
	// prefixLen is the length of the prefix of every line a Writer
	// formats ("<time> [<service>] "), 0 for a buffer written raw.
	prefixLen int
	// lostNL counts the newlines overwritten: the lines that ended before
	// the oldest byte held. lastLostNL is where the last of them was
	// (valid when lostNL > 0): the line the buffer now starts in began
	// just after it.
	lostNL     uint64
	lastLostNL uint64
	// written is when the last byte was written: a line without its
	// newline is returned once it has been idle for PartialLineWait.
	written time.Time
	// watchers get a non-blocking send at every write (see Watch).
	watchers []chan<- struct{}

	// Sizing (sizing.go): the size the buffer was made with, its
	// followers, the most they were behind since the last check.
	firstSize   int
	followers   []*Iterator
	mostBehind  uint64
	shrinkTimer *time.Timer
}

// NewBuffer returns an empty buffer that holds up to size bytes; size <= 0
// means DefaultBufferSize. It holds no memory until it is first written,
// then starts small and grows to size as it is written (growLocked).
func NewBuffer(size int) *Buffer {
	if size <= 0 {
		size = DefaultBufferSize
	}
	return &Buffer{firstSize: size}
}

// setService records the service whose Writer formats into the buffer,
// and the writer's clock.
func (b *Buffer) setService(service string, clock func() time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lineService, b.clock = service, clock
	b.prefixLen = len(TimeLayout) + len(" [] ") + len(service)
}

// Write appends p as it is (no formatting; see Writer), overwriting the
// oldest data when the buffer is full. It never fails and never blocks on
// readers.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reserveLocked(len(p))
	b.appendLocked(p)
	b.written = time.Now()
	b.wakeLocked()
	return len(p), nil
}

// wake wakes the watchers without writing: a partial line is now due.
func (b *Buffer) wake() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.wakeLocked()
}

func (b *Buffer) appendLocked(p []byte) {
	if len(p) == 0 {
		return // nothing to place, in a buffer that may have no memory yet
	}
	b.allocLocked()
	b.growLocked(len(p))
	size := uint64(len(b.data))
	n := uint64(len(p))
	if newStart := b.end + n; newStart > b.start+size {
		// Count the lines that end in what is overwritten, and in what
		// of p itself does not fit.
		newStart -= size
		b.noteDroppedLocked(b.start, min(newStart, b.end))
		if newStart > b.end {
			b.noteDropped(p[:newStart-b.end], b.end)
		}
		b.moveStartLocked(newStart, p)
	}
	if n > size {
		b.end += n - size
		p = p[n-size:]
		n = size
	}
	off := b.end % size
	c := copy(b.data[off:], p)
	copy(b.data, p[c:])
	b.end += n
}

// moveStartLocked makes newStart the oldest position held, once the
// newlines before it are counted, keeping startTime: when newStart is in
// the middle of a line whose prefix is held now (in the ring, or in p,
// about to be appended at b.end), it parses the line's time from there.
func (b *Buffer) moveStartLocked(newStart uint64, p []byte) {
	lineStart := uint64(0)
	if b.lostNL > 0 {
		lineStart = b.lastLostNL + 1
	}
	if lineStart >= b.start && lineStart < newStart && b.prefixLen > 0 {
		var head [len(TimeLayout)]byte
		for i := range head {
			switch pos := lineStart + uint64(i); {
			case pos < b.end:
				head[i] = b.byteLocked(pos)
			case pos-b.end < uint64(len(p)):
				head[i] = p[pos-b.end]
			}
		}
		b.startTime, _ = parseTime(head[:])
	}
	b.start = newStart
}

// noteDroppedLocked counts the newlines of [from, to), about to be
// overwritten.
func (b *Buffer) noteDroppedLocked(from, to uint64) {
	first, second := b.segmentsLocked(from, to)
	b.noteDropped(first, from)
	b.noteDropped(second, from+uint64(len(first)))
}

// segmentsLocked returns the bytes of [from, to), which must be held, as
// the one or two slices of the ring they occupy: the second is empty unless
// the range wraps around the end of the ring.
func (b *Buffer) segmentsLocked(from, to uint64) (first, second []byte) {
	if from >= to {
		return nil, nil
	}
	size := uint64(len(b.data))
	off := from % size
	if n := to - from; off+n <= size {
		return b.data[off : off+n], nil
	}
	return b.data[off:], b.data[:(to-from)-(size-off)]
}

// noteDropped counts the newlines of chunk, which was at position pos.
func (b *Buffer) noteDropped(chunk []byte, pos uint64) {
	if c := bytes.Count(chunk, newline); c > 0 {
		b.lostNL += uint64(c)
		b.lastLostNL = pos + uint64(bytes.LastIndexByte(chunk, '\n'))
	}
}

// countLocked returns the number of newlines in [from, to), which must be
// held.
func (b *Buffer) countLocked(from, to uint64) uint64 {
	first, second := b.segmentsLocked(from, to)
	return uint64(bytes.Count(first, newline) + bytes.Count(second, newline))
}

// newlinesBeforeLocked returns the number of newlines written before pos,
// which must be held.
func (b *Buffer) newlinesBeforeLocked(pos uint64) uint64 {
	return b.lostNL + b.countLocked(b.startLocked(), pos)
}

func (b *Buffer) wakeLocked() {
	for _, ch := range b.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Watch makes every later write do a non-blocking send on ch, so one reader
// can wait for several buffers at once on one channel (give it a capacity
// of 1: wake-ups then coalesce). The returned function stops the sends; call
// it when done, or the buffer keeps ch.
func (b *Buffer) Watch(ch chan<- struct{}) (unwatch func()) {
	b.mu.Lock()
	b.watchers = append(b.watchers, ch)
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for i, w := range b.watchers {
			if w == ch {
				b.watchers = append(b.watchers[:i:i], b.watchers[i+1:]...)
				return
			}
		}
	}
}

// indexLocked returns the absolute position of the first c in [from, to),
// searching the ring in place, or -1. Both positions must be held.
func (b *Buffer) indexLocked(from, to uint64, c byte) int64 {
	first, second := b.segmentsLocked(from, to)
	if i := bytes.IndexByte(first, c); i >= 0 {
		return int64(from) + int64(i)
	}
	if i := bytes.IndexByte(second, c); i >= 0 {
		return int64(from) + int64(len(first)) + int64(i)
	}
	return -1
}

// lineStartLocked reports whether a line starts at pos, which must be held
// or be the oldest position held.
func (b *Buffer) lineStartLocked(pos uint64) bool {
	switch {
	case pos == 0:
		return true
	case pos > b.startLocked():
		return b.byteLocked(pos-1) == '\n'
	default:
		return b.lostNL > 0 && b.lastLostNL == pos-1
	}
}

// hasPrefixLocked reports whether the bytes from pos, which must be held,
// start with p.
func (b *Buffer) hasPrefixLocked(pos uint64, p []byte) bool {
	if b.end-pos < uint64(len(p)) {
		return false
	}
	first, second := b.segmentsLocked(pos, pos+uint64(len(p)))
	return bytes.Equal(first, p[:len(first)]) && bytes.Equal(second, p[len(first):])
}

// nextBoundLocked returns the earliest time that text written from now on
// can have: the time of the line being written, unless skipping says a
// reader will not return its rest, or else the writer's clock now, since a
// Writer takes the time of a line under the buffer's lock.
func (b *Buffer) nextBoundLocked(skipping bool) nextBound {
	if b.clock == nil {
		return nextBound{} // written raw: no times
	}
	if !skipping && b.end > b.start && b.byteLocked(b.end-1) != '\n' {
		return nextBound{at: b.lineTime, ok: true}
	}
	return nextBound{at: b.clock().UTC().Truncate(time.Millisecond), ok: true, live: true}
}

// byteLocked returns the byte at absolute position pos, which must be held.
func (b *Buffer) byteLocked(pos uint64) byte {
	return b.data[pos%uint64(len(b.data))]
}

// startLocked returns the oldest position still held.
func (b *Buffer) startLocked() uint64 { return b.start }

// copyLocked appends the bytes from pos (which must be held) to at most
// limit bytes beyond it to dst.
func (b *Buffer) copyLocked(dst []byte, pos uint64, limit int) []byte {
	first, second := b.segmentsLocked(pos, pos+min(b.end-pos, uint64(limit)))
	return append(append(dst, first...), second...)
}

// snapshot returns everything the buffer holds and whether older data was
// lost.
func (b *Buffer) snapshot() (data []byte, cut bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	start := b.startLocked()
	return b.copyLocked(nil, start, len(b.data)), start > 0
}

// LastLines returns the messages of the last n lines of output (timestamps
// and service prefixes removed, newlines dropped), including a final line
// still without its newline. cut reports whether older output exists that
// was not returned, because there were more lines or the buffer wrapped.
func (b *Buffer) LastLines(n int) (lines []string, cut bool) {
	data, wrapped := b.snapshot()
	if wrapped {
		// The first line is probably partial: drop it, unless it is all
		// there is (the tail of one very long line).
		if i := bytes.IndexByte(data, '\n'); i >= 0 && i < len(data)-1 {
			data = data[i+1:]
		}
	}
	data = bytes.TrimSuffix(data, []byte("\n"))
	if len(data) == 0 {
		return nil, wrapped
	}
	all := bytes.Split(data, []byte("\n"))
	cut = wrapped
	if n >= 0 && len(all) > n {
		all = all[len(all)-n:]
		cut = true
	}
	lines = make([]string, len(all))
	for i, line := range all {
		if _, _, msg, ok := parsePrefix(line); ok {
			line = msg
		}
		lines[i] = string(line)
	}
	return lines, cut
}
