package cgroup

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// V1 is this daemon's part of the cgroup v1 hierarchies (a hybrid host
// mounts some controllers there and leaves the v2 hierarchy without them):
// in the hierarchy of each controller it was opened for,
// <mount>/<daemon's own v1 cgroup>/pebble-<id>/svc-<name>, named like the
// v2 directories. Only services with limits that need a v1 controller get
// directories in it; the per-daemon directory is made on first use and
// removed, like the v2 one, by Close or by a later daemon on the same
// $PEBBLE (Leftovers). A nil *V1 has no hierarchies.
type V1 struct {
	// roots maps each controller to its per-daemon directory; co-mounted
	// controllers (cpu,cpuacct) share one.
	roots map[string]string
}

// OpenV1 finds the v1 hierarchies of the given controllers that are
// mounted and in which the daemon knows its own cgroup. id is the
// per-daemon name's suffix (Tree.ID). It creates nothing.
func OpenV1(id string, controllers []string) *V1 {
	own := ownV1Cgroups()
	v := &V1{roots: make(map[string]string)}
	for _, m := range v1Mounts() {
		for _, c := range controllers {
			if !slices.Contains(m.controllers, c) {
				continue
			}
			if p, ok := own[strings.Join(m.controllers, ",")]; ok {
				v.roots[c] = filepath.Join(m.dir, p, "pebble-"+id)
			}
		}
	}
	return v
}

// Has reports whether the hierarchy of controller is mounted.
func (v *V1) Has(controller string) bool {
	return v != nil && v.roots[controller] != ""
}

// Path returns the directory of a service in the hierarchy of controller,
// or "" if that hierarchy is not mounted.
func (v *V1) Path(controller, service string) string {
	if !v.Has(controller) {
		return ""
	}
	return filepath.Join(v.roots[controller], dirName(service))
}

// Create makes the service's directory in the hierarchy of controller.
func (v *V1) Create(controller, service string) (string, error) {
	p := v.Path(controller, service)
	if p == "" {
		return "", fmt.Errorf("cannot create cgroup: no cgroup v1 %s hierarchy", controller)
	}
	if err := os.MkdirAll(p, 0o755); err != nil {
		return "", fmt.Errorf("cannot create cgroup: %w", err)
	}
	return p, nil
}

// dirs returns the per-daemon directories, each once.
func (v *V1) dirs() []string {
	if v == nil {
		return nil
	}
	var out []string
	for _, r := range v.roots {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return out
}

// Remove deletes the service's directories that are empty.
func (v *V1) Remove(service string) {
	for _, r := range v.dirs() {
		os.Remove(filepath.Join(r, dirName(service)))
	}
}

// Leftovers returns, by service name, the service directories found under
// this daemon's per-daemon directories.
func (v *V1) Leftovers() map[string][]string {
	out := make(map[string][]string)
	for _, r := range v.dirs() {
		entries, _ := os.ReadDir(r)
		for _, e := range entries {
			if name, ok := serviceName(e.Name()); ok && e.IsDir() {
				out[name] = append(out[name], filepath.Join(r, e.Name()))
			}
		}
	}
	return out
}

// Close removes the empty service directories and the per-daemon ones,
// retrying a busy one for up to RemoveWait (a process killed just before
// may not have left yet). Directories that still hold processes stay, for
// a later daemon's Leftovers.
func (v *V1) Close() {
	deadline := time.Now().Add(RemoveWait)
	for {
		busy := false
		for _, dirs := range v.Leftovers() {
			for _, d := range dirs {
				if len(Procs(d)) > 0 {
					continue
				}
				if err := os.Remove(d); errors.Is(err, syscall.EBUSY) {
					busy = true
				}
			}
		}
		for _, r := range v.dirs() {
			os.Remove(r)
		}
		if !busy || time.Now().After(deadline) {
			return
		}
		time.Sleep(pollInterval)
	}
}

// v1Mount is one mounted cgroup v1 hierarchy.
type v1Mount struct {
	dir         string
	controllers []string // sorted, as /proc/self/cgroup names them
}

// v1Mounts lists the cgroup v1 hierarchies mounted at their root.
func v1Mounts() []v1Mount {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []v1Mount
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields, postFields := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(postFields) < 3 || postFields[0] != "cgroup" || fields[3] != "/" {
			continue
		}
		var ctrls []string
		for _, o := range strings.Split(postFields[2], ",") {
			switch o {
			case "rw", "ro", "relatime", "noatime", "nosuid", "nodev", "noexec", "clone_children", "xattr", "noprefix":
			default:
				if !strings.Contains(o, "=") {
					ctrls = append(ctrls, o)
				}
			}
		}
		slices.Sort(ctrls)
		out = append(out, v1Mount{dir: unescapeMount(fields[4]), controllers: ctrls})
	}
	return out
}

// ownV1Cgroups maps the controller list of each v1 hierarchy ("cpu,cpuacct")
// to the daemon's cgroup in it, from /proc/self/cgroup.
func ownV1Cgroups() map[string]string {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil
	}
	out := make(map[string]string)
	for _, line := range strings.Split(string(data), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || parts[1] == "" || strings.HasPrefix(parts[1], "name=") {
			continue
		}
		ctrls := strings.Split(parts[1], ",")
		slices.Sort(ctrls)
		out[strings.Join(ctrls, ",")] = parts[2]
	}
	return out
}
