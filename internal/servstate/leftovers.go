package servstate

import (
	"context"
	"sort"
	"syscall"
	"time"

	"github.com/pebble-project/pebble/internal/osutil"
)

// KillLeftovers kills the processes a previous daemon on the same $PEBBLE
// left running, for example because it was killed with SIGKILL: every
// recorded main process whose start time still matches, with its
// descendants, and every process in this daemon's per-service cgroups. Each
// tree gets SIGTERM, then SIGKILL after a short grace, and KillLeftovers
// waits until the processes are gone or ctx ends. It returns the names of
// the services whose leftovers were killed, sorted, and clears the records.
//
// The daemon calls it once at startup, before any service is started.
func (m *Manager) KillLeftovers(ctx context.Context) ([]string, error) {
	recs, err := m.loadedRecords()
	if err != nil {
		return nil, err
	}
	trees := make(map[string][]*procTree)
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
		t.refresh()
		trees[name] = append(trees[name], t)
	}
	if m.cgroups != nil {
		for name, dir := range m.cgroups.leftovers() {
			if len(procsIn(dir)) > 0 {
				trees[name] = append(trees[name], &procTree{leader: -1, cgroup: dir})
			}
		}
	}

	names := make([]string, 0, len(trees))
	var all []*procTree
	for name, ts := range trees {
		names = append(names, name)
		all = append(all, ts...)
	}
	sort.Strings(names)
	for _, t := range all {
		t.signal(syscall.SIGTERM)
	}
	gone := func() bool {
		for _, t := range all {
			if !t.empty() {
				return false
			}
		}
		return true
	}
	wait := func(d time.Duration) bool {
		deadline := time.Now().Add(d)
		for !gone() {
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
	if !wait(leftoverGrace) {
		for _, t := range all {
			t.signal(syscall.SIGKILL)
		}
		for !wait(time.Hour) {
			if ctx.Err() != nil {
				return names, ctx.Err()
			}
		}
	}
	for _, name := range names {
		m.logf("Killed leftover processes of service %q from a previous daemon", name)
	}
	if m.cgroups != nil {
		for name := range m.cgroups.leftovers() {
			m.cgroups.remove(name)
		}
	}
	if m.opts.Store != nil && len(recs) > 0 {
		// The section is rewritten from the (empty) live records. A crash
		// before that write is harmless: the next daemon finds the recorded
		// processes gone (their start times no longer match).
		m.opts.Store.MarkDirty()
	}
	return names, nil
}
