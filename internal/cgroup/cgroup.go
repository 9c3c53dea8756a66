// Package cgroup owns the daemon's tree in the cgroup v2 hierarchy: one
// directory per daemon, one child per service, and the operations on them
// (start a process in one, kill everything in one, tell whether it is empty).
package cgroup

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pebble-project/pebble/internal/osutil"
)

// RemoveWait bounds the retries of removing a busy cgroup in Close.
const RemoveWait = time.Second

// pollInterval is how often Close retries a busy cgroup.
const pollInterval = 5 * time.Millisecond

// Tree is this daemon's directory in the cgroup v2 hierarchy:
// <daemon's own cgroup>/pebble-<id of $PEBBLE> (see DaemonID). Each
// service runs in a child cgroup of it, so every process the service forks,
// whatever its session or process group, can be found and killed, also by a
// later daemon on the same $PEBBLE, and never by a daemon on another one.
type Tree struct {
	root string
	id   string
}

// Open finds the cgroup2 mount and the daemon's own cgroup and
// creates the per-daemon directory. It fails when cgroup v2 is not mounted
// or not writable (as in many containers).
func Open(dir string) (*Tree, error) {
	mount, err := cgroup2Mount()
	if err != nil {
		return nil, err
	}
	own, err := ownCgroup()
	if err != nil {
		return nil, err
	}
	id := DaemonID(dir)
	root := filepath.Join(mount, own, "pebble-"+id)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create cgroup: %w", err)
	}
	return &Tree{root: root, id: id}, nil
}

// DaemonID names the per-daemon cgroup. Two daemons share it exactly
// when they run on the same directory: the ID hashes the device and inode
// of $PEBBLE with its path, symbolic links resolved, so the same path in
// two containers (two mount namespaces seeing one cgroup hierarchy) gets
// two IDs, and two spellings of one directory get one. Without a directory,
// or one that cannot be read, the ID is random: nothing then needs to be
// found by a later daemon.
func DaemonID(dir string) string {
	if dir != "" {
		if path, err := filepath.EvalSymlinks(dir); err == nil {
			var st unix.Stat_t
			if path, err = filepath.Abs(path); err == nil && unix.Stat(path, &st) == nil {
				sum := sha256.Sum256(fmt.Appendf(nil, "%d:%d:%s", st.Dev, st.Ino, path))
				return hex.EncodeToString(sum[:8])
			}
		}
	}
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// cgroup2Mount returns the mount point of the cgroup v2 hierarchy.
func cgroup2Mount() (string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "36 35 0:30 / /sys/fs/cgroup rw,... - cgroup2 cgroup2 rw"
		line := sc.Text()
		i := strings.Index(line, " - ")
		if i < 0 {
			continue
		}
		fields := strings.Fields(line[:i])
		post := strings.Fields(line[i+3:])
		if len(fields) >= 5 && len(post) >= 1 && post[0] == "cgroup2" && fields[3] == "/" {
			return unescapeMount(fields[4]), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", errors.New("cannot find cgroup2 mount")
}

// unescapeMount undoes the octal escapes (\040 for space ...) of mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ownCgroup returns the daemon's cgroup v2 path ("0::<path>").
func ownCgroup() (string, error) {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			return p, nil
		}
	}
	return "", errors.New("cannot find own cgroup v2 path")
}

// dirName is the cgroup directory name of a service. The "svc-" prefix
// keeps names clear of the cgroup interface files, and bytes outside
// [A-Za-z0-9_.-] are hex-escaped so any service name is a valid file name.
func dirName(service string) string {
	var b strings.Builder
	b.WriteString("svc-")
	for i := 0; i < len(service); i++ {
		c := service[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02x", c)
		}
	}
	if b.Len() > 200 {
		sum := sha256.Sum256([]byte(service))
		return "svc-%" + hex.EncodeToString(sum[:16])
	}
	return b.String()
}

// serviceName undoes dirName; it returns false for names it cannot map back.
func serviceName(dir string) (string, bool) {
	rest, ok := strings.CutPrefix(dir, "svc-")
	if !ok {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(rest); i++ {
		if rest[i] != '%' {
			b.WriteByte(rest[i])
			continue
		}
		if i+2 >= len(rest) {
			return "", false
		}
		n, err := strconv.ParseUint(rest[i+1:i+3], 16, 8)
		if err != nil {
			return "", false
		}
		b.WriteByte(byte(n))
		i += 2
	}
	return b.String(), true
}

// Root returns the per-daemon directory.
func (c *Tree) Root() string { return c.root }

// ID returns the per-daemon directory's name without its "pebble-" prefix
// (DaemonID of $PEBBLE).
func (c *Tree) ID() string { return c.id }

// Path returns the cgroup directory of a service.
func (c *Tree) Path(service string) string { return filepath.Join(c.root, dirName(service)) }

// OpenDir creates the service's cgroup if needed and returns a descriptor of
// its directory for SysProcAttr.CgroupFD.
func (c *Tree) OpenDir(service string) (int, error) {
	p := c.Path(service)
	// A restart after backoff finds its cgroup there: one open then.
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return -1, fmt.Errorf("cannot create cgroup: %w", err)
		}
		fd, err = unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return -1, fmt.Errorf("cannot open cgroup: %w", err)
	}
	return fd, nil
}

// Join moves pid into the service's cgroup (the fallback when the kernel
// cannot start a process directly in a cgroup).
func (c *Tree) Join(service string, pid int) error {
	p := c.Path(service)
	if err := os.MkdirAll(p, 0o755); err != nil {
		return fmt.Errorf("cannot create cgroup: %w", err)
	}
	return os.WriteFile(filepath.Join(p, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0)
}

// Procs returns the processes in the cgroup directory p.
func Procs(p string) []int {
	data, err := osutil.ReadKernelFile(filepath.Join(p, "cgroup.procs"))
	if err != nil {
		return nil
	}
	return ParsePIDs(data)
}

// ParsePIDs parses the contents of a cgroup.procs file.
func ParsePIDs(data []byte) []int {
	var pids []int
	for _, f := range bytes.Fields(data) {
		if pid, err := strconv.Atoi(string(f)); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Kill kills every process in the cgroup directory p at once through
// cgroup.kill, and reports whether the kernel supports it.
func Kill(p string) bool {
	return os.WriteFile(filepath.Join(p, "cgroup.kill"), []byte("1"), 0) == nil
}

// Remove deletes the service's cgroup if it is empty. One still busy (a
// process killed but not reaped yet) is left: the next run reuses it, and
// Close removes it.
func (c *Tree) Remove(service string) error {
	err := os.Remove(c.Path(service))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// Leftovers returns the service cgroups found under this daemon's directory,
// by service name.
func (c *Tree) Leftovers() map[string]string {
	entries, err := os.ReadDir(c.root)
	if err != nil {
		return nil
	}
	out := make(map[string]string)
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if name, ok := serviceName(e.Name()); ok {
			out[name] = filepath.Join(c.root, e.Name())
		}
	}
	return out
}

// Populated reports whether a process is left in the cgroup directory p
// or below it; a cgroup that cannot be read counts as empty.
func Populated(p string) bool {
	// Checked at every exit of a service's process: plain system calls,
	// and no string copies.
	data, err := osutil.ReadKernelFile(filepath.Join(p, "cgroup.events"))
	if err != nil {
		return false
	}
	return ParsePopulated(data)
}

// ParsePopulated reports whether the content of a cgroup.events file says
// the cgroup has a process.
func ParsePopulated(events []byte) bool {
	for line := range bytes.SplitSeq(events, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("populated ")); ok {
			return string(v) != "0"
		}
	}
	return false
}

// Close removes the empty service cgroups and then the per-daemon
// directory. A process killed just before may not be reaped yet and keep
// its cgroup busy, so it retries for up to RemoveWait. Cgroups of services
// still running stay, for the leftover kill of a later daemon.
func (c *Tree) Close() {
	deadline := time.Now().Add(RemoveWait)
	for {
		busy := false
		for _, dir := range c.Leftovers() {
			if Populated(dir) {
				continue
			}
			if err := os.Remove(dir); errors.Is(err, syscall.EBUSY) {
				busy = true
			}
		}
		os.Remove(c.root) // fails, harmlessly, while a service cgroup remains
		if !busy || time.Now().After(deadline) {
			return
		}
		time.Sleep(pollInterval)
	}
}
