package logs

import (
	"bytes"
	"time"
)

// TruncatedMarker is what a reader of formatted output shows where data
// was lost because it fell behind (behaviour.md §9.1).
const TruncatedMarker = "\n(... output truncated ...)\n"

// MaxEntrySize is the longest message an Entry holds; longer lines are
// returned as several entries with the same time and service
// (behaviour.md §9.3).
const MaxEntrySize = 4096

// PartialLineWait is how long a line without its newline stays unread: a
// reader returns what there is of it once the service has written nothing
// for this long, and the rest (if any) later as the line's next entry.
const PartialLineWait = 100 * time.Millisecond

// maxPrefix bounds the "<time> [<service>] " prefix the iterator looks for
// at the start of a line.
const maxPrefix = 512

// Entry is one line of output read back from a Buffer.
type Entry struct {
	Time    time.Time
	Service string
	Message string // without the trailing newline
}

// Iterator reads entries from a Buffer, oldest first. It is not safe for
// concurrent use; each reader has its own. An iterator holds no resources
// beyond memory: dropping it is enough.
type Iterator struct {
	b       *Buffer
	pos     uint64 // absolute position of the next unread byte
	nl      uint64 // newlines before pos
	stop    uint64 // with hasStop: read nothing at or beyond this position
	hasStop bool
	lost    uint64 // bytes overwritten before they were read
	cut     uint64 // bytes lost since Truncated was last called
	cutLine uint64 // ... and lines
	// skipping discards the rest of a line that began before the
	// iterator did.
	skipping bool
	inLine   bool // the current line's prefix is consumed; cur holds it
	// counted: the current line is already counted as lost (its start
	// was), when its rest is being read.
	counted bool
	partial bool // the last entry returned was a partial line
	cur     Entry
	scratch []byte
	// prefix is the prefix of the last line whose prefix was parsed into
	// cur: a line that starts with the same bytes (all lines of one Write
	// do) is not parsed again.
	prefix []byte
	// stopBound is the bound on the time of an entry beyond the stop;
	// bound is what the last poll that returned nothing found.
	stopBound, bound nextBound
}

// nextBound is the earliest time a reader's next entry can have.
type nextBound struct {
	at   time.Time
	ok   bool // false: no bound (the buffer is written raw, without times)
	live bool // at is the clock now, which moves on by itself
}

// NewIterator returns an iterator over b. n < 0 starts at the oldest data
// held, n == 0 at the end (only new output, from the next line on), and
// n > 0 at the start of the n-th last complete line (or the oldest data, if
// fewer are held).
func (b *Buffer) NewIterator(n int) *Iterator {
	b.mu.Lock()
	defer b.mu.Unlock()
	it := &Iterator{b: b}
	defer func() { it.nl = b.newlinesBeforeLocked(it.pos) }()
	start := b.startLocked()
	switch {
	case n == 0:
		it.pos = b.end
		// A line being written now began before the iterator did.
		it.skipping = b.end > start && b.byteLocked(b.end-1) != '\n'
	case n < 0:
		it.pos = start
		it.skipping = !b.lineStartLocked(start)
	default:
		data := b.copyLocked(nil, start, len(b.data))
		// Find the start of the n-th last newline-terminated line.
		i := bytes.LastIndexByte(data, '\n') // end of the last complete line
		for k := 0; k < n && i >= 0; k++ {
			i = bytes.LastIndexByte(data[:i], '\n')
		}
		if i >= 0 {
			it.pos = start + uint64(i) + 1
		} else {
			it.pos = start
			it.skipping = !b.lineStartLocked(start)
		}
	}
	return it
}

// Buffer returns the buffer the iterator reads.
func (it *Iterator) Buffer() *Buffer { return it.b }

// StopHere makes the iterator return nothing written after this call: a
// line not yet complete now is not returned. It is how a reader takes a
// snapshot of what is buffered while the writer goes on. Unlike the other
// methods it may be called from any goroutine, also while another one is
// in Next.
func (it *Iterator) StopHere() {
	b := it.b
	b.mu.Lock()
	defer b.mu.Unlock()
	it.stop, it.hasStop = b.end, true
	skippingLast := it.skipping && b.indexLocked(it.pos, b.end, '\n') < 0
	it.stopBound = b.nextBoundLocked(skippingLast)
}

// Unstop removes the limit set by StopHere.
func (it *Iterator) Unstop() { it.hasStop = false }

// Truncated reports how many lines and bytes of output were lost before
// the entries returned since the previous call, because the reader fell
// behind the writer (none: 0, 0), and clears the counts. A line counts as
// lost when any of its text is: the rest of a line whose start was lost is
// still returned.
func (it *Iterator) Truncated() (lines, bytes uint64) {
	lines, bytes = it.cutLine, it.cut
	it.cutLine, it.cut = 0, 0
	return lines, bytes
}

// Lost returns how many bytes of output this iterator never returned
// because the writer overwrote them first: the bytes overwritten, and the
// rest of the line they were part of.
func (it *Iterator) Lost() uint64 { return it.lost }

// Behind returns how many bytes the writer has overwritten since the
// iterator's position without the iterator having read them yet: what the
// next call of Next will add to Lost.
func (it *Iterator) Behind() uint64 {
	it.b.mu.Lock()
	defer it.b.mu.Unlock()
	if start := it.b.startLocked(); it.pos < start {
		return start - it.pos
	}
	return 0
}

// Next returns the next entry, or false if no complete entry is buffered
// yet. A line without its newline is returned once it is complete or holds
// MaxEntrySize bytes. Only the bytes of the returned message are copied.
func (it *Iterator) Next() (Entry, bool) {
	msg, ok := it.poll(false)
	if !ok {
		return Entry{}, false
	}
	e := it.cur
	e.Message = string(msg)
	return e, true
}

// poll is Next without the copy into a string: it returns the message in
// the iterator's scratch, valid until the next call, and takes its time and
// service from it.cur. Given bound, when it returns nothing it sets
// it.bound (see boundLocked).
func (it *Iterator) poll(bound bool) ([]byte, bool) {
	b := it.b
	b.mu.Lock()
	defer b.mu.Unlock()
	msg, ok := it.nextLocked()
	if !ok && bound {
		it.bound = it.boundLocked()
	}
	return msg, ok
}

// boundLocked returns the earliest time the next entry can have, when the
// iterator has none now. A stopped iterator goes by the moment it was
// stopped.
func (it *Iterator) boundLocked() nextBound {
	if it.hasStop {
		return it.stopBound
	}
	return it.b.nextBoundLocked(it.skipping)
}

// nextLocked is the body of poll, with the buffer's lock held.
func (it *Iterator) nextLocked() ([]byte, bool) {
	b := it.b
	for {
		if start := b.startLocked(); it.pos < start {
			it.overrun(start)
		}
		end := b.end
		if it.hasStop && it.stop < end {
			end = it.stop
		}
		if it.pos >= end {
			return nil, false
		}
		if it.skipping {
			i := b.indexLocked(it.pos, end, '\n')
			if i < 0 {
				it.pos = end
				return nil, false
			}
			it.pos = uint64(i) + 1
			it.nl++
			it.skipping = false
			continue
		}
		if !it.inLine {
			if !it.readPrefix(end) {
				return nil, false
			}
			it.inLine = true
		}
		// Read the message up to its newline or MaxEntrySize bytes.
		scanEnd := min(end, it.pos+MaxEntrySize+1)
		if i := b.indexLocked(it.pos, scanEnd, '\n'); i >= 0 {
			n := uint64(i) - it.pos
			wasPartial := it.partial
			it.pos = uint64(i) + 1
			it.nl++
			it.inLine, it.partial, it.counted = false, false, false
			if n == 0 && wasPartial {
				continue // the newline of a line already returned
			}
			return it.entry(b.copyLocked(it.scratch[:0], it.pos-n-1, int(n)))
		}
		if end-it.pos >= MaxEntrySize {
			msg := b.copyLocked(it.scratch[:0], it.pos, MaxEntrySize)
			it.pos += MaxEntrySize
			it.partial = false
			return it.entry(msg)
		}
		if end == b.end && time.Since(b.written) >= PartialLineWait {
			// The service left the line without its newline for a
			// while: return what there is.
			msg := b.copyLocked(it.scratch[:0], it.pos, int(end-it.pos))
			it.pos = end
			it.partial = true
			return it.entry(msg)
		}
		return nil, false // incomplete line: wait for more
	}
}

// overrun moves the iterator, which fell behind the writer, to start, the
// oldest data held, and counts what it lost there: the lines whose text
// was overwritten, wholly or in part, and their bytes. What lands at start
// is read on: the rest of a line whose start was lost is returned with
// the line's time, and a line of which only the prefix was lost is
// returned whole.
func (it *Iterator) overrun(start uint64) {
	b := it.b
	lines := b.lostNL - it.nl // lines whose newline was overwritten
	if it.skipping {
		if lines == 0 {
			// Still in the line that began before the iterator:
			// nothing this reader wanted was lost.
			it.pos = start
			return
		}
		lines-- // that line ended: not one of the reader's
		it.skipping = false
	}
	if it.counted && lines > 0 {
		lines-- // the line whose rest was being read, counted before
		it.counted = false
	}
	it.lost += start - it.pos
	it.cut += start - it.pos
	it.pos, it.nl = start, b.lostNL
	it.partial, it.inLine = false, false
	if b.lineStartLocked(start) {
		it.cutLine += lines
		return
	}
	lineStart := uint64(0)
	if b.lostNL > 0 {
		lineStart = b.lastLostNL + 1
	}
	if b.lineService == "" {
		// Written raw: no prefix to go by. Skip the rest of the line.
		it.skipping = true
		it.cutLine += lines + 1
		return
	}
	// The rest of the line keeps the line's own time: later lines may
	// already be written, and an earlier time is another line's.
	it.cur.Service, it.cur.Time = b.lineService, b.startTime
	it.prefix = it.prefix[:0]
	it.inLine = true
	if msgStart := lineStart + uint64(b.prefixLen); start <= msgStart {
		it.pos = msgStart // only the prefix was lost: the text is whole
		it.cutLine += lines
		return
	}
	if !it.counted {
		lines++ // this line's start was lost
		it.counted = true
	}
	it.cutLine += lines
}

// readPrefix parses the prefix of the line at it.pos into it.cur and moves
// past it. It reports false when the prefix may still be incomplete. A line
// without a prefix (not written by a Writer) gets the zero time and no
// service.
func (it *Iterator) readPrefix(end uint64) bool {
	b := it.b
	if n := uint64(len(it.prefix)); n > 0 && end-it.pos > n && b.hasPrefixLocked(it.pos, it.prefix) {
		it.pos += n
		return true
	}
	n := min(end-it.pos, maxPrefix)
	head := b.copyLocked(it.scratch[:0], it.pos, int(n))
	it.scratch = head[:0]
	line := head
	complete := false
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		line, complete = head[:i], true
	}
	tm, svc, msg, ok := parsePrefix(line)
	if !ok {
		if !complete && n < maxPrefix {
			return false
		}
		it.cur = Entry{}
		it.prefix = it.prefix[:0]
		return true
	}
	if it.cur.Service != string(svc) {
		it.cur.Service = string(svc)
	}
	it.cur.Time = tm
	it.prefix = append(it.prefix[:0], line[:len(line)-len(msg)]...)
	it.pos += uint64(len(it.prefix))
	return true
}

// entry keeps msg's memory as the scratch and returns msg.
func (it *Iterator) entry(msg []byte) ([]byte, bool) {
	it.scratch = msg[:0]
	return msg, true
}

// parsePrefix splits a formatted line into its time, service and message.
func parsePrefix(line []byte) (time.Time, []byte, []byte, bool) {
	const tlen = len(TimeLayout)
	if len(line) < tlen+4 || line[tlen] != ' ' || line[tlen+1] != '[' {
		return time.Time{}, nil, nil, false
	}
	t, ok := parseTime(line[:tlen])
	if !ok {
		return time.Time{}, nil, nil, false
	}
	rest := line[tlen+2:]
	i := bytes.Index(rest, []byte("] "))
	if i < 0 {
		return time.Time{}, nil, nil, false
	}
	return t, rest[:i], rest[i+2:], true
}

// parseTime parses TimeLayout ("2006-01-02T15:04:05.000Z") without the
// generality, and cost, of time.Parse.
func parseTime(s []byte) (time.Time, bool) {
	if len(s) != len(TimeLayout) || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
		s[13] != ':' || s[16] != ':' || s[19] != '.' || s[23] != 'Z' {
		return time.Time{}, false
	}
	num := func(b []byte) int {
		n := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	year, month, day := num(s[0:4]), num(s[5:7]), num(s[8:10])
	hour, minute, sec, milli := num(s[11:13]), num(s[14:16]), num(s[17:19]), num(s[20:23])
	if year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 ||
		minute < 0 || minute > 59 || sec < 0 || sec > 60 || milli < 0 {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, milli*int(time.Millisecond), time.UTC), true
}
