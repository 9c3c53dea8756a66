package servstate

import (
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/pebble-project/pebble/internal/cgroup"
	"github.com/pebble-project/pebble/internal/limits"
	"github.com/pebble-project/pebble/internal/limits/shim"
	"github.com/pebble-project/pebble/internal/osutil"
	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/reaper"
)

// ExitOOMKilled is ServiceInfo.ExitReason after the kernel's OOM killer
// killed the main process because the service reached its memory limit.
const ExitOOMKilled = "oom-killed"

// limitBook keeps, per service, how its limits are enforced and what they
// did: the limits not enforced, OOM kills, the reason of the last exit.
type limitBook struct {
	mu   sync.Mutex
	recs map[string]*limitRecord
}

type limitRecord struct {
	notEnforced []limits.NotEnforced
	memoryDir   string // the memory cgroup of the current run, "" none
	oomAtLaunch uint64 // its OOM kill count when the run started
	oomKills    uint64 // OOM kills of the service's ended runs
	exitReason  string // ExitOOMKilled after an OOM kill of the main process
}

func (b *limitBook) rec(name string) *limitRecord {
	if b.recs == nil {
		b.recs = make(map[string]*limitRecord)
	}
	r := b.recs[name]
	if r == nil {
		r = &limitRecord{}
		b.recs[name] = r
	}
	return r
}

// handedLimits is a service's limitRecord in a hand-over.
type handedLimits struct {
	NotEnforced []limits.NotEnforced `json:"not-enforced,omitempty"`
	MemoryDir   string               `json:"memory-dir,omitempty"`
	OOMAtLaunch uint64               `json:"oom-at-launch,omitempty"`
	OOMKills    uint64               `json:"oom-kills,omitempty"`
	ExitReason  string               `json:"exit-reason,omitempty"`
}

// handOver returns the limit record of a service for a hand-over, nil if
// it has none.
func (b *limitBook) handOver(name string) *handedLimits {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.recs[name]
	if r == nil {
		return nil
	}
	return &handedLimits{NotEnforced: slices.Clone(r.notEnforced), MemoryDir: r.memoryDir,
		OOMAtLaunch: r.oomAtLaunch, OOMKills: r.oomKills, ExitReason: r.exitReason}
}

// takeOver sets the limit record of a service from a hand-over (nil:
// none).
func (b *limitBook) takeOver(name string, h *handedLimits) {
	if h == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	*b.rec(name) = limitRecord{notEnforced: h.NotEnforced, memoryDir: h.MemoryDir,
		oomAtLaunch: h.OOMAtLaunch, oomKills: h.OOMKills, exitReason: h.ExitReason}
}

// openLimits finds the controllers the daemon can use for limits.
func (m *Manager) openLimits() {
	if !m.opts.NoCgroups {
		id := cgroup.DaemonID(m.opts.Dir)
		if m.cgroups != nil {
			id = m.cgroups.ID()
		}
		m.v1 = cgroup.OpenV1(id, limits.Controllers)
	}
	m.limits = limits.NewEnforcer(m.cgroups, m.v1, m.opts.DisabledControllers)
}

// applyLimits puts the service's limits in place for cmd, the command of
// its next run: the cgroup limits written, and cmd wrapped in the shim when
// v1 cgroups or rlimits need it. Limits that cannot be enforced are
// recorded for ServiceInfo and, when they change, reported through
// Options.Warn.
func (s *service) applyLimits(cmd *exec.Cmd, svc *plan.Service) error {
	prep := s.m.limits.Prepare(s.name, svc.Limits)
	if prep.Spec != nil {
		if err := shim.Wrap(cmd, *prep.Spec); err != nil {
			return err
		}
	}
	var oom uint64
	if prep.MemoryDir != "" {
		oom, _ = limits.OOMKills(prep.MemoryDir)
	}
	b := &s.m.limitBook
	b.mu.Lock()
	r := b.rec(s.name)
	changed := !slices.Equal(r.notEnforced, prep.NotEnforced)
	r.notEnforced = prep.NotEnforced
	r.memoryDir, r.oomAtLaunch, r.exitReason = prep.MemoryDir, oom, ""
	b.mu.Unlock()
	if changed && len(prep.NotEnforced) > 0 {
		msg := notEnforcedMessage(s.name, prep.NotEnforced)
		s.m.logf("%s", msg)
		if s.m.opts.Warn != nil {
			s.m.opts.Warn(msg)
		}
	}
	return nil
}

// notEnforcedMessage is the warning about a service's unenforced limits.
func notEnforcedMessage(service string, not []limits.NotEnforced) string {
	parts := make([]string, len(not))
	for i, n := range not {
		parts[i] = n.String()
	}
	return "limits of service \"" + service + "\" not enforced: " + strings.Join(parts, "; ")
}

// noteLimitExit records whether the OOM killer ended a run: the main process
// died of SIGKILL while the run's memory cgroup counted an OOM kill.
func (m *Manager) noteLimitExit(name string, res reaper.ExitResult) {
	b := &m.limitBook
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.rec(name)
	r.exitReason = ""
	if r.memoryDir == "" {
		return
	}
	n, ok := limits.OOMKills(r.memoryDir)
	if !ok || n < r.oomAtLaunch {
		return
	}
	r.oomKills += n - r.oomAtLaunch
	if n > r.oomAtLaunch && res.Signal == syscall.SIGKILL {
		r.exitReason = ExitOOMKilled
	}
	r.memoryDir = ""
}

// oomKills returns the OOM kills of a service's runs so far, the current
// one included.
func (m *Manager) oomKills(name string) uint64 {
	b := &m.limitBook
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.recs[name]
	if r == nil {
		return 0
	}
	total := r.oomKills
	if r.memoryDir != "" {
		if n, ok := limits.OOMKills(r.memoryDir); ok && n > r.oomAtLaunch {
			total += n - r.oomAtLaunch
		}
	}
	return total
}

// exitReason returns the reason of the service's last exit (ExitOOMKilled
// or "").
func (m *Manager) exitReason(name string) string {
	b := &m.limitBook
	b.mu.Lock()
	defer b.mu.Unlock()
	if r := b.recs[name]; r != nil {
		return r.exitReason
	}
	return ""
}

// addLimitInfo fills the limit fields of service snapshots.
func (m *Manager) addLimitInfo(infos []ServiceInfo) {
	b := &m.limitBook
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range infos {
		if r := b.recs[infos[i].Name]; r != nil {
			infos[i].NotEnforced = slices.Clone(r.notEnforced)
			infos[i].ExitReason = r.exitReason
		}
	}
}

// retireLimits removes a service's v1 cgroups once its run is over.
func (m *Manager) retireLimits(name string) {
	m.v1.Remove(name)
}

// v1LeftoverTrees returns, by service name, the processes a previous
// daemon left in its v1 directories (found nowhere else where this daemon
// has no v2 tree).
func (m *Manager) v1LeftoverTrees() map[string][]*procTree {
	out := make(map[string][]*procTree)
	for name, dirs := range m.v1.Leftovers() {
		known := make(map[int]uint64)
		for _, d := range dirs {
			for _, pid := range cgroup.Procs(d) {
				if st, err := osutil.ReadProcStat(pid); err == nil && st.State != 'Z' {
					known[pid] = st.StartTime
				}
			}
		}
		if len(known) > 0 {
			out[name] = append(out[name], &procTree{leader: -1, known: known})
		}
	}
	return out
}
