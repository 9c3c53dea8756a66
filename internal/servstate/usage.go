package servstate

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/pebble-project/pebble/internal/cgroup"
	"github.com/pebble-project/pebble/internal/osutil"
)

// Usage is the resource usage of one service's whole process tree, so a
// platform can charge each service back.
type Usage struct {
	Name string
	// CPU is the user and system CPU time the service's processes used
	// since the daemon started, over all its runs. It never decreases while
	// the service has a record; a record forgotten after a week inactive
	// (behaviour.md §10.3) starts again from zero, like a service that was
	// never started.
	//
	// Where the service runs in its own cgroup this is the cgroup's
	// cpu.stat usage_usec, which counts every process that ever ran in it,
	// plus the final figure of each earlier run's cgroup. Elsewhere it is
	// the sum over the live processes of the tree (main process, its
	// process group and its descendants, each with the CPU time of the
	// children it waited for), so CPU time of a process that exits
	// between two readings without being waited for by the tree may be
	// missed: it is then a lower bound.
	CPU time.Duration
	// Memory is the memory the service uses now, in bytes: the cgroup's
	// memory.current where the memory controller is enabled for it, else
	// the sum of the resident set sizes of its processes (which counts
	// shared pages once per process).
	Memory uint64
	// Processes is how many processes the service has now.
	Processes int
	// The charge-back figures of chargeback.go: the service's charge
	// group, how many times it was launched, and the processes the OOM
	// killer killed in it.
	Group    string
	Starts   int
	OOMKills uint64
}

// usageBook keeps the CPU time of runs that ended, per service.
type usageBook struct {
	mu   sync.Mutex
	acct map[string]*cpuAcct
	// memoryOnce tries, once, to enable the memory controller for the
	// service cgroups.
	memoryOnce sync.Once
}

// cpuAcct turns readings that restart from zero with each run (a new
// cgroup, a new process tree) into one counter that never decreases.
type cpuAcct struct {
	base   time.Duration // CPU time of runs that ended
	last   time.Duration // latest reading of the current run
	leader int           // main PID of the current run (process-tree mode)
}

// observeLocked records a reading of the current run and returns the
// total; b.mu is held.
func (b *usageBook) observeLocked(name string, leader int, cur time.Duration) time.Duration {
	if b.acct == nil {
		b.acct = make(map[string]*cpuAcct)
	}
	a := b.acct[name]
	if a == nil {
		a = &cpuAcct{}
		b.acct[name] = a
	}
	if leader != 0 && a.leader != 0 && leader != a.leader {
		// A new run of a service without its own cgroup.
		a.base += a.last
		a.last = 0
	}
	if leader != 0 {
		a.leader = leader
	}
	if cur < a.last {
		// Processes left the tree, or the cgroup was made anew: keep
		// what was seen.
		a.base += a.last - cur
	}
	a.last = cur
	return a.base + cur
}

// observe records a reading of a process tree and returns the total.
func (b *usageBook) observe(name string, leader int, cur time.Duration) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.observeLocked(name, leader, cur)
}

// total returns the counter without a new reading.
func (b *usageBook) total(name string) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if a := b.acct[name]; a != nil {
		return a.base + a.last
	}
	return 0
}

// cgroupReading reads a service's cgroup and returns the total; ok is false
// when the cgroup cannot be read. Readings and removals are serialised, so
// a removed cgroup's figures are counted exactly once.
func (b *usageBook) cgroupReading(name, dir string) (total time.Duration, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	cur, ok := cgroupCPU(dir)
	if !ok {
		if a := b.acct[name]; a != nil {
			return a.base + a.last, false
		}
		return 0, false
	}
	return b.observeLocked(name, 0, cur), true
}

// retire takes the final reading of a service's cgroup and removes it with
// remove; once removed, its figures move to the base and the next cgroup
// counts from zero.
func (b *usageBook) retire(name, dir string, remove func() error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	cur, ok := cgroupCPU(dir)
	if err := remove(); err != nil {
		if ok {
			b.observeLocked(name, 0, cur)
		}
		return err
	}
	if ok {
		b.observeLocked(name, 0, cur)
	}
	if a := b.acct[name]; a != nil {
		a.base += a.last
		a.last = 0
	}
	return nil
}

// Usage returns the resource usage of the named services, or of every
// service that has been started when names is empty, sorted by name.
// Services never started are left out.
func (m *Manager) Usage(names []string) []Usage {
	if m.cgroups != nil {
		m.usage.memoryOnce.Do(func() {
			// Best effort: it works where the daemon's own cgroup
			// delegates the memory controller (for example as PID 1 of a
			// container with its own cgroup namespace).
			os.WriteFile(filepath.Join(m.cgroups.Root(), "cgroup.subtree_control"), []byte("+memory"), 0)
		})
	}
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	var procs []osutil.ProcStat
	procsRead := false
	var out []Usage
	for _, s := range m.allRecords() {
		if len(want) > 0 && !want[s.name] {
			continue
		}
		s.mu.Lock()
		pid, starts, started := s.pid, s.startCount, s.startCount > 0 && !s.forgotten
		s.mu.Unlock()
		if !started {
			continue
		}
		u := Usage{Name: s.name, Starts: starts}
		if m.cgroups != nil {
			dir := m.cgroups.Path(s.name)
			if members, ok := cgroupMembers(dir, pid); ok {
				u.CPU, _ = m.usage.cgroupReading(s.name, dir)
				u.Processes = len(members)
				if mem, ok := readUint(filepath.Join(dir, "memory.current")); ok {
					u.Memory = mem
				} else {
					u.Memory, _ = sumUsage(members)
				}
				out = append(out, u)
				continue
			}
		}
		if pid <= 0 {
			u.CPU = m.usage.total(s.name)
			out = append(out, u)
			continue
		}
		if !procsRead {
			procs, _ = osutil.AllProcs()
			procsRead = true
		}
		members := treeOf(procs, pid)
		mem, cpu := sumUsage(members)
		u.Memory, u.Processes = mem, len(members)
		u.CPU = m.usage.observe(s.name, pid, cpu)
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	m.addCharges(out)
	return out
}

// cgroupMembers returns the processes in the service's cgroup directory,
// and whether the cgroup exists and is the one its processes run in: it
// holds the main process, or the service has no main process (a stop in
// progress, or the cgroup of a stopped service: its last figures).
func cgroupMembers(dir string, pid int) ([]int, bool) {
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil, false
	}
	pids := cgroup.ParsePIDs(data)
	return pids, pid <= 0 || slices.Contains(pids, pid)
}

// treeOf returns the live processes of the tree led by pid: the leader,
// its descendants and the members of its process group.
func treeOf(procs []osutil.ProcStat, pid int) []int {
	seen := map[int]bool{}
	var out []int
	add := func(p osutil.ProcStat) {
		if p.State != 'Z' && !seen[p.PID] {
			seen[p.PID] = true
			out = append(out, p.PID)
		}
	}
	var group []int
	for _, p := range procs {
		if p.PID == pid || p.PGID == pid {
			add(p)
			group = append(group, p.PID)
		}
	}
	for _, p := range osutil.Descendants(procs, group...) {
		add(p)
	}
	return out
}

// sumUsage adds up the resident memory and CPU time of processes.
func sumUsage(pids []int) (mem uint64, cpu time.Duration) {
	for _, pid := range pids {
		if u, err := osutil.ReadProcUsage(pid); err == nil {
			mem += u.RSS
			cpu += u.CPU
		}
	}
	return mem, cpu
}

// cgroupCPU reads usage_usec from a cgroup's cpu.stat.
func cgroupCPU(dir string) (time.Duration, bool) {
	data, err := os.ReadFile(filepath.Join(dir, "cpu.stat"))
	if err != nil {
		return 0, false
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("usage_usec ")); ok {
			n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
			if err != nil {
				return 0, false
			}
			return time.Duration(n) * time.Microsecond, true
		}
	}
	return 0, false
}

func readUint(path string) (uint64, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(string(bytes.TrimSpace(data)), 10, 64)
	return n, err == nil
}

// forget drops the CPU account of a forgotten service record.
func (b *usageBook) forget(name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.acct, name)
}
