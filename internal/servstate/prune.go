package servstate

import (
	"context"
	"sort"
	"time"
)

// Pruning (behaviour.md §10.3): records inactive for more than PruneAge are
// forgotten, then the oldest inactive ones beyond PruneMax. A forgotten
// record is as if the service had never been started: its goroutine ends,
// its output buffer and CPU account are dropped, and the next start makes a
// fresh record.
//
// Prune only picks candidates from snapshots; the record's own goroutine
// decides (forget), so the check and the removal cannot race with a
// request it handles. A request that picked the record up just before it
// went sees its gone channel closed and retries with a fresh record
// (Manager.send), or, if it needs no record, acts as for a never-started
// service.

// pruneLoop runs Prune every PruneInterval until Close.
func (m *Manager) pruneLoop() {
	defer m.wg.Done()
	t := time.NewTicker(m.opts.PruneInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			m.Prune()
		case <-m.done:
			return
		}
	}
}

// Prune makes one pruning pass and returns once the chosen records are
// forgotten. The manager prunes every PruneInterval on its own.
func (m *Manager) Prune() {
	type candidate struct {
		s     *service
		since time.Time
	}
	var cands []candidate
	for _, s := range m.allRecords() {
		s.mu.Lock()
		since, ok := s.inactiveSinceLocked()
		s.mu.Unlock()
		if ok {
			cands = append(cands, candidate{s, since})
		}
	}
	// Newest first: the first PruneMax young enough are kept.
	sort.Slice(cands, func(i, j int) bool { return cands[i].since.After(cands[j].since) })
	now := m.opts.Now()
	for i, c := range cands {
		if i < m.opts.PruneMax && now.Sub(c.since) <= m.opts.PruneAge {
			continue
		}
		// The reply only says whether it was forgotten; either way the
		// pass goes on.
		if _, err := c.s.request(context.Background(), command{kind: cmdForget, since: c.since}); err == ErrClosed {
			return
		}
	}
}

// inactiveSinceLocked reports whether the record may be forgotten (it is
// stopped, or was never launched) and since when it has been inactive.
// s.mu is held.
func (s *service) inactiveSinceLocked() (time.Time, bool) {
	if s.forgotten {
		return time.Time{}, false
	}
	switch s.state {
	case stateStopped:
		return s.since, true
	case stateInitial:
		return s.created, true
	}
	return time.Time{}, false
}

// forget runs on the goroutine: if the record is still inactive since the
// time Prune saw and no process of it remains to be waited for, it leaves
// the manager and the goroutine ends (forget returns true).
func (s *service) forget(c command) bool {
	s.mu.Lock()
	since, ok := s.inactiveSinceLocked()
	ok = ok && since.Equal(c.since) && s.waiting == 0 && s.startWaiter == nil && len(s.stopWaiters) == 0 && len(s.heldStarts) == 0 && len(s.heldStops) == 0 && !s.mach.residue
	if ok {
		s.forgotten = true
	}
	s.mu.Unlock()
	if !ok {
		c.reply <- reply{err: errNotRunning}
		return false
	}
	m := s.m
	m.mu.Lock()
	if m.services[s.name] == s {
		delete(m.services, s.name)
		m.rosterChangedLocked()
	}
	m.mu.Unlock()
	m.usage.forget(s.name)
	s.timer.Stop()
	close(s.gone)
	c.reply <- reply{}
	return true
}
