package logs

import "strconv"

// Merger reads several iterators (one per service) as one stream in time
// order: each call returns the earliest of the entries available now. An
// entry that arrives later with an earlier time than one already returned
// is returned when it arrives, so the order is exact for what is buffered
// and best effort while following. Like an Iterator, a Merger is owned by
// one goroutine.
type Merger struct {
	srcs []*mergeSource
	// Markers makes the merger return an entry with the message
	// TruncatedMessage where an iterator lost data because it fell behind
	// the writer (behaviour.md §9.1).
	Markers bool
}

type mergeSource struct {
	it   *Iterator
	head Entry
	has  bool
	// cutLines and cutBytes, when not zero, are what a truncation marker
	// before head says was lost.
	cutLines, cutBytes uint64
}

// NewMerger returns a merger over its. Ties in time go to the iterator
// given first.
func NewMerger(its ...*Iterator) *Merger {
	m := &Merger{}
	for _, it := range its {
		m.Add(it)
	}
	return m
}

// Add adds an iterator; it ranks after those added before.
func (m *Merger) Add(it *Iterator) {
	m.srcs = append(m.srcs, &mergeSource{it: it})
}

// Remove removes an iterator, discarding the entry it may have read ahead.
func (m *Merger) Remove(it *Iterator) {
	for i, s := range m.srcs {
		if s.it == it {
			m.srcs = append(m.srcs[:i:i], m.srcs[i+1:]...)
			return
		}
	}
}

// Len returns the number of iterators.
func (m *Merger) Len() int { return len(m.srcs) }

// Next returns the earliest entry available, or false if no iterator has
// one now.
func (m *Merger) Next() (Entry, bool) {
	var best *mergeSource
	for _, s := range m.srcs {
		if !s.has {
			s.head, s.has = s.it.Next()
			if s.has && m.Markers {
				s.cutLines, s.cutBytes = s.it.Truncated()
			}
		}
		if s.has && (best == nil || s.head.Time.Before(best.head.Time)) {
			best = s
		}
	}
	if best == nil {
		return Entry{}, false
	}
	if best.cutBytes > 0 {
		e := Entry{Time: best.head.Time, Service: best.head.Service, Message: TruncatedMessage(best.cutLines, best.cutBytes)}
		best.cutLines, best.cutBytes = 0, 0
		return e, true
	}
	best.has = false
	e := best.head
	best.head = Entry{}
	return e, true
}

// TruncatedMessage is the message of the entry a reader that fell behind
// the writer gets where output was lost: Pebble's "(... output truncated
// ...)" with the number of lines and bytes lost (docs/logs.md).
func TruncatedMessage(lines, bytes uint64) string {
	unit := " lines ("
	if lines == 1 {
		unit = " line ("
	}
	return "(... output truncated: " + strconv.FormatUint(lines, 10) + unit + strconv.FormatUint(bytes, 10) + " bytes) lost ...)"
}
