package tests

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A daemon started by the harness runs in a cgroup of its own,
// <test's cgroup>/e2e-<random>, where cgroup v2 is writable. The daemon
// makes its per-$PEBBLE cgroup inside it, so the harness can check that a
// daemon which exits cleanly removed every cgroup it made, and can kill and
// remove whatever a daemon that was killed left.

// testCgroup is one daemon's cgroup; the zero value means none.
type testCgroup struct {
	path string
}

// newTestCgroup creates a cgroup for one daemon, or returns the zero value
// where cgroup v2 is not mounted or not writable.
func newTestCgroup(t testing.TB) testCgroup {
	t.Helper()
	mount := cgroup2Mount()
	if mount == "" {
		return testCgroup{}
	}
	own, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return testCgroup{}
	}
	var parent string
	for _, line := range strings.Split(string(own), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			parent = filepath.Join(mount, p)
		}
	}
	if parent == "" {
		return testCgroup{}
	}
	var b [6]byte
	rand.Read(b[:])
	path := filepath.Join(parent, "e2e-"+hex.EncodeToString(b[:]))
	if err := os.Mkdir(path, 0o755); err != nil {
		return testCgroup{}
	}
	return testCgroup{path: path}
}

// cgroup2Mount returns where the cgroup v2 hierarchy is mounted, or "".
func cgroup2Mount() string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields := strings.Fields(pre)
		if ok && strings.HasPrefix(post, "cgroup2 ") && len(fields) >= 5 && fields[3] == "/" {
			return fields[4]
		}
	}
	return ""
}

// open returns a descriptor of the cgroup for SysProcAttr.CgroupFD, or -1.
func (c testCgroup) open() int {
	if c.path == "" {
		return -1
	}
	fd, err := unix.Open(c.path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	return fd
}

// subdirs lists the cgroups below the daemon's cgroup, deepest first.
func (c testCgroup) subdirs() []string {
	var dirs []string
	filepath.WalkDir(c.path, func(p string, e os.DirEntry, err error) error {
		if err == nil && e.IsDir() && p != c.path {
			dirs = append(dirs, p)
		}
		return nil
	})
	for i, j := 0, len(dirs)-1; i < j; i, j = i+1, j-1 {
		dirs[i], dirs[j] = dirs[j], dirs[i]
	}
	return dirs
}

// requireEmpty fails if the daemon left a cgroup behind.
func (c testCgroup) requireEmpty(t testing.TB) {
	t.Helper()
	if c.path == "" {
		return
	}
	if left := c.subdirs(); len(left) > 0 {
		t.Fatalf("cgroups left behind by the daemon: %q", left)
	}
}

// remove kills every process left in the cgroup and removes it with every
// cgroup below it.
func (c testCgroup) remove(t testing.TB) {
	if c.path == "" {
		return
	}
	os.WriteFile(filepath.Join(c.path, "cgroup.kill"), []byte("1"), 0)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		for _, dir := range append(c.subdirs(), c.path) {
			if e := os.Remove(dir); e != nil && !errors.Is(e, os.ErrNotExist) {
				err = e
			}
		}
		if err == nil {
			return
		}
		if !errors.Is(err, syscall.EBUSY) || time.Now().After(deadline) {
			t.Errorf("cannot remove test cgroup %s: %v", c.path, err)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// cgroupOf returns the cgroup v2 path of a process ("/a/b"), or "".
func cgroupOf(pid int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			return p
		}
	}
	return ""
}
