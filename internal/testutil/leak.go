package testutil

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// snapshot is what a leak check compares against: the goroutines, file
// descriptors and child processes of the test binary at one moment.
type snapshot struct {
	goroutines map[string]bool   // goroutine IDs
	fds        map[string]string // descriptor number → what it refers to
	children   map[int]bool      // PIDs whose parent is this process
}

func takeSnapshot() snapshot {
	s := snapshot{goroutines: map[string]bool{}, children: map[int]bool{}}
	for _, g := range goroutines() {
		s.goroutines[g.id] = true
	}
	s.fds = fds()
	for _, pid := range children() {
		s.children[pid] = true
	}
	return s
}

// waitNoLeaks polls leaksSince until it finds nothing or timeout passes, and
// then returns what is still left.
func waitNoLeaks(base snapshot, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		// Idle keep-alive connections of the default client are the
		// standard library's cache, not a test's leak.
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
		err := leaksSince(base)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(pollInterval)
	}
}

// leaksSince describes the goroutines, descriptors and children that exist
// now and did not in base, or returns nil if there are none.
func leaksSince(base snapshot) error {
	var errs []error
	for _, g := range goroutines() {
		if !base.goroutines[g.id] && !g.ignored() {
			errs = append(errs, fmt.Errorf("goroutine %s:\n%s", g.id, g.stack))
		}
	}
	now := fds()
	var leaked []string
	for fd, target := range now {
		if base.fds[fd] != target && !ignoredFD(target) {
			leaked = append(leaked, fd+" → "+target)
		}
	}
	sort.Strings(leaked)
	for _, l := range leaked {
		errs = append(errs, fmt.Errorf("file descriptor %s", l))
	}
	for _, pid := range children() {
		if !base.children[pid] {
			errs = append(errs, fmt.Errorf("child process %d: %s", pid, cmdline(pid)))
		}
	}
	return errors.Join(errs...)
}

// goroutine is one goroutine of a runtime.Stack dump.
type goroutine struct {
	id    string
	stack string
}

// ignoredStacks are goroutines the standard library starts once, on first
// use, and keeps for the life of the process, and the goroutines of the
// testing package itself.
var ignoredStacks = []string{
	"os/signal.signal_recv",
	"os/signal.loop",
	"testing.tRunner(",
	"testing.(*M).",
	"testing.runTests",
	"runtime.ensureSigM",
	"runtime/trace.",
	"runtime.goexit0", // a goroutine that is exiting
}

func (g goroutine) ignored() bool {
	for _, s := range ignoredStacks {
		if strings.Contains(g.stack, s) {
			return true
		}
	}
	return false
}

// goroutines returns every goroutine but the caller's.
func goroutines() []goroutine {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var gs []goroutine
	for i, block := range bytes.Split(buf, []byte("\n\n")) {
		if i == 0 {
			continue // the calling goroutine
		}
		header, _, _ := strings.Cut(string(block), "\n")
		fields := strings.Fields(header) // goroutine 7 [chan receive]:
		if len(fields) < 2 || fields[0] != "goroutine" {
			continue
		}
		gs = append(gs, goroutine{id: fields[1], stack: string(block)})
	}
	return gs
}

// waitingStates are the states of a goroutine parked on a channel or a
// condition, as runtime.Stack prints them.
var waitingStates = []string{"[select", "[chan receive", "[chan send", "[sync.Cond.Wait"}

// blockedIn counts the goroutines parked on a channel or a condition with
// function in their stack.
func blockedIn(function string) int {
	n := 0
	for _, g := range goroutines() {
		header, _, _ := strings.Cut(g.stack, "\n")
		for _, state := range waitingStates {
			if strings.Contains(header, state) && strings.Contains(g.stack, function+"(") {
				n++
				break
			}
		}
	}
	return n
}

// ignoredFD reports whether a descriptor is one the Go runtime opens once, on
// first use, and keeps: the network poller's epoll and wake-up descriptors.
func ignoredFD(target string) bool {
	return target == "anon_inode:[eventpoll]" || target == "anon_inode:[eventfd]"
}

// fds maps each open descriptor of the process to what it refers to.
func fds() map[string]string {
	dir, err := os.Open("/proc/self/fd")
	if err != nil {
		return nil
	}
	defer dir.Close()
	names, _ := dir.Readdirnames(-1)
	self := strconv.Itoa(int(dir.Fd()))
	out := make(map[string]string, len(names))
	for _, name := range names {
		if name == self {
			continue
		}
		target, err := os.Readlink("/proc/self/fd/" + name)
		if err != nil {
			continue // closed while we looked
		}
		out[name] = target
	}
	return out
}

// children returns the PIDs of the processes whose parent is this process,
// zombies included.
func children() []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) >= 2 && fields[1] == strconv.Itoa(self) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// cmdline is a process's command line, for messages.
func cmdline(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return "(gone)"
	}
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}
