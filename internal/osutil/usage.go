package osutil

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of the times in /proc/<pid>/stat: USER_HZ, which Linux
// fixes at 100 for user space on every architecture.
const userHZ = 100

// ProcUsage is the resource usage of one process, from /proc/<pid>/stat.
type ProcUsage struct {
	// CPU is the user and system time of the process and of its children
	// that it has waited for; User and System are its two parts.
	CPU, User, System time.Duration
	// RSS is the resident set size in bytes.
	RSS uint64
}

// ReadProcUsage reads the resource usage of a process. The error satisfies
// errors.Is(err, os.ErrNotExist) when the process does not exist.
func ReadProcUsage(pid int) (ProcUsage, error) {
	data, err := readStat(pid)
	if err != nil {
		return ProcUsage{}, err
	}
	return parseProcUsage(pid, data)
}

func parseProcUsage(pid int, data []byte) (ProcUsage, error) {
	// utime 14, stime 15, cutime 16, cstime 17, rss 24 (in pages).
	fields, err := statFields(pid, data, 22)
	if err != nil {
		return ProcUsage{}, err
	}
	var ticks [4]int64 // utime, stime, cutime, cstime
	for i, f := range fields[11:15] {
		n, err := strconv.ParseInt(string(f), 10, 64)
		if err != nil {
			return ProcUsage{}, fmt.Errorf("cannot parse stat of process %d: %v", pid, err)
		}
		ticks[i] = n
	}
	user := time.Duration(ticks[0]+ticks[2]) * time.Second / userHZ
	system := time.Duration(ticks[1]+ticks[3]) * time.Second / userHZ
	rss, err := strconv.ParseInt(string(fields[21]), 10, 64)
	if err != nil {
		return ProcUsage{}, fmt.Errorf("cannot parse stat of process %d: %v", pid, err)
	}
	return ProcUsage{
		CPU:    user + system,
		User:   user,
		System: system,
		RSS:    uint64(max(rss, 0)) * uint64(os.Getpagesize()),
	}, nil
}

// ProcIO is the storage I/O of one process and of its children that it
// has waited for, from /proc/<pid>/io: bytes it made the kernel fetch from
// storage (page-cache hits are not counted) and bytes it dirtied for
// writing back to storage, counted when dirtied.
type ProcIO struct {
	ReadBytes, WriteBytes uint64
}

// ReadProcIO reads /proc/<pid>/io, which needs the right to trace pid.
func ReadProcIO(pid int) (ProcIO, error) {
	data, err := ReadKernelFile("/proc/" + strconv.Itoa(pid) + "/io")
	if err != nil {
		return ProcIO{}, err
	}
	var io ProcIO
	var seen int
	for _, line := range strings.Split(string(data), "\n") {
		key, value, ok := strings.Cut(line, ": ")
		var dst *uint64
		switch {
		case !ok:
			continue
		case key == "read_bytes":
			dst = &io.ReadBytes
		case key == "write_bytes":
			dst = &io.WriteBytes
		default:
			continue
		}
		n, err := strconv.ParseUint(value, 10, 64)
		if err != nil {
			return ProcIO{}, fmt.Errorf("cannot parse io of process %d: %v", pid, err)
		}
		*dst = n
		seen++
	}
	if seen != 2 {
		return ProcIO{}, fmt.Errorf("cannot parse io of process %d: no read_bytes and write_bytes", pid)
	}
	return io, nil
}

// ReadPeakRSS returns the peak resident set size of a process in bytes
// (VmHWM of /proc/<pid>/status).
func ReadPeakRSS(pid int) (uint64, error) {
	data, err := ReadKernelFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("cannot parse status of process %d: %v", pid, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no VmHWM in the status of process %d", pid) // a kernel thread
}

// CountFDs returns how many file descriptors a process has open (the
// entries of /proc/<pid>/fd, which needs the right to trace pid).
func CountFDs(pid int) (int, error) {
	return CountDirEntries("/proc/" + strconv.Itoa(pid) + "/fd")
}
