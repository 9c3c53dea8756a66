package osutil

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// userHZ is the unit of the times in /proc/<pid>/stat: USER_HZ, which Linux
// fixes at 100 for user space on every architecture.
const userHZ = 100

// ProcUsage is the resource usage of one process, from /proc/<pid>/stat.
type ProcUsage struct {
	// CPU is the user and system time of the process and of its children
	// that it has waited for.
	CPU time.Duration
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
	var ticks int64
	for _, f := range fields[11:15] {
		n, err := strconv.ParseInt(string(f), 10, 64)
		if err != nil {
			return ProcUsage{}, fmt.Errorf("cannot parse stat of process %d: %v", pid, err)
		}
		ticks += n
	}
	rss, err := strconv.ParseInt(string(fields[21]), 10, 64)
	if err != nil {
		return ProcUsage{}, fmt.Errorf("cannot parse stat of process %d: %v", pid, err)
	}
	return ProcUsage{
		CPU: time.Duration(ticks) * time.Second / userHZ,
		RSS: uint64(max(rss, 0)) * uint64(os.Getpagesize()),
	}, nil
}
