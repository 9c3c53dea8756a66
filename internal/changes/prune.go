package changes

import (
	"slices"
	"time"
)

// pruneLoop runs Prune every PruneInterval until Close.
func (m *Manager) pruneLoop() {
	defer m.wg.Done()
	ticker := time.NewTicker(m.pruneEvery)
	defer ticker.Stop()
	for {
		select {
		case <-m.done:
			return
		case <-ticker.C:
			m.Prune()
		}
	}
}

// Prune makes one pruning pass (behaviour.md §10.3):
//
//   - ready changes whose ready time is older than ReadyAge are deleted, and
//     then the oldest ready changes until at most MaxReady remain;
//   - unready changes without tasks spawned more than EmptyAge ago are
//     deleted;
//   - unready changes spawned more than AbortAge ago are aborted, except
//     those created with KeepPending, which stay pending for as long as
//     their work lasts.
//
// Tasks always belong to a change here, so there are no orphan tasks to
// delete. The manager prunes every PruneInterval on its own.
func (m *Manager) Prune() {
	m.mu.Lock()
	now := m.now()
	var ready []*change
	deleted := false
	for _, c := range m.order {
		switch {
		case c.status.Ready():
			if now.Sub(c.readyTime) > m.readyAge {
				m.deleteLocked(c)
				deleted = true
			} else {
				ready = append(ready, c)
			}
		case len(c.tasks) == 0:
			if now.Sub(c.spawnTime) > m.emptyAge {
				m.deleteLocked(c)
				deleted = true
			}
		case now.Sub(c.spawnTime) > m.abortAge && !c.keepPending:
			m.abortLocked(c)
			deleted = true // not deleted, but the state changed
		}
	}
	if extra := len(ready) - m.maxReady; extra > 0 {
		slices.SortStableFunc(ready, func(a, b *change) int { return a.readyTime.Compare(b.readyTime) })
		for _, c := range ready[:extra] {
			m.deleteLocked(c)
		}
		deleted = true
	}
	if deleted {
		m.order = slices.DeleteFunc(m.order, func(c *change) bool { return m.changes[c.id] != c })
	}
	m.mu.Unlock()
	if deleted {
		m.markDirty()
		m.deliver()
	}
}

// deleteLocked forgets a change and its tasks; the caller compacts m.order.
func (m *Manager) deleteLocked(c *change) {
	delete(m.changes, c.id)
	for _, t := range c.tasks {
		delete(m.tasks, t.id)
	}
	if !c.status.Ready() {
		close(c.ready) // wake waiters; they find the change gone
	}
	if c.cancel != nil {
		c.cancel()
		c.ctx, c.cancel = nil, nil
	}
}
