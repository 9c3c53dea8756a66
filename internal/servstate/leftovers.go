package servstate

import (
	"context"
	"sort"
	"syscall"
	"time"

	"github.com/pebble-project/pebble/internal/cgroup"
	"github.com/pebble-project/pebble/internal/osutil"
	"github.com/pebble-project/pebble/internal/plan"
)

// KillLeftovers kills the processes a previous daemon on the same $PEBBLE
// left running, for example because it was killed with SIGKILL: every
// recorded main process whose start time still matches, with its
// descendants, and every process in this daemon's per-service cgroups. Each
// tree gets SIGTERM, then SIGKILL after a short grace, and KillLeftovers
// waits until the processes are gone, at most KillFailDelay after the
// SIGKILL, or until ctx ends. A service whose processes outlive that keeps
// them as the residue of its last run (see machine.residue): it is not
// launched again while they live, so it never runs twice. It returns the
// names of the services whose leftovers were found, sorted, and clears the
// records.
//
// The daemon calls it once at startup, before any service is started.
func (m *Manager) KillLeftovers(ctx context.Context) ([]string, error) {
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
	if !waitGone(ctx, all, leftoverGrace) {
		signalAll(all, syscall.SIGKILL)
		waitGone(ctx, all, m.opts.KillFailDelay)
	}
	final := &procSnapshot{}
	for _, name := range names {
		if t := firstLive(trees[name], final); t != nil {
			m.logf("Cannot kill leftover processes of service %q from a previous daemon: still running after SIGTERM and SIGKILL", name)
			m.holdResidue(name, t, recs)
		} else {
			m.logf("Killed leftover processes of service %q from a previous daemon", name)
		}
	}
	if err := ctx.Err(); err != nil {
		return names, err
	}
	if m.cgroups != nil {
		for name := range m.cgroups.Leftovers() {
			if !m.isAdopted(name) {
				m.cgroups.Remove(name)
			}
		}
	}
	m.removeV1Leftovers()
	if m.opts.Store != nil && len(recs) > 0 {
		// The section is rewritten from the (empty) live records. A crash
		// before that write is harmless: the next daemon finds the recorded
		// processes gone (their start times no longer match).
		m.opts.Store.MarkDirty()
	}
	return names, nil
}

// leftoverTrees returns, by service name, the process trees of recs that
// are still alive and those of the non-empty leftover cgroups.
func (m *Manager) leftoverTrees(recs map[string]procRecord) map[string][]*procTree {
	trees := make(map[string][]*procTree)
	snap := &procSnapshot{} // one listing of /proc for every live record, if any
	for name, rec := range recs {
		st, err := osutil.ReadProcStat(rec.PID)
		if err != nil || st.StartTime != rec.StartTime || st.State == 'Z' {
			continue // gone, or the PID was reused
		}
		t := &procTree{leader: rec.PID, known: map[int]uint64{rec.PID: rec.StartTime}}
		if st.PGID != rec.PID {
			// Not a group leader (any more): do not signal a group by its
			// PID; its descendants are found through /proc.
			t.leader = -1
		}
		t.refreshWith(snap)
		trees[name] = append(trees[name], t)
	}
	if m.cgroups != nil {
		for name, dir := range m.cgroups.Leftovers() {
			if m.isAdopted(name) {
				continue
			}
			if cgroup.Populated(dir) {
				trees[name] = append(trees[name], &procTree{leader: -1, cgroup: dir})
			}
		}
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
// ctx ends. Each check reads /proc at most once for all the trees.
func waitGone(ctx context.Context, trees []*procTree, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for firstLive(trees, &procSnapshot{}) != nil {
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(pollInterval):
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
	if m.closed || m.services[name] != nil {
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
