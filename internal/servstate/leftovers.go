package servstate

import (
	"context"
	"slices"
	"sort"
	"syscall"
	"time"

	"github.com/pebble-project/pebble/internal/cgroup"
	"github.com/pebble-project/pebble/internal/osutil"
	"github.com/pebble-project/pebble/internal/plan"
)

// KillLeftovers starts killing the processes a previous daemon on the same
// $PEBBLE left running, for example because it was killed with SIGKILL:
// every recorded main process whose start time still matches, with its
// descendants, and every process in this daemon's per-service cgroups. It
// finds them and sends them SIGTERM, and returns the names of the services
// whose leftovers it found, sorted; the rest goes on in the background, one
// sweep per service: SIGKILL after leftoverGrace, then a wait of at most
// KillFailDelay until they are gone.
//
// A start of such a service waits until its leftovers are gone, so it never
// runs twice; other services start at once. A service whose leftovers
// outlive SIGKILL keeps them as the residue of its last run (see
// machine.residue): it is not launched again while they live. The record of
// a leftover main process stays in the state file until the process is
// gone, so a daemon killed meanwhile still finds it.
//
// The daemon calls it once at startup, before any service is started.
func (m *Manager) KillLeftovers() ([]string, error) {
	recs, err := m.loadedRecords()
	if err != nil {
		return nil, err
	}
	// Services taken over from an upgraded daemon are not leftovers.
	m.mu.Lock()
	for name := range m.adopted {
		delete(recs, name)
	}
	m.mu.Unlock()
	trees := m.leftoverTrees(recs)
	names := make([]string, 0, len(trees))
	var all []*procTree
	for name, ts := range trees {
		names = append(names, name)
		all = append(all, ts...)
	}
	sort.Strings(names)
	signalAll(all, syscall.SIGTERM)

	m.mu.Lock()
	for _, name := range names {
		if rec, ok := recs[name]; ok && m.opts.Store != nil {
			m.records[name] = rec // dropped once the process is gone
		}
		done := make(chan struct{})
		m.leftovers[name] = done
		m.wg.Add(1)
		go m.sweepLeftovers(name, trees[name], recs, done)
	}
	m.mu.Unlock()

	// Empty leftover cgroups go now; those of live leftovers once these
	// are gone.
	if m.cgroups != nil {
		for name := range m.cgroups.Leftovers() {
			if trees[name] == nil && !m.isAdopted(name) {
				m.cgroups.Remove(name)
			}
		}
	}
	for name := range m.v1.Leftovers() {
		if trees[name] == nil && !m.isAdopted(name) {
			m.v1.Remove(name)
		}
	}
	if m.opts.Store != nil && len(recs) > len(names) {
		// Records of processes already gone are dropped with the next
		// write. A crash before it is harmless: the next daemon finds the
		// recorded processes gone (their start times no longer match).
		m.opts.Store.MarkDirty()
	}
	return names, nil
}

// sweepLeftovers ends the leftover trees of one service, which have had
// SIGTERM: SIGKILL after leftoverGrace, then at most KillFailDelay until
// they are gone. Then it removes the service's leftover cgroups and record
// and closes done, which lets a start of the service go on. Trees that
// outlive SIGKILL become the service's residue (holdResidue). When the
// manager closes meanwhile, the trees get SIGKILL at once.
func (m *Manager) sweepLeftovers(name string, trees []*procTree, recs map[string]procRecord, done chan struct{}) {
	defer m.wg.Done()
	defer func() {
		m.mu.Lock()
		delete(m.leftovers, name)
		m.mu.Unlock()
		close(done)
	}()
	gone := waitGone(trees, leftoverGrace, m.done)
	if !gone && !m.isClosed() {
		signalAll(trees, syscall.SIGKILL)
		gone = waitGone(trees, m.opts.KillFailDelay, m.done)
	}
	if m.isClosed() {
		if !gone {
			signalAll(trees, syscall.SIGKILL)
		}
		return
	}
	if !gone {
		m.logf("Cannot kill leftover processes of service %q from a previous daemon: still running after SIGTERM and SIGKILL", name)
		m.holdResidue(name, firstLive(trees, &procSnapshot{}), recs)
		return
	}
	if m.cgroups != nil {
		m.cgroups.Remove(name)
	}
	m.v1.Remove(name)
	m.mu.Lock()
	rec, ok := m.records[name]
	if ok && rec.run == 0 {
		delete(m.records, name)
	}
	m.mu.Unlock()
	if ok && rec.run == 0 {
		m.opts.Store.MarkDirty()
	}
	m.logf("Killed leftover processes of service %q from a previous daemon", name)
}

// awaitLeftovers waits until the leftovers of service name, if a sweep is
// still ending them, are gone (or have become its residue). It notes the
// wait in tl.
func (m *Manager) awaitLeftovers(ctx context.Context, name string, tl TaskLog) error {
	m.mu.Lock()
	done := m.leftovers[name]
	m.mu.Unlock()
	if done == nil {
		return nil
	}
	if tl != nil {
		tl.Logf("Waiting for the processes a previous daemon left of service %q to end.", name)
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-m.done:
		return ErrClosed
	}
}

// isClosed reports whether Close has begun.
func (m *Manager) isClosed() bool {
	select {
	case <-m.done:
		return true
	default:
		return false
	}
}

// leftoverTrees returns, by service name, the process trees of recs that
// are still alive and those of the non-empty leftover cgroups. A recorded
// main process inside its service's leftover cgroup is that cgroup's tree.
func (m *Manager) leftoverTrees(recs map[string]procRecord) map[string][]*procTree {
	trees := make(map[string][]*procTree)
	cgroups := make(map[string]string)
	if m.cgroups != nil {
		for name, dir := range m.cgroups.Leftovers() {
			if !m.isAdopted(name) && cgroup.Populated(dir) {
				cgroups[name] = dir
			}
		}
	}
	snap := &procSnapshot{} // one listing of /proc for every live record, if any
	for name, rec := range recs {
		st, err := osutil.ReadProcStat(rec.PID)
		if err != nil || st.StartTime != rec.StartTime || st.State == 'Z' {
			continue // gone, or the PID was reused
		}
		leader := rec.PID
		if st.PGID != rec.PID {
			// Not a group leader (any more): do not signal a group by its
			// PID; its descendants are found through /proc.
			leader = -1
		}
		if dir, ok := cgroups[name]; ok && slices.Contains(cgroup.Procs(dir), rec.PID) {
			trees[name] = append(trees[name], &procTree{leader: leader, cgroup: dir})
			delete(cgroups, name)
			continue
		}
		t := &procTree{leader: leader, known: map[int]uint64{rec.PID: rec.StartTime}}
		if procs, err := snap.get(); err == nil {
			t.addMembersFrom(procs)
		}
		trees[name] = append(trees[name], t)
	}
	for name, dir := range cgroups {
		trees[name] = append(trees[name], &procTree{leader: -1, cgroup: dir})
	}
	for name, ts := range m.v1LeftoverTrees() {
		if !m.isAdopted(name) {
			trees[name] = append(trees[name], ts...)
		}
	}
	return trees
}

// signalAll sends sig to every tree, reading /proc once for all of them.
func signalAll(trees []*procTree, sig syscall.Signal) {
	snap := &procSnapshot{}
	for _, t := range trees {
		t.signalWith(sig, snap)
	}
}

// waitGone waits until every tree is empty (true), for at most d or until
// stop is closed.
func waitGone(trees []*procTree, d time.Duration, stop <-chan struct{}) bool {
	quit, finished := make(chan struct{}), make(chan struct{})
	defer close(finished)
	timer := time.NewTimer(d)
	defer timer.Stop()
	go func() {
		select {
		case <-stop:
		case <-timer.C:
		case <-finished:
			return
		}
		close(quit)
	}()
	for _, t := range trees {
		if !t.waitEmpty(quit) {
			return false
		}
	}
	return true
}

// firstLive returns the first of trees that is not empty, judged from
// snap, or nil.
func firstLive(trees []*procTree, snap *procSnapshot) *procTree {
	for _, t := range trees {
		if !t.emptyWith(snap) {
			return t
		}
	}
	return nil
}

// holdResidue gives a service a record whose last run is the leftover tree
// t, so that a start waits for t to go (and fails if it outlives SIGKILL)
// instead of running the service beside it. Its loaded record, if any, is
// kept in the state file for a later daemon.
func (m *Manager) holdResidue(name string, t *procTree, recs map[string]procRecord) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t == nil || m.closed || m.services[name] != nil {
		return
	}
	if rec, ok := recs[name]; ok && m.opts.Store != nil {
		m.records[name] = rec
	}
	s := newService(m, name)
	s.svc = m.plan.Services[name]
	if s.svc == nil {
		s.svc = &plan.Service{Name: name}
	}
	s.mach.residue = true
	s.tree = t
	m.services[name] = s
	m.rosterChangedLocked()
	m.wg.Add(2)
	go s.loop()
	go s.watchTree(s.run, t)
}
