package servstate

import (
	"syscall"
	"time"

	"github.com/pebble-project/pebble/internal/osutil"
)

// procTree is the set of processes of one service run, for signalling: the
// main process's group, and either the service's cgroup or, where cgroups
// are unavailable, the descendants found by walking /proc.
type procTree struct {
	leader int    // PID of the main process and its process group ID; <= 0: none
	cgroup string // the service's cgroup directory; "" without cgroups
	// known holds descendants found so far (fallback only), with their start
	// times so a reused PID is never signalled.
	known map[int]uint64
}

// refresh adds the current descendants of the leader and of the known
// processes (fallback only). Descendants whose parent already exited were
// re-parented to the daemon and cannot be found this way, unless they are
// still in the leader's process group.
func (t *procTree) refresh() {
	if t.cgroup != "" {
		return
	}
	procs, err := osutil.AllProcs()
	if err != nil {
		return
	}
	roots := []int{t.leader}
	for pid := range t.known {
		roots = append(roots, pid)
	}
	if t.known == nil {
		t.known = make(map[int]uint64)
	}
	for _, p := range osutil.Descendants(procs, roots...) {
		if p.State != 'Z' {
			t.known[p.PID] = p.StartTime
		}
	}
}

// signal sends sig once to every process of the tree: each process group
// led by a member of the tree (the main process's group first) gets it as a
// group, and members of other groups get it one by one. No process receives
// the signal twice, so a handler that runs on SIGTERM runs once.
func (t *procTree) signal(sig syscall.Signal) {
	if t.cgroup != "" && sig == syscall.SIGKILL {
		if t.leader > 0 {
			syscall.Kill(-t.leader, sig)
		}
		if killCgroup(t.cgroup) {
			return
		}
	}
	var members []osutil.ProcStat
	if t.cgroup != "" {
		for _, pid := range procsIn(t.cgroup) {
			if st, err := osutil.ReadProcStat(pid); err == nil && st.State != 'Z' {
				members = append(members, st)
			}
		}
	} else {
		t.refresh()
		for pid, start := range t.known {
			st, err := osutil.ReadProcStat(pid)
			if err != nil || st.StartTime != start || st.State == 'Z' {
				delete(t.known, pid)
				continue
			}
			members = append(members, st)
		}
	}
	groups := make(map[int]bool)
	if t.leader > 0 {
		groups[t.leader] = true
	}
	for _, st := range members {
		if st.PGID == st.PID {
			groups[st.PID] = true
		}
	}
	for g := range groups {
		syscall.Kill(-g, sig)
	}
	for _, st := range members {
		if !groups[st.PGID] {
			syscall.Kill(st.PID, sig)
		}
	}
}

// empty reports whether no process of the tree is left.
func (t *procTree) empty() bool {
	if t.cgroup != "" {
		return len(procsIn(t.cgroup)) == 0
	}
	if t.leader > 0 && syscall.Kill(-t.leader, 0) == nil {
		return false
	}
	for pid, start := range t.known {
		st, err := osutil.ReadProcStat(pid)
		if err == nil && st.StartTime == start && st.State != 'Z' {
			return false
		}
	}
	return true
}

// waitEmpty polls until the tree is empty or d has passed.
func (t *procTree) waitEmpty(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if t.empty() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pollInterval)
	}
}

// sweep ends what is left of the tree after the main process exited: the
// rest got SIGTERM with it, so they get sweepGrace to exit, then SIGKILL,
// and up to failDelay to disappear.
func (t *procTree) sweep(failDelay time.Duration) bool {
	if t.waitEmpty(sweepGrace) {
		return true
	}
	t.signal(syscall.SIGKILL)
	return t.waitEmpty(failDelay)
}
