package limits

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/pebble-project/pebble/internal/limits/shim"
	"github.com/pebble-project/pebble/internal/plan"
)

// rlimitResources maps the plan's rlimit keys to setrlimit resources.
var rlimitResources = []struct {
	key      string
	resource int
}{
	{"nofile", unix.RLIMIT_NOFILE},
	{"nproc", unix.RLIMIT_NPROC},
	{"core", unix.RLIMIT_CORE},
	{"stack", unix.RLIMIT_STACK},
	{"as", unix.RLIMIT_AS},
	{"cpu-time", unix.RLIMIT_CPU},
}

// rlimits returns the rlimits of l the shim can set, and the ones it
// cannot with why: a value above what the kernel allows at all (nofile
// above fs.nr_open), or a hard limit the daemon may not raise.
func rlimits(l plan.Limits) ([]shim.Rlimit, []NotEnforced) {
	var out []shim.Rlimit
	var not []NotEnforced
	// Read /proc/self/status only when an rlimit is set, once for all.
	privileged := sync.OnceValue(canRaiseHardLimits)
	for _, r := range rlimitResources {
		v := *l.Limit(r.key)
		if !v.IsSet {
			continue
		}
		value := v.Value
		if value == plan.Unlimited {
			value = unix.RLIM_INFINITY
		}
		if reason := rlimitBlocked(r.resource, value, privileged); reason != "" {
			not = append(not, NotEnforced{Limit: r.key, Reason: reason})
			continue
		}
		out = append(out, shim.Rlimit{Name: r.key, Resource: r.resource, Value: value})
	}
	return out, not
}

// rlimitBlocked says why setrlimit would refuse value, or "".
func rlimitBlocked(resource int, value uint64, privileged func() bool) string {
	if resource == unix.RLIMIT_NOFILE {
		if max, ok := nrOpen(); ok && value > max {
			return fmt.Sprintf("the kernel allows at most %d open files per process (fs.nr_open)", max)
		}
	}
	if privileged() {
		return ""
	}
	var cur unix.Rlimit
	if err := unix.Getrlimit(resource, &cur); err == nil && value > cur.Max {
		return fmt.Sprintf("the daemon's own hard limit is %s and it may not raise it (no CAP_SYS_RESOURCE)", formatRlimit(cur.Max))
	}
	return ""
}

func formatRlimit(v uint64) string {
	if v == unix.RLIM_INFINITY {
		return "unlimited"
	}
	return strconv.FormatUint(v, 10)
}

// nrOpen reads fs.nr_open, the ceiling of RLIMIT_NOFILE.
func nrOpen() (uint64, bool) {
	data, err := os.ReadFile("/proc/sys/fs/nr_open")
	if err != nil {
		return 0, false
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
	return v, err == nil
}

// canRaiseHardLimits reports whether the daemon has CAP_SYS_RESOURCE in
// its effective set.
func canRaiseHardLimits() bool {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && caps&(1<<unix.CAP_SYS_RESOURCE) != 0
		}
	}
	return false
}
