package plan

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Unlimited is the Value of an OptionalLimit written as "unlimited".
const Unlimited = math.MaxUint64

// OptionalLimit is a limit a layer may set: a number or Unlimited.
type OptionalLimit struct {
	Value uint64
	IsSet bool
}

// Limits are a service's resource limits (docs/resource-limits.md). Memory,
// Pids and CPU are enforced through the service's cgroups; the others are
// rlimits, set (soft and hard) on the service's main process before it runs
// its command. Each field merges on its own: a later layer replaces what it
// sets.
type Limits struct {
	Memory  OptionalLimit // bytes (memory.max, memory.limit_in_bytes)
	Pids    OptionalLimit // processes and threads (pids.max)
	CPU     OptionalFloat // cores (cpu.max, cfs quota)
	NoFile  OptionalLimit // RLIMIT_NOFILE
	NProc   OptionalLimit // RLIMIT_NPROC
	Core    OptionalLimit // RLIMIT_CORE, bytes
	Stack   OptionalLimit // RLIMIT_STACK, bytes
	AS      OptionalLimit // RLIMIT_AS, bytes
	CPUTime OptionalLimit // RLIMIT_CPU, seconds
}

// Merge folds the limits other sets into l.
func (l *Limits) Merge(other Limits) {
	for _, f := range []struct{ dst, src *OptionalLimit }{
		{&l.Memory, &other.Memory}, {&l.Pids, &other.Pids}, {&l.NoFile, &other.NoFile},
		{&l.NProc, &other.NProc}, {&l.Core, &other.Core}, {&l.Stack, &other.Stack},
		{&l.AS, &other.AS}, {&l.CPUTime, &other.CPUTime},
	} {
		if f.src.IsSet {
			*f.dst = *f.src
		}
	}
	mergeFloat(&l.CPU, other.CPU)
}

// IsZero reports whether no limit is set.
func (l Limits) IsZero() bool { return l == Limits{} }

// LimitFieldNames are the keys of a service's limits mapping, in the order
// the plan prints them.
var LimitFieldNames = []string{"memory", "pids", "cpu", "nofile", "nproc", "core", "stack", "as", "cpu-time"}

// Limit returns the limit under a key of LimitFieldNames other than "cpu".
func (l *Limits) Limit(key string) *OptionalLimit {
	switch key {
	case "memory":
		return &l.Memory
	case "pids":
		return &l.Pids
	case "nofile":
		return &l.NoFile
	case "nproc":
		return &l.NProc
	case "core":
		return &l.Core
	case "stack":
		return &l.Stack
	case "as":
		return &l.AS
	case "cpu-time":
		return &l.CPUTime
	}
	return nil
}

// byteLimits are the limits written as byte sizes.
var byteLimits = map[string]bool{"memory": true, "core": true, "stack": true, "as": true}

// MinCPU is the smallest cpu limit: a CFS quota of 1 ms per 100 ms period.
const MinCPU = 0.01

// limits decodes a service's limits mapping.
func (d *decoder) limits(dst *Limits, what string) field {
	return func(n *yaml.Node) error {
		n, err := d.resolve(n)
		if err != nil || isNull(n) {
			return err
		}
		table := map[string]field{"cpu": d.cpuField(&dst.CPU)}
		for _, key := range LimitFieldNames {
			if key != "cpu" {
				table[key] = d.limitField(dst.Limit(key), byteLimits[key], key == "core")
			}
		}
		return d.fields(n, what, "limits.", table)
	}
}

// limitField decodes a count, or a byte size when bytes is set, or
// "unlimited". Zero is refused, as it would stop the service from running,
// unless zero is set (core: 0 forbids core files).
func (d *decoder) limitField(dst *OptionalLimit, bytes, zero bool) field {
	return func(n *yaml.Node) error {
		n, err := d.resolve(n)
		if err != nil || isNull(n) {
			return err
		}
		if n.Kind != yaml.ScalarNode {
			return errAt(n, "expected a number, not %s", kindName(n))
		}
		v, err := ParseLimit(n.Value, bytes)
		if zero && strings.TrimSpace(n.Value) == "0" {
			v, err = 0, nil
		}
		if err != nil {
			return errAt(n, "%v", err)
		}
		*dst = OptionalLimit{Value: v, IsSet: true}
		return nil
	}
}

// cpuField decodes a number of cores.
func (d *decoder) cpuField(dst *OptionalFloat) field {
	return func(n *yaml.Node) error {
		var f OptionalFloat
		if err := d.floatField(&f)(n); err != nil || !f.IsSet {
			return err
		}
		if !(f.Value >= MinCPU) || math.IsInf(f.Value, 1) {
			return errAt(n, "cpu must be a number of cores of at least %g, not %q", MinCPU, n.Value)
		}
		*dst = f
		return nil
	}
}

var sizePattern = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)$`)

// sizeUnits are the units of byte sizes: K, M, G and T are binary, as in
// systemd and Docker; kB, MB, GB and TB are decimal.
var sizeUnits = map[string]float64{
	"": 1, "B": 1,
	"K": 1 << 10, "KiB": 1 << 10, "M": 1 << 20, "MiB": 1 << 20,
	"G": 1 << 30, "GiB": 1 << 30, "T": 1 << 40, "TiB": 1 << 40,
	"kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
}

// ParseLimit parses a limit: "unlimited", a positive integer, or, when
// bytes is set, a byte size such as 512MiB or 1.5G.
func ParseLimit(s string, bytes bool) (uint64, error) {
	s = strings.TrimSpace(s)
	if s == "unlimited" {
		return Unlimited, nil
	}
	if !bytes {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil || v == 0 || v == Unlimited {
			return 0, fmt.Errorf(`expected a positive integer or "unlimited", not %q`, s)
		}
		return v, nil
	}
	m := sizePattern.FindStringSubmatch(s)
	var unit float64
	if m != nil {
		unit = sizeUnits[m[2]]
	}
	if unit == 0 {
		return 0, fmt.Errorf(`expected a size in bytes such as 512MiB, 2G or 1000000, or "unlimited", not %q`, s)
	}
	f, err := strconv.ParseFloat(m[1], 64)
	v := f * unit
	if err != nil || v < 1 || v >= math.MaxInt64 {
		return 0, fmt.Errorf("size %q out of range: must be at least 1 byte and below 8 EiB", s)
	}
	return uint64(v), nil
}

// FormatLimit prints a limit the way ParseLimit reads it back: bytes in
// the largest binary unit that divides them.
func FormatLimit(v uint64, bytes bool) string {
	if v == Unlimited {
		return "unlimited"
	}
	if bytes && v > 0 {
		for _, u := range []struct {
			name string
			size uint64
		}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
			if v%u.size == 0 {
				return strconv.FormatUint(v/u.size, 10) + u.name
			}
		}
	}
	return strconv.FormatUint(v, 10)
}

var chargeGroupPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// chargeGroupField decodes a charge-back group name.
func (d *decoder) chargeGroupField(dst *string) field {
	return func(n *yaml.Node) error {
		var s string
		if err := d.str(n, &s); err != nil || s == "" {
			return err
		}
		if !chargeGroupPattern.MatchString(s) {
			return errAt(n, "invalid charge group %q: use 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit", s)
		}
		*dst = s
		return nil
	}
}
