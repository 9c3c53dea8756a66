package logs

import (
	"strconv"
	"time"
)

// maxHold (a variable for the tests) bounds how long a following Merger holds an entry back for the
// sake of time order: an entry is returned at the latest this long after it
// was read, even if a service still has an earlier line unfinished (one it
// takes longer than this to end with its newline) or the clock went back.
var maxHold = time.Second

// Merger reads several iterators (one per service) as one stream in time
// order, ties going to the iterator added first. Without Follow, each call
// returns the earliest of the entries available now, so the order is exact
// for what is buffered, but an entry written later with an earlier time
// than one already returned comes when it arrives. Like an Iterator, a
// Merger is owned by one goroutine.
type Merger struct {
	srcs []*mergeSource
	// Markers makes the merger return an entry with the message
	// TruncatedMessage where an iterator lost data because it fell behind
	// the writer (behaviour.md §9.1).
	Markers bool
	// Follow keeps the time order also for entries still to come: an
	// entry is returned only once every other iterator is known to have
	// nothing earlier to come (up to maxHold). The merger then works in
	// rounds: an iterator that had nothing is asked again only in the next
	// round (Poll), after its buffer was written to (Buffer.Watch) or when
	// Wait says.
	Follow bool

	pending []*mergeSource // to ask for their next entry this round
	heads   []*mergeSource // those holding their next entry
	// With Follow, the earliest time that the next entry of an iterator
	// that had nothing this round may have, and the rank of the first
	// such iterator; live: that time is the clock, which moves on.
	lowest        time.Time
	lowestRank    int
	bounded, live bool
	roundAt       time.Time // when the round began
	wait          time.Duration
}

type mergeSource struct {
	it   *Iterator
	rank int
	// msg is the message of the next entry, read ahead (has); its time
	// and service are it.cur. since is when it was read (its round).
	msg   []byte
	has   bool
	since time.Time
	// cutLines and cutBytes, when not zero, are what a truncation marker
	// before the next entry says was lost.
	cutLines, cutBytes uint64
	// header caches the entry's JSON up to its message, for headerTime
	// and headerService.
	header        []byte
	headerTime    time.Time
	headerService string
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
	rank := 0
	if n := len(m.srcs); n > 0 {
		rank = m.srcs[n-1].rank + 1
	}
	s := &mergeSource{it: it, rank: rank}
	m.srcs = append(m.srcs, s)
	m.pending = append(m.pending, s)
}

// Remove removes an iterator, discarding the entry it may have read ahead.
func (m *Merger) Remove(it *Iterator) {
	drop := func(list []*mergeSource) []*mergeSource {
		for i, s := range list {
			if s.it == it {
				return append(list[:i:i], list[i+1:]...)
			}
		}
		return list
	}
	m.srcs, m.pending, m.heads = drop(m.srcs), drop(m.pending), drop(m.heads)
}

// Len returns the number of iterators.
func (m *Merger) Len() int { return len(m.srcs) }

// Poll begins a new round (Follow): every iterator is asked again.
func (m *Merger) Poll() {
	m.pending = m.pending[:0]
	for _, s := range m.srcs {
		if !s.has {
			m.pending = append(m.pending, s)
		}
	}
	m.bounded, m.wait = false, 0
	if m.Follow {
		m.roundAt = time.Now()
	}
}

// Wait returns, after Next returned nothing while following, how long
// until an entry held back may be returned without any more output (the
// clock moved past another iterator's bound, or maxHold passed); 0 when
// nothing is held back.
func (m *Merger) Wait() time.Duration { return m.wait }

// Next returns the earliest entry available, or false if there is none
// now.
func (m *Merger) Next() (Entry, bool) {
	s := m.next()
	if s == nil {
		return Entry{}, false
	}
	e := s.it.cur
	if marker, ok := s.marker(); ok {
		e.Message = marker
		return e, true
	}
	e.Message = string(s.msg)
	m.consume(s)
	return e, true
}

// AppendJSON appends the earliest entry available in the logs API's JSON
// format (see AppendJSON) to dst, and reports false if there is none now.
// It is Next without a string per entry, and with each iterator's JSON up
// to the message encoded only when its time or service changes.
func (m *Merger) AppendJSON(dst []byte) ([]byte, bool) {
	s := m.next()
	if s == nil {
		return dst, false
	}
	e := s.it.cur
	if marker, ok := s.marker(); ok {
		e.Message = marker
		return AppendJSON(dst, e, 0), true
	}
	if len(s.header) == 0 || !s.headerTime.Equal(e.Time) || s.headerService != e.Service {
		s.header = appendJSONHeader(s.header[:0], e.Time, e.Service)
		s.headerTime, s.headerService = e.Time, e.Service
	}
	dst = appendJSONLine(append(dst, s.header...), s.header, s.msg, 0)
	m.consume(s)
	return dst, true
}

// marker returns, once, the truncation marker due before s's next entry.
func (s *mergeSource) marker() (string, bool) {
	if s.cutBytes == 0 {
		return "", false
	}
	msg := TruncatedMessage(s.cutLines, s.cutBytes)
	s.cutLines, s.cutBytes = 0, 0
	return msg, true
}

// consume drops s's next entry, returned: s is asked for another.
func (m *Merger) consume(s *mergeSource) {
	s.has, s.msg = false, nil
	for i, h := range m.heads {
		if h == s {
			m.heads = append(m.heads[:i], m.heads[i+1:]...)
			break
		}
	}
	m.pending = append(m.pending, s)
}

// next returns the source whose entry comes next, or nil.
func (m *Merger) next() *mergeSource {
	if !m.Follow {
		m.Poll() // every call asks every iterator
	}
	for _, s := range m.pending {
		m.ask(s)
	}
	m.pending = m.pending[:0]
	var best *mergeSource
	for _, s := range m.heads {
		if best == nil || s.it.cur.Time.Before(best.it.cur.Time) ||
			s.it.cur.Time.Equal(best.it.cur.Time) && s.rank < best.rank {
			best = s
		}
	}
	if best == nil || !m.Follow || m.releasable(best) {
		return best
	}
	return nil
}

// ask reads s's next entry, or, following, the bound on its time.
func (m *Merger) ask(s *mergeSource) {
	msg, ok := s.it.poll(m.Follow)
	if ok {
		s.msg, s.has, s.since = msg, true, m.roundAt
		m.heads = append(m.heads, s)
		if m.Markers {
			s.cutLines, s.cutBytes = s.it.Truncated()
		}
		return
	}
	if !m.Follow || !s.it.bound.ok {
		return
	}
	t, live := s.it.bound.at, s.it.bound.live
	switch {
	case !m.bounded || t.Before(m.lowest):
		m.lowest, m.lowestRank, m.bounded, m.live = t, s.rank, true, live
	case t.Equal(m.lowest):
		m.lowestRank = min(m.lowestRank, s.rank)
		m.live = m.live && live
	}
}

// releasable reports whether best's entry may be returned while following:
// no iterator that had nothing this round can still have an earlier one
// (or an equal one ranking first), or the entry waited maxHold. If not, it
// sets m.wait.
func (m *Merger) releasable(best *mergeSource) bool {
	t := best.it.cur.Time
	if !m.bounded || t.Before(m.lowest) || t.Equal(m.lowest) && best.rank < m.lowestRank {
		return true
	}
	held := m.roundAt.Sub(best.since)
	if held >= maxHold {
		return true
	}
	m.wait = maxHold - held
	if m.live {
		// The clock passes the bound within a millisecond.
		m.wait = min(m.wait, time.Millisecond)
	}
	return false
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
