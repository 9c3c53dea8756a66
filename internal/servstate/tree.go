package servstate

import (
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pebble-project/pebble/internal/cgroup"
	"github.com/pebble-project/pebble/internal/osutil"
	"golang.org/x/sys/unix"
)

// procTree is the set of processes of one service run, for signalling: the
// main process's group, and either the service's cgroup or, where cgroups
// are unavailable, the descendants found by walking /proc.
type procTree struct {
	leader int    // PID of the main process and its process group ID; <= 0: none
	cgroup string // the service's cgroup directory; "" without cgroups

	// cgroupKilled is set once the cgroup got cgroup.kill: some kernels
	// (6.18 here) kill every process cloned into such a cgroup later, so
	// it must not be used for another run.
	cgroupKilled atomic.Bool

	mu sync.Mutex // guards known: a watcher reads it (watchEmpty)
	// known holds descendants found so far (fallback only), with their start
	// times so a reused PID is never signalled.
	known map[int]uint64
}

// refresh adds the current descendants of the leader and of the known
// processes (fallback only). Descendants whose parent already exited were
// re-parented to the daemon and cannot be found this way, unless they are
// still in the leader's process group.
func (t *procTree) refresh() {
	t.refreshWith(&procSnapshot{})
}

// refreshWith is refresh reading the processes from snap.
func (t *procTree) refreshWith(snap *procSnapshot) {
	if t.cgroup != "" {
		return
	}
	if procs, err := snap.get(); err == nil {
		t.refreshFrom(procs)
	}
}

// procSnapshot is one listing of every process, taken when first needed
// and then shared, so that a pass over many trees (the leftovers of a
// killed daemon, say) reads /proc once instead of once per tree.
type procSnapshot struct {
	procs []osutil.ProcStat
	err   error
	taken bool
}

func (s *procSnapshot) get() ([]osutil.ProcStat, error) {
	if !s.taken {
		s.procs, s.err = osutil.AllProcs()
		s.taken = true
	}
	return s.procs, s.err
}

// refreshFrom is refresh with a snapshot of every process.
func (t *procTree) refreshFrom(procs []osutil.ProcStat) {
	t.mu.Lock()
	defer t.mu.Unlock()
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
	t.signalWith(sig, &procSnapshot{})
}

// signalWith is signal finding the descendants (without a cgroup) in snap.
func (t *procTree) signalWith(sig syscall.Signal, snap *procSnapshot) {
	if t.cgroup != "" && sig == syscall.SIGKILL {
		if t.leader > 0 {
			syscall.Kill(-t.leader, sig)
		}
		if cgroup.Kill(t.cgroup) {
			t.cgroupKilled.Store(true)
			return
		}
	}
	var members []osutil.ProcStat
	if t.cgroup != "" {
		for _, pid := range cgroup.Procs(t.cgroup) {
			if st, err := osutil.ReadProcStat(pid); err == nil && st.State != 'Z' {
				members = append(members, st)
			}
		}
	} else {
		t.refreshWith(snap)
		t.mu.Lock()
		for pid, start := range t.known {
			st, err := osutil.ReadProcStat(pid)
			if err != nil || st.StartTime != start || st.State == 'Z' {
				delete(t.known, pid)
				continue
			}
			members = append(members, st)
		}
		t.mu.Unlock()
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
	return t.emptyWith(&procSnapshot{})
}

// emptyWith is empty judging the main process's group from snap.
func (t *procTree) emptyWith(snap *procSnapshot) bool {
	if t.cgroup != "" {
		return !cgroup.Populated(t.cgroup)
	}
	if t.leader > 0 && groupAlive(t.leader, snap) {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for pid, start := range t.known {
		st, err := osutil.ReadProcStat(pid)
		if err == nil && st.StartTime == start && st.State != 'Z' {
			return false
		}
	}
	return true
}

// groupAlive reports whether process group pgid has a member that is not a
// zombie: an orphan's zombie waits for whoever adopted it to reap it, which
// may be slow, and must not count as a process still running.
func groupAlive(pgid int, snap *procSnapshot) bool {
	if syscall.Kill(-pgid, 0) != nil {
		return false
	}
	procs, err := snap.get()
	if err != nil {
		return true
	}
	for _, p := range procs {
		if p.PGID == pgid && p.State != 'Z' {
			return true
		}
	}
	return false
}

// waitEmpty blocks until the tree is empty and reports true, or until stop
// is closed. It waits on the cgroup's cgroup.events (populated 0), or,
// without a cgroup, on the pidfd of each process of the tree; where
// neither works, it checks the processes at a growing interval.
func (t *procTree) waitEmpty(stop <-chan struct{}) bool {
	if t.cgroup != "" {
		if gone, err := waitUnpopulated(t.cgroup, stop); err == nil {
			return gone
		}
	} else if gone, err := t.waitExits(stop); err == nil {
		return gone
	}
	interval := pollInterval
	for !t.empty() {
		select {
		case <-stop:
			return false
		case <-time.After(interval):
		}
		interval = min(2*interval, maxPollInterval)
	}
	return true
}

// waitUnpopulated waits, through inotify, until no process is left in the
// cgroup directory dir or below it (true), or until stop is closed.
func waitUnpopulated(dir string, stop <-chan struct{}) (bool, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return false, err
	}
	// Non-blocking, so reads go through the runtime's poller and Close
	// ends a pending one.
	f := os.NewFile(uintptr(fd), "inotify")
	defer f.Close()
	if _, err := unix.InotifyAddWatch(fd, filepath.Join(dir, "cgroup.events"), unix.IN_MODIFY); err != nil {
		return false, err
	}
	defer closeOnStop(f, stop)()
	buf := make([]byte, 4096)
	for cgroup.Populated(dir) {
		if _, err := f.Read(buf); err != nil {
			return false, nil // stopped
		}
	}
	return true, nil
}

// waitExits waits until every process of the tree has exited (true), or
// until stop is closed. It waits for the exit of each known process through
// its pidfd; then, unless the main process's group is gone too, it lists
// the processes to learn the group's members, zombies aside, and waits for
// those. A process whose parent is not this daemon (a leftover of a killed
// daemon) is waited for all the same, and only its exit counts, not its
// reaping. It fails where pidfds are not available.
func (t *procTree) waitExits(stop <-chan struct{}) (bool, error) {
	for {
		t.mu.Lock()
		known := make(map[int]uint64, len(t.known))
		for pid, start := range t.known {
			known[pid] = start
		}
		t.mu.Unlock()
		for pid, start := range known {
			if gone, err := awaitExit(pid, start, stop); err != nil || !gone {
				return false, err
			}
			t.mu.Lock()
			delete(t.known, pid)
			t.mu.Unlock()
		}
		if t.leader <= 0 || !groupLingers(t.leader, stop) {
			return true, nil
		}
		if n, err := t.addMembers(); err != nil || n == 0 {
			return err == nil, err
		}
	}
}

// groupLingers reports whether process group pgid still exists after a
// short wait. A group whose known members have exited often lingers only as
// zombies until their parent (for leftovers of a killed daemon, init)
// reaps them; waiting a little for that spares a listing of every process.
func groupLingers(pgid int, stop <-chan struct{}) bool {
	for wait := pollInterval; wait <= groupReapWait; wait *= 2 {
		if syscall.Kill(-pgid, 0) != nil {
			return false
		}
		select {
		case <-stop:
			return true
		case <-time.After(wait):
		}
	}
	return syscall.Kill(-pgid, 0) == nil
}

// addMembers lists the processes, adds the live members of the main
// process's group and the descendants found since to the known ones, and
// returns how many live processes are known then.
func (t *procTree) addMembers() (int, error) {
	procs, err := osutil.AllProcs()
	if err != nil {
		return 0, err
	}
	return t.addMembersFrom(procs), nil
}

// addMembersFrom is addMembers with a listing of every process.
func (t *procTree) addMembersFrom(procs []osutil.ProcStat) int {
	t.refreshFrom(procs)
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range procs {
		if t.leader > 0 && p.PGID == t.leader && p.State != 'Z' {
			t.known[p.PID] = p.StartTime
		}
	}
	return len(t.known)
}

// awaitExit waits until process pid, started at start (in clock ticks
// after boot), has exited (true), or until stop is closed. A process
// already gone, or a PID reused since, counts as exited.
func awaitExit(pid int, start uint64, stop <-chan struct{}) (bool, error) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err == unix.ESRCH {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	// Non-blocking, so the wait goes through the runtime's poller and
	// Close ends it.
	f := os.NewFile(uintptr(fd), "pidfd")
	defer f.Close()
	// The PID may have been reused between the listing and the open.
	if st, err := osutil.ReadProcStat(pid); err != nil || st.StartTime != start || st.State == 'Z' {
		return true, nil
	}
	conn, err := f.SyscallConn()
	if err != nil {
		return false, err
	}
	defer closeOnStop(f, stop)()
	exited := false
	conn.Read(func(fd uintptr) bool {
		// A pidfd polls readable once its process has exited.
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, _ := unix.Poll(fds, 0)
		exited = n > 0
		return exited
	})
	return exited, nil
}

// closeOnStop closes f, which a wait reads through the runtime's poller, if
// stop is closed before the returned function is called, ending the wait.
func closeOnStop(f *os.File, stop <-chan struct{}) (finished func()) {
	done := make(chan struct{})
	go func() {
		select {
		case <-stop:
			f.Close()
		case <-done:
		}
	}()
	return func() { close(done) }
}
