package servstate

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pebble-project/pebble/internal/cgroup"
	"github.com/pebble-project/pebble/internal/osutil"
	"golang.org/x/sys/unix"
)

// Usage is the resource usage of one service's whole process tree, so a
// platform can charge each service back. docs/resource-limits.md says
// where each figure comes from.
type Usage struct {
	Name string
	Measures
	// Group is the service's charge group, "" for none.
	Group string
}

// Measures are the figures of a service's usage (Usage) or of a charge
// group's (GroupUsage).
type Measures struct {
	// CPU is the user and system CPU time the service's processes used
	// since the daemon started, over all its runs, and CPUUser and
	// CPUSystem its two parts: time running the service's own code and
	// time the kernel worked for it. They never decrease while the
	// service has a record; a record forgotten after a week inactive
	// (behaviour.md §10.3) starts again from zero, like a service that was
	// never started.
	//
	// Where the service runs in its own cgroup they come from the
	// cgroup's cpu.stat (usage_usec, user_usec, system_usec), which counts
	// every process that ever ran in it, plus the final figures of each
	// earlier run's cgroup. Elsewhere they are the sum over the live
	// processes of the tree (main process, its process group and its
	// descendants, each with the CPU time of the children it waited for),
	// raised at the main process's exit to what wait4 reported for it
	// (noteExit). CPU time of a process that exits between two readings
	// without being waited for by the tree may be missed: it is then a
	// lower bound.
	CPU, CPUUser, CPUSystem time.Duration
	// Memory is the memory the service uses now, in bytes: the cgroup's
	// memory.current where the v2 memory controller is enabled for it,
	// else memory.usage_in_bytes of its v1 memory cgroup (a service with
	// a memory limit on a host with v1 memory), else the sum of the
	// resident set sizes of its processes (which counts shared pages once
	// per process).
	Memory uint64
	// MemoryPeak is the most memory the service used at once since the
	// daemon started, over all its runs (valid when HasMemoryPeak): the
	// cgroup's memory.peak (v2) or memory.max_usage_in_bytes (v1), else
	// a lower bound, the larger of the highest sum of resident set sizes
	// seen by a reading and the highest peak resident set size (VmHWM)
	// of one process.
	MemoryPeak    uint64
	HasMemoryPeak bool
	// Processes is how many processes the service has now, and FDs how
	// many file descriptors they have open together (valid when HasFDs:
	// /proc/<pid>/fd could be read for each).
	Processes int
	FDs       int
	HasFDs    bool
	// IORead and IOWrite are the bytes the service's processes read from
	// and wrote to storage since the daemon started, over all its runs
	// (valid when HasIO): the cgroup's io.stat (rbytes, wbytes) where the
	// v2 io controller is enabled for it, else read_bytes and write_bytes
	// of /proc/<pid>/io summed like CPU over the process tree, and raised
	// like CPU at the main process's exit. Reads the
	// page cache served and traffic on pipes, sockets and terminals are
	// not storage I/O and are not counted.
	IORead, IOWrite uint64
	HasIO           bool
	// Starts is how many times the service was launched, and OOMKills
	// how many of its processes the kernel's OOM killer killed
	// (chargeback.go).
	Starts   int
	OOMKills uint64
}

// add adds o's figures to m; a figure stays known only if it is in both.
func (m *Measures) add(o Measures) {
	m.CPU += o.CPU
	m.CPUUser += o.CPUUser
	m.CPUSystem += o.CPUSystem
	m.Memory += o.Memory
	m.MemoryPeak += o.MemoryPeak
	m.HasMemoryPeak = m.HasMemoryPeak && o.HasMemoryPeak
	m.Processes += o.Processes
	m.FDs += o.FDs
	m.HasFDs = m.HasFDs && o.HasFDs
	m.IORead += o.IORead
	m.IOWrite += o.IOWrite
	m.HasIO = m.HasIO && o.HasIO
	m.Starts += o.Starts
	m.OOMKills += o.OOMKills
}

// The counters of a service, as indices of a counterVec; CPU times are in
// nanoseconds, I/O in bytes.
const (
	cntCPU = iota
	cntUser
	cntSystem
	cntRead
	cntWrite
	numCounters
)

// counterVec is one reading of a service's counters.
type counterVec [numCounters]uint64

// counterSet tells which counters of a counterVec a reading gave.
type counterSet [numCounters]bool

// usageBook keeps the counters and peak memory of each service across
// its runs.
type usageBook struct {
	mu   sync.Mutex
	acct map[string]*serviceMeters
	// controllersOnce tries, once, to enable the memory and io
	// controllers for the service cgroups.
	controllersOnce sync.Once
	// controllers caches serviceControllers' answer, {memory, io}; nil
	// until read. The per-daemon cgroup is this daemon's: its
	// subtree_control changes only through controllersOnce, which reads it
	// again.
	controllers atomic.Pointer[[2]bool]
}

// serviceMeters are the accounts of one service: the counters read from
// its cgroup and those summed over its processes, kept apart because each
// source starts again from zero at its own time (a new cgroup, a new
// process tree), and its peak memory.
type serviceMeters struct {
	cgroup, tree meter
	peak         uint64
	hasPeak      bool
}

// meter turns readings that restart from zero with each run into
// counters that never decrease.
type meter struct {
	base   counterVec // figures of runs that ended
	last   counterVec // latest reading of the current run
	seen   counterSet // counters some reading gave
	leader int        // main PID of the current run (process-tree readings)
}

// observe records a reading of the current run of the process tree led
// by leader (0: a cgroup reading, whose runs end through endRun only).
func (m *meter) observe(leader int, cur counterVec, has counterSet) {
	if leader != 0 && m.leader != 0 && leader != m.leader {
		m.endRun() // a new run of a service without its own cgroup
	}
	if leader != 0 {
		m.leader = leader
	}
	for i := range cur {
		if !has[i] {
			continue
		}
		if cur[i] < m.last[i] {
			// Processes left the tree, or the cgroup was made anew:
			// keep what was seen.
			m.base[i] += m.last[i] - cur[i]
		}
		m.last[i] = cur[i]
		m.seen[i] = true
	}
}

// raise records the final figures of the run led by leader where they
// exceed its latest reading.
func (m *meter) raise(leader int, final counterVec, has counterSet) {
	if m.leader != 0 && leader != m.leader {
		m.endRun()
	}
	m.leader = leader
	for i := range final {
		if has[i] {
			m.last[i] = max(m.last[i], final[i])
			m.seen[i] = true
		}
	}
}

// endRun moves the current run's figures to the base.
func (m *meter) endRun() {
	for i := range m.last {
		m.base[i] += m.last[i]
		m.last[i] = 0
	}
	m.leader = 0
}

// total returns counter i.
func (m *meter) total(i int) uint64 { return m.base[i] + m.last[i] }

// notePeak raises the peak memory to v.
func (s *serviceMeters) notePeak(v uint64) {
	s.peak = max(s.peak, v)
	s.hasPeak = true
}

// fill sets the counters and the peak of u.
func (s *serviceMeters) fill(u *Measures) {
	sum := func(i int) uint64 { return s.cgroup.total(i) + s.tree.total(i) }
	u.CPU = time.Duration(sum(cntCPU))
	u.CPUUser = time.Duration(sum(cntUser))
	u.CPUSystem = time.Duration(sum(cntSystem))
	u.IORead, u.IOWrite = sum(cntRead), sum(cntWrite)
	u.HasIO = (s.cgroup.seen[cntRead] || s.tree.seen[cntRead]) && (s.cgroup.seen[cntWrite] || s.tree.seen[cntWrite])
	u.MemoryPeak, u.HasMemoryPeak = s.peak, s.hasPeak
}

// meters returns the accounts of a service; b.mu is held.
func (b *usageBook) meters(name string) *serviceMeters {
	if b.acct == nil {
		b.acct = make(map[string]*serviceMeters)
	}
	s := b.acct[name]
	if s == nil {
		s = &serviceMeters{}
		b.acct[name] = s
	}
	return s
}

// source is where one reading of a service looks.
type source struct {
	leader    int    // main PID, 0 when none
	cgroupDir string // its v2 cgroup, "" when it runs in none
	withIO    bool   // the v2 cgroup has the io controller
	memory    memorySource
	members   []int // its processes
}

// read takes one reading of a service and fills u with it. Readings and
// retirements are serialised, so a removed cgroup's figures are counted
// exactly once.
func (b *usageBook) read(u *Usage, src source) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.meters(u.Name)
	var fromCgroup counterSet
	if src.cgroupDir != "" {
		var cur counterVec
		cur, fromCgroup = cgroupCounters(src.cgroupDir, src.withIO)
		s.cgroup.observe(0, cur, fromCgroup)
	}
	memory, peak, memoryKnown := src.memory.read()
	sums := sumProcs(src.members, !fromCgroup[cntRead], !memoryKnown)
	var fromTree counterSet
	for i, ok := range sums.has {
		fromTree[i] = ok && !fromCgroup[i]
	}
	s.tree.observe(src.leader, sums.counters, fromTree)
	switch {
	case memoryKnown:
		u.Memory = memory
		s.notePeak(max(memory, peak))
	case len(src.members) > 0:
		u.Memory = sums.rss
		s.notePeak(max(sums.rss, sums.peakRSS))
	}
	u.Processes = len(src.members)
	u.FDs, u.HasFDs = sums.fds, sums.hasFDs
	s.fill(&u.Measures)
}

// retire takes the final reading of a service's run: the counters of its
// cgroup src.cgroupDir ("" none), which remove then deletes, and the peak
// of its memory cgroup. Once the cgroup is removed its figures move to the
// base and the next cgroup counts from zero; the process-tree counters of
// the run end in any case.
func (b *usageBook) retire(name string, src source, remove func() error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.meters(name)
	if _, peak, ok := src.memory.read(); ok && peak > 0 {
		s.notePeak(peak)
	}
	s.tree.endRun()
	if src.cgroupDir == "" {
		return
	}
	cur, has := cgroupCounters(src.cgroupDir, src.withIO)
	s.cgroup.observe(0, cur, has)
	if remove() == nil {
		// Else the cgroup stays, and the next run goes on counting in it.
		s.cgroup.endRun()
	}
}

// noteExit takes the figures wait4 gave for a run's main process at its
// exit, which include the children it waited for: CPU times, and blocks
// read and written (512 bytes each; writes dropped before writeback are
// left out). They raise the process-tree counters where they exceed the
// latest reading, so a run that ended between two readings, or worked
// after the last one, still counts. Counters the run's cgroup keeps (CPU
// when inCgroup, I/O when ioInCgroup) are left to it.
func (b *usageBook) noteExit(name string, leader int, usage unix.Rusage, inCgroup, ioInCgroup bool) {
	var final counterVec
	var has counterSet
	if !inCgroup {
		user, system := uint64(usage.Utime.Nano()), uint64(usage.Stime.Nano())
		final[cntCPU], final[cntUser], final[cntSystem] = user+system, user, system
		has[cntCPU], has[cntUser], has[cntSystem] = true, true, true
	}
	if !ioInCgroup {
		final[cntRead], final[cntWrite] = uint64(usage.Inblock)*512, uint64(usage.Oublock)*512
		has[cntRead], has[cntWrite] = true, true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.meters(name).tree.raise(leader, final, has)
}

// handedUsage is a service's accounts in a hand-over.
type handedUsage struct {
	Cgroup  handedMeter `json:"cgroup"`
	Tree    handedMeter `json:"tree"`
	Peak    uint64      `json:"peak,omitempty"`
	HasPeak bool        `json:"has-peak,omitempty"`
}

// handedMeter is a meter in a hand-over.
type handedMeter struct {
	Base   counterVec `json:"base"`
	Last   counterVec `json:"last"`
	Seen   counterSet `json:"seen"`
	Leader int        `json:"leader,omitempty"`
}

func (m meter) handed() handedMeter {
	return handedMeter{Base: m.base, Last: m.last, Seen: m.seen, Leader: m.leader}
}

func (h handedMeter) meter() meter {
	return meter{base: h.Base, last: h.Last, seen: h.Seen, leader: h.Leader}
}

// handOver returns the accounts of a service for a hand-over, nil if it
// has none.
func (b *usageBook) handOver(name string) *handedUsage {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.acct[name]
	if s == nil {
		return nil
	}
	return &handedUsage{Cgroup: s.cgroup.handed(), Tree: s.tree.handed(), Peak: s.peak, HasPeak: s.hasPeak}
}

// takeOver sets the accounts of a service from a hand-over (nil: none).
func (b *usageBook) takeOver(name string, h *handedUsage) {
	if h == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.meters(name)
	s.cgroup, s.tree, s.peak, s.hasPeak = h.Cgroup.meter(), h.Tree.meter(), h.Peak, h.HasPeak
}

// forget drops the accounts of a forgotten service record.
func (b *usageBook) forget(name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.acct, name)
}

// Usage returns the resource usage of the named services, or of every
// service that has been started when names is empty, sorted by name.
// Services never started are left out.
func (m *Manager) Usage(names []string) []Usage {
	if m.cgroups != nil {
		m.usage.controllersOnce.Do(func() {
			// Best effort: it works where the daemon's own cgroup
			// delegates the controller (for example as PID 1 of a
			// container with its own cgroup namespace). One write each:
			// a write naming a missing controller enables none.
			for _, c := range []string{"+memory", "+io"} {
				os.WriteFile(filepath.Join(m.cgroups.Root(), "cgroup.subtree_control"), []byte(c), 0)
			}
			c := m.readControllers()
			m.usage.controllers.Store(&c)
		})
	}
	memoryV2, ioV2 := m.serviceControllers()
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
		u := Usage{Name: s.name, Measures: Measures{Starts: starts}}
		src := source{leader: max(pid, 0), withIO: ioV2}
		if m.cgroups != nil {
			dir := m.cgroups.Path(s.name)
			if members, ok := cgroupMembers(dir, pid); ok {
				src.cgroupDir, src.members = dir, members
			}
		}
		if src.cgroupDir == "" && pid > 0 {
			if !procsRead {
				procs, _ = osutil.AllProcs()
				procsRead = true
			}
			src.members = treeOf(procs, pid)
		}
		src.memory = m.memorySource(s.name, src.cgroupDir, memoryV2)
		m.usage.read(&u, src)
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	m.addCharges(out)
	return out
}

// retireUsage takes the final figures of a service's run and removes its
// v2 cgroup dir ("" when it ran in none), before its v1 cgroups go.
func (m *Manager) retireUsage(name, dir string) {
	memoryV2, ioV2 := m.serviceControllers()
	src := source{cgroupDir: dir, withIO: ioV2, memory: m.memorySource(name, dir, memoryV2)}
	m.usage.retire(name, src, func() error { return m.cgroups.Remove(name) })
}

// serviceControllers reports whether the service cgroups have the v2
// memory and io controllers (the per-daemon cgroup's subtree_control),
// which decides where their memory and I/O figures come from. It reads the
// file once (every exit of a service asks).
func (m *Manager) serviceControllers() (memory, io bool) {
	if m.cgroups == nil {
		return false, false
	}
	if c := m.usage.controllers.Load(); c != nil {
		return c[0], c[1]
	}
	c := m.readControllers()
	// A reading taken before controllersOnce stored its own loses.
	m.usage.controllers.CompareAndSwap(nil, &c)
	return c[0], c[1]
}

// readControllers reads {memory, io} of serviceControllers from the file.
func (m *Manager) readControllers() [2]bool {
	data, _ := osutil.ReadKernelFile(filepath.Join(m.cgroups.Root(), "cgroup.subtree_control"))
	enabled := strings.Fields(string(data))
	return [2]bool{slices.Contains(enabled, "memory"), slices.Contains(enabled, "io")}
}

// memorySource is the cgroup whose memory figures are a service's own.
type memorySource struct {
	dir string // "" for none
	v1  bool
}

// memorySource returns the service's v2 cgroup dir where the memory
// controller is enabled for it (memoryV2), else its v1 memory cgroup,
// which exists where a memory limit is enforced through v1.
func (m *Manager) memorySource(name, dir string, memoryV2 bool) memorySource {
	if dir != "" && memoryV2 {
		return memorySource{dir: dir}
	}
	return memorySource{dir: m.v1.Path("memory", name), v1: true}
}

// read returns the memory in use and the peak, v2 (memory.current,
// memory.peak) or v1 (memory.usage_in_bytes, memory.max_usage_in_bytes);
// peak is 0 where the kernel keeps none. ok is false without a cgroup or
// when it cannot be read.
func (s memorySource) read() (current, peak uint64, ok bool) {
	if s.dir == "" {
		return 0, 0, false
	}
	now, most := "memory.current", "memory.peak"
	if s.v1 {
		now, most = "memory.usage_in_bytes", "memory.max_usage_in_bytes"
	}
	if current, ok = readUint(filepath.Join(s.dir, now)); ok {
		peak, _ = readUint(filepath.Join(s.dir, most))
	}
	return current, peak, ok
}

// cgroupMembers returns the processes in the service's cgroup directory,
// and whether the cgroup exists and is the one its processes run in: it
// holds the main process, or the service has no main process (a stop in
// progress, or the cgroup of a stopped service: its last figures).
func cgroupMembers(dir string, pid int) ([]int, bool) {
	data, err := osutil.ReadKernelFile(filepath.Join(dir, "cgroup.procs"))
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

// procSums are figures of /proc added up over processes.
type procSums struct {
	counters counterVec
	has      counterSet
	rss      uint64 // sum of the resident set sizes
	peakRSS  uint64 // the largest peak resident set size of one process
	fds      int
	hasFDs   bool
}

// sumProcs adds up the figures of processes: CPU times, resident memory
// and open file descriptors, storage I/O when withIO, peak resident
// memory when withPeak. A figure is known when it could be read for every
// process still alive; one that exited meanwhile counts as nothing.
func sumProcs(pids []int, withIO, withPeak bool) procSums {
	var s procSums
	cpuOK, ioOK := len(pids) > 0, withIO && len(pids) > 0
	s.hasFDs = true
	for _, pid := range pids {
		u, err := osutil.ReadProcUsage(pid)
		if err != nil {
			cpuOK = cpuOK && gone(err)
			continue
		}
		s.counters[cntCPU] += uint64(u.CPU)
		s.counters[cntUser] += uint64(u.User)
		s.counters[cntSystem] += uint64(u.System)
		s.rss += u.RSS
		if n, err := osutil.CountFDs(pid); err == nil {
			s.fds += n
		} else {
			s.hasFDs = s.hasFDs && gone(err)
		}
		if withIO {
			if io, err := osutil.ReadProcIO(pid); err == nil {
				s.counters[cntRead] += io.ReadBytes
				s.counters[cntWrite] += io.WriteBytes
			} else {
				ioOK = ioOK && gone(err)
			}
		}
		if withPeak {
			if p, err := osutil.ReadPeakRSS(pid); err == nil {
				s.peakRSS = max(s.peakRSS, p)
			}
		}
	}
	s.has[cntCPU], s.has[cntUser], s.has[cntSystem] = cpuOK, cpuOK, cpuOK
	s.has[cntRead], s.has[cntWrite] = ioOK, ioOK
	return s
}

// gone reports whether err is that of reading a process that has exited.
func gone(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH)
}

// cgroupCounters reads the CPU times of a v2 cgroup's cpu.stat and, when
// withIO (the io controller is enabled for it), the bytes of its io.stat.
func cgroupCounters(dir string, withIO bool) (counterVec, counterSet) {
	var cur counterVec
	var has counterSet
	if data, err := osutil.ReadKernelFile(filepath.Join(dir, "cpu.stat")); err == nil {
		for _, line := range bytes.Split(data, []byte("\n")) {
			key, value, _ := bytes.Cut(line, []byte(" "))
			i := slices.Index([]string{"usage_usec", "user_usec", "system_usec"}, string(key))
			if i < 0 {
				continue
			}
			if n, err := strconv.ParseUint(string(value), 10, 64); err == nil {
				cur[cntCPU+i] = n * uint64(time.Microsecond)
				has[cntCPU+i] = true
			}
		}
	}
	if !withIO {
		return cur, has
	}
	if data, err := osutil.ReadKernelFile(filepath.Join(dir, "io.stat")); err == nil {
		// "8:0 rbytes=1024 wbytes=4096 rios=1 wios=1 dbytes=0 dios=0"
		// per device.
		for _, field := range bytes.Fields(data) {
			key, value, ok := bytes.Cut(field, []byte("="))
			n, err := strconv.ParseUint(string(value), 10, 64)
			switch {
			case !ok || err != nil:
			case string(key) == "rbytes":
				cur[cntRead] += n
			case string(key) == "wbytes":
				cur[cntWrite] += n
			}
		}
		has[cntRead], has[cntWrite] = true, true
	}
	return cur, has
}

func readUint(path string) (uint64, bool) {
	data, err := osutil.ReadKernelFile(path)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(string(bytes.TrimSpace(data)), 10, 64)
	return n, err == nil
}
