package osutil

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// ProcStat is the part of /proc/<pid>/stat the daemon uses.
type ProcStat struct {
	PID   int
	State byte // 'R', 'S', 'Z', ...
	PPID  int
	PGID  int
	SID   int
	// StartTime is the process's start time in clock ticks after boot
	// (field 22). Together with PID it names one process for the lifetime of
	// the machine's boot, so it detects PID reuse.
	StartTime uint64
}

// ReadProcStat reads /proc/<pid>/stat. The error satisfies
// errors.Is(err, os.ErrNotExist) when the process does not exist.
func ReadProcStat(pid int) (ProcStat, error) {
	data, err := readStat(pid)
	if err != nil {
		return ProcStat{}, err
	}
	return parseProcStat(pid, data)
}

// readStat reads /proc/<pid>/stat.
func readStat(pid int) ([]byte, error) {
	return ReadKernelFile("/proc/" + strconv.Itoa(pid) + "/stat")
}

// statFields splits a /proc/<pid>/stat line into its fields from field 3
// (state) on: field n of stat(5) is fields[n-3]. The command name (field 2)
// is in parentheses and may contain spaces and parentheses, so fields are
// counted from the last ')'. It fails when fewer than minFields fields follow.
func statFields(pid int, data []byte, minFields int) ([][]byte, error) {
	end := bytes.LastIndexByte(data, ')')
	if end < 0 {
		return nil, fmt.Errorf("cannot parse stat of process %d", pid)
	}
	fields := bytes.Fields(data[end+1:])
	if len(fields) < minFields {
		return nil, fmt.Errorf("cannot parse stat of process %d", pid)
	}
	return fields, nil
}

func parseProcStat(pid int, data []byte) (ProcStat, error) {
	fields, err := statFields(pid, data, 20)
	if err != nil {
		return ProcStat{}, err
	}
	st := ProcStat{PID: pid, State: fields[0][0]}
	var errs [4]error
	st.PPID, errs[0] = strconv.Atoi(string(fields[1]))
	st.PGID, errs[1] = strconv.Atoi(string(fields[2]))
	st.SID, errs[2] = strconv.Atoi(string(fields[3]))
	st.StartTime, errs[3] = strconv.ParseUint(string(fields[19]), 10, 64)
	for _, err := range errs {
		if err != nil {
			return ProcStat{}, fmt.Errorf("cannot parse stat of process %d: %v", pid, err)
		}
	}
	return st, nil
}

// AllProcs reads the stat of every process in /proc. Processes that vanish
// while it reads are skipped.
func AllProcs() ([]ProcStat, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	procs := make([]ProcStat, 0, len(names))
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil || pid <= 0 {
			continue
		}
		st, err := ReadProcStat(pid)
		if err != nil {
			continue
		}
		procs = append(procs, st)
	}
	return procs, nil
}

// Descendants returns every process in procs that descends from one of the
// roots through parent links, roots excluded.
func Descendants(procs []ProcStat, roots ...int) []ProcStat {
	children := make(map[int][]ProcStat)
	for _, p := range procs {
		children[p.PPID] = append(children[p.PPID], p)
	}
	var out []ProcStat
	seen := make(map[int]bool)
	queue := append([]int(nil), roots...)
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		for _, c := range children[pid] {
			if seen[c.PID] {
				continue
			}
			seen[c.PID] = true
			out = append(out, c)
			queue = append(queue, c.PID)
		}
	}
	return out
}
