// Package limits enforces a service's resource limits (plan.Limits,
// docs/resource-limits.md): memory, pids and cpu through the service's
// cgroups, the rlimits through setrlimit, all in place before the service's
// command runs.
//
// A cgroup limit goes through cgroup v2 where the daemon can use the
// controller (enabled, or delegated to the daemon's cgroup so that it can
// enable it in its own subtree), else through cgroup v1 where that
// controller's hierarchy is mounted (a hybrid host), else it is not
// enforced and Prepare says why. The daemon starts a service directly in
// its v2 cgroup (CLONE_INTO_CGROUP); v1 cgroups and rlimits need the
// process itself to act before exec, so a service with them starts through
// the shim (package shim): the daemon's own binary, which joins the v1 cgroups,
// sets the rlimits, drops to the service's user and executes the command in
// the same process.
//
// The package writes limit files and sets limits; the cgroup directories
// themselves, their names and their removal belong to package cgroup.
package limits

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/pebble-project/pebble/internal/cgroup"
	"github.com/pebble-project/pebble/internal/limits/shim"
	"github.com/pebble-project/pebble/internal/plan"
)

// Controllers are the cgroup controllers the limits use, in the order
// Prepare applies them.
var Controllers = []string{"memory", "pids", "cpu"}

// cpuPeriod is the CFS period of cpu limits, in microseconds.
const cpuPeriod = 100_000

// NotEnforced is a limit of a service that is not enforced, and why.
type NotEnforced struct {
	Limit  string `json:"limit"`
	Reason string `json:"reason"`
}

// String is "<limit>: <reason>".
func (n NotEnforced) String() string { return n.Limit + ": " + n.Reason }

// Enforcer applies the limits of services' runs. Its methods are safe for
// concurrent use.
type Enforcer struct {
	tree     *cgroup.Tree // nil: no cgroup v2 tree
	v1       *cgroup.V1   // nil: no v1 hierarchies
	disabled []string     // controllers treated as unavailable (tests)

	mu sync.Mutex
	// v2 holds, per controller tried, "" when the daemon's subtree has it
	// enabled, else why not.
	v2 map[string]string
}

// NewEnforcer returns an Enforcer for the daemon's v2 tree and v1
// hierarchies (either may be nil). Controllers in disabled are treated as
// unavailable in both, so tests can see how an unenforced limit is
// reported on a host that has them.
func NewEnforcer(tree *cgroup.Tree, v1 *cgroup.V1, disabled []string) *Enforcer {
	return &Enforcer{tree: tree, v1: v1, disabled: disabled, v2: make(map[string]string)}
}

// Prepared is how one run of a service gets its limits.
type Prepared struct {
	// Spec is for the shim (Wrap); nil when the run needs none.
	Spec *shim.Spec
	// NotEnforced lists the limits that are set but not enforced.
	NotEnforced []NotEnforced
	// MemoryDir is the cgroup directory enforcing the memory limit (v1 or
	// v2), whose OOM kills OOMKills counts; "" without one.
	MemoryDir string
}

// Prepare writes the cgroup limits of a service's next run into its
// cgroups (v2 directory, v1 directories made as needed) and returns what
// the launch must do. A service without limits gets a zero Prepared and
// costs nothing.
func (e *Enforcer) Prepare(service string, l plan.Limits) Prepared {
	var p Prepared
	if l.IsZero() {
		return p
	}
	var spec shim.Spec
	for _, ctrl := range Controllers {
		values, set := controllerValues(ctrl, l)
		if !set {
			continue
		}
		dir, v1, reason := e.place(service, ctrl)
		if reason == "" {
			reason = writeValues(dir, values[boolIndex(v1)])
		}
		if reason != "" {
			p.NotEnforced = append(p.NotEnforced, NotEnforced{Limit: ctrl, Reason: reason})
			continue
		}
		if v1 && !slices.Contains(spec.Join, dir) {
			spec.Join = append(spec.Join, dir)
		}
		if ctrl == "memory" {
			p.MemoryDir = dir
		}
	}
	var not []NotEnforced
	spec.Rlimits, not = rlimits(l)
	p.NotEnforced = append(p.NotEnforced, not...)
	if len(spec.Join) > 0 || len(spec.Rlimits) > 0 {
		p.Spec = &spec
	}
	return p
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

// place finds the directory enforcing ctrl for service: its v2 cgroup
// where the controller is enabled there, else its v1 directory (v1 is
// set); reason says why neither is possible.
func (e *Enforcer) place(service, ctrl string) (dir string, v1 bool, reason string) {
	if slices.Contains(e.disabled, ctrl) {
		return "", false, fmt.Sprintf("the %s controller is disabled for this daemon", ctrl)
	}
	v2reason := "cgroup v2 is not mounted or not writable"
	if e.tree != nil {
		if v2reason = e.enableV2(ctrl); v2reason == "" {
			dir := e.tree.Path(service)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return "", false, fmt.Sprintf("cannot create cgroup: %v", err)
			}
			return dir, false, ""
		}
	}
	if !e.v1.Has(ctrl) {
		return "", false, fmt.Sprintf("%s, and no cgroup v1 %s hierarchy is mounted", v2reason, ctrl)
	}
	dir, err := e.v1.Create(ctrl, service)
	if err != nil {
		return "", false, fmt.Sprintf("%s, and cgroup v1: %v", v2reason, err)
	}
	return dir, true, ""
}

// enableV2 enables ctrl in the daemon's v2 subtree, once, and returns ""
// or why it cannot.
func (e *Enforcer) enableV2(ctrl string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if reason, ok := e.v2[ctrl]; ok {
		return reason
	}
	reason := enableInSubtree(e.tree.Root(), ctrl)
	e.v2[ctrl] = reason
	return reason
}

// enableInSubtree enables ctrl for the children of root, first for root
// itself through its parent (the daemon's own cgroup) where needed.
func enableInSubtree(root, ctrl string) string {
	if hasWord(filepath.Join(root, "cgroup.subtree_control"), ctrl) {
		return ""
	}
	if !hasWord(filepath.Join(root, "cgroup.controllers"), ctrl) {
		parent := filepath.Dir(root)
		if !hasWord(filepath.Join(parent, "cgroup.controllers"), ctrl) {
			return fmt.Sprintf("cgroup v2 has no %s controller for the daemon's cgroup", ctrl)
		}
		if err := os.WriteFile(filepath.Join(parent, "cgroup.subtree_control"), []byte("+"+ctrl), 0); err != nil {
			return fmt.Sprintf("cannot enable the cgroup v2 %s controller in the daemon's cgroup: %v", ctrl, err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "cgroup.subtree_control"), []byte("+"+ctrl), 0); err != nil {
		return fmt.Sprintf("cannot enable the cgroup v2 %s controller: %v", ctrl, err)
	}
	return ""
}

// hasWord reports whether the space-separated file holds word.
func hasWord(path, word string) bool {
	data, err := os.ReadFile(path)
	return err == nil && slices.Contains(strings.Fields(string(data)), word)
}

// fileValue is one value written into a cgroup file; optional files that
// do not exist are skipped (memory.swap.max without swap accounting).
type fileValue struct {
	file, value string
	optional    bool
}

// controllerValues returns the files to write for ctrl under v2 ([0]) and
// v1 ([1]), and whether l sets that limit.
func controllerValues(ctrl string, l plan.Limits) ([2][]fileValue, bool) {
	switch ctrl {
	case "memory":
		if !l.Memory.IsSet {
			break
		}
		v2, v1, swap := "max", "-1", "max"
		if l.Memory.Value != plan.Unlimited {
			v2 = strconv.FormatUint(l.Memory.Value, 10)
			v1, swap = v2, "0"
		}
		return [2][]fileValue{
			{{"memory.max", v2, false}, {"memory.swap.max", swap, true}},
			// memsw must stay at least the limit: lift it, set the limit, lower it.
			{{"memory.memsw.limit_in_bytes", "-1", true}, {"memory.limit_in_bytes", v1, false}, {"memory.memsw.limit_in_bytes", v1, true}},
		}, true
	case "pids":
		if !l.Pids.IsSet {
			break
		}
		v := "max"
		if l.Pids.Value != plan.Unlimited {
			v = strconv.FormatUint(l.Pids.Value, 10)
		}
		return [2][]fileValue{{{"pids.max", v, false}}, {{"pids.max", v, false}}}, true
	case "cpu":
		if !l.CPU.IsSet {
			break
		}
		quota := int64(math.Round(l.CPU.Value * cpuPeriod))
		q := strconv.FormatInt(quota, 10)
		return [2][]fileValue{
			{{"cpu.max", fmt.Sprintf("%s %d", q, cpuPeriod), false}},
			{{"cpu.cfs_period_us", strconv.Itoa(cpuPeriod), false}, {"cpu.cfs_quota_us", q, false}},
		}, true
	}
	return [2][]fileValue{}, false
}

// writeValues writes the values into dir and returns "" or why not.
func writeValues(dir string, values []fileValue) string {
	for _, v := range values {
		path := filepath.Join(dir, v.file)
		if v.optional {
			if _, err := os.Stat(path); err != nil {
				continue
			}
		}
		if err := os.WriteFile(path, []byte(v.value), 0); err != nil {
			return fmt.Sprintf("cannot write %s: %v", v.file, err)
		}
	}
	return ""
}

// OOMKills returns how many processes the kernel's OOM killer has killed
// in the memory cgroup dir (v2 memory.events or v1 memory.oom_control).
func OOMKills(dir string) (uint64, bool) {
	for _, name := range []string{"memory.events", "memory.oom_control"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
				n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
				return n, err == nil
			}
		}
	}
	return 0, false
}
