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

// Entry is one line of output read back from a Buffer.
type Entry struct {
	Time    time.Time
	Service string
	Message string // without the trailing newline
}

// Iterator reads entries from a Buffer, oldest first. It is not safe for
// concurrent use; each reader has its own.
type Iterator struct {
	b         *Buffer
	pos       uint64
	truncated bool
	skipping  bool // discarding a partial line after data was lost
	inLine    bool // inside a line longer than MaxEntrySize
	cur       Entry
	scratch   []byte
}

// NewIterator returns an iterator over b. n < 0 starts at the oldest data
// held, n == 0 at the end (only new output), and n > 0 at the start of the
// n-th last complete line (or the oldest data, if fewer are held).
func (b *Buffer) NewIterator(n int) *Iterator {
	b.mu.Lock()
	defer b.mu.Unlock()
	it := &Iterator{b: b}
	start := b.startLocked()
	switch {
	case n == 0:
		it.pos = b.end
	case n < 0:
		it.pos = start
		it.skipping = start > 0
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
			it.skipping = start > 0
		}
	}
	return it
}

// Notify returns a channel that is closed when new data is written to the
// buffer; call Next until it returns false, then wait on a fresh Notify.
func (it *Iterator) Notify() <-chan struct{} { return it.b.Notify() }

// Truncated reports whether data was lost before the entries returned since
// the previous call (the reader fell behind the writer), and clears the flag.
func (it *Iterator) Truncated() bool {
	t := it.truncated
	it.truncated = false
	return t
}

// Next returns the next entry, or false if no complete entry is buffered
// yet. A line without its newline is returned once it is complete or holds
// MaxEntrySize bytes.
func (it *Iterator) Next() (Entry, bool) {
	b := it.b
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		if start := b.startLocked(); it.pos < start {
			it.pos = start
			it.truncated = true
			it.skipping = true
			it.inLine = false
		}
		if it.pos == b.end {
			return Entry{}, false
		}
		if it.skipping {
			data := b.copyLocked(it.scratch[:0], it.pos, len(b.data))
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				it.pos = b.end
				return Entry{}, false
			}
			it.pos += uint64(i) + 1
			it.skipping = false
			continue
		}
		limit := MaxEntrySize
		if !it.inLine {
			limit += 128 + MaxEntrySize // room for the prefix
		}
		data := b.copyLocked(it.scratch[:0], it.pos, limit)
		it.scratch = data[:0]
		consumed := 0
		if !it.inLine {
			i := bytes.IndexByte(data, '\n')
			if i < 0 && len(data) < limit {
				// The prefix may be incomplete; wait for more.
				if _, _, _, ok := parsePrefix(data); !ok {
					return Entry{}, false
				}
			}
			line := data
			if i >= 0 {
				line = data[:i]
			}
			tm, svc, msg, ok := parsePrefix(line)
			if !ok {
				// Not a line we wrote; return it as it is.
				tm, svc, msg = time.Time{}, "", line
			}
			it.cur.Time, it.cur.Service = tm, svc
			consumed = len(line) - len(msg)
			data = data[consumed:]
		}
		i := bytes.IndexByte(data, '\n')
		switch {
		case i >= 0 && i <= MaxEntrySize:
			it.pos += uint64(consumed + i + 1)
			it.inLine = false
			return it.entry(data[:i]), true
		case len(data) >= MaxEntrySize:
			it.pos += uint64(consumed + MaxEntrySize)
			it.inLine = true
			return it.entry(data[:MaxEntrySize]), true
		default:
			// Incomplete line: wait for its newline. Nothing is consumed,
			// so the prefix is parsed again next time.
			return Entry{}, false
		}
	}
}

func (it *Iterator) entry(msg []byte) Entry {
	e := it.cur
	e.Message = string(msg)
	return e
}

// parsePrefix splits a formatted line into its time, service and message.
func parsePrefix(line []byte) (time.Time, string, []byte, bool) {
	const tlen = len(TimeLayout)
	if len(line) < tlen+4 || line[tlen] != ' ' || line[tlen+1] != '[' {
		return time.Time{}, "", nil, false
	}
	t, err := time.Parse(TimeLayout, string(line[:tlen]))
	if err != nil {
		return time.Time{}, "", nil, false
	}
	rest := line[tlen+2:]
	i := bytes.Index(rest, []byte("] "))
	if i < 0 {
		return time.Time{}, "", nil, false
	}
	return t, string(rest[:i]), rest[i+2:], true
}
