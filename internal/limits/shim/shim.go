// Package shim starts a service's command with its limits in place: the
// daemon's own binary, started in the service's place, joins the cgroup v1
// directories, sets the rlimits, takes the service's credentials and
// executes the command in the same process, so the command never runs
// outside its limits. Package limits decides what the Spec holds.
package shim

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// shimArg0 is the argv[0] that makes the daemon's binary act as the shim.
const shimArg0 = "pebble-limits-shim"

// shimEnv carries the Spec to the shim; the shim removes it before exec.
const shimEnv = "PEBBLE_LIMITS_SHIM"

// Spec is what the shim does before it executes a service's command, in
// this order: join the cgroups, set the rlimits, take the credentials.
type Spec struct {
	// Join are cgroup directories (v1) whose cgroup.procs the process
	// writes itself into.
	Join []string `json:"join,omitempty"`
	// Rlimits are set soft and hard.
	Rlimits []Rlimit `json:"rlimits,omitempty"`
	// Credential, if set, is taken last, with no supplementary groups.
	Credential *syscall.Credential `json:"credential,omitempty"`
}

// Rlimit is one resource limit for setrlimit.
type Rlimit struct {
	Name     string `json:"name"` // as the plan names it, for errors
	Resource int    `json:"resource"`
	Value    uint64 `json:"value"`
}

// Wrap makes cmd start through the shim: the daemon's own binary, which
// applies spec to itself and then executes cmd's program in the same
// process, so the service's code never runs outside its limits. The
// credentials of cmd move into the spec, because joining cgroups and
// raising limits needs the daemon's privileges. A program os/exec could
// not find keeps its error, which Start still returns.
func Wrap(cmd *exec.Cmd, spec Spec) error {
	if cmd.SysProcAttr != nil && cmd.SysProcAttr.Credential != nil {
		spec.Credential = cmd.SysProcAttr.Credential
		cmd.SysProcAttr.Credential = nil
	}
	data, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("cannot encode limits: %w", err)
	}
	cmd.Args = append([]string{shimArg0, cmd.Path}, cmd.Args...)
	cmd.Path = "/proc/self/exe"
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, shimEnv+"="+string(data))
	return nil
}

// init does the shim's work and executes the service's command when the
// process was started by Wrap; otherwise it returns at once. It runs as a
// package initialiser, so that in shim mode most of the daemon's packages
// are never initialised: Go initialises packages in import-path order as
// soon as their imports are, and this one imports only the standard
// library. It never returns in shim mode: a command that cannot be
// executed exits 127 after a line on stderr, which is the service's
// output.
func init() {
	if len(os.Args) < 3 || os.Args[0] != shimArg0 {
		return
	}
	err := shim(os.Args[1], os.Args[2:])
	fmt.Fprintf(os.Stderr, "pebble: cannot run %s: %v\n", os.Args[1], err)
	os.Exit(127)
}

// shim applies the spec from the environment and executes path with argv.
func shim(path string, argv []string) error {
	var spec Spec
	env := make([]string, 0, len(os.Environ()))
	for _, kv := range os.Environ() {
		if v, ok := strings.CutPrefix(kv, shimEnv+"="); ok {
			if err := json.Unmarshal([]byte(v), &spec); err != nil {
				return fmt.Errorf("cannot decode limits: %w", err)
			}
			continue
		}
		env = append(env, kv)
	}
	pid := []byte(strconv.Itoa(os.Getpid()))
	for _, dir := range spec.Join {
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), pid, 0); err != nil {
			// The daemon made the directory just before: a failure here
			// is a bug or a race with an administrator; say so and run.
			fmt.Fprintf(os.Stderr, "pebble: cannot join cgroup %s: %v\n", dir, err)
		}
	}
	if c := spec.Credential; c != nil {
		if err := syscall.Setgroups(nil); err != nil {
			return fmt.Errorf("cannot drop supplementary groups: %w", err)
		}
	}
	for _, r := range spec.Rlimits {
		lim := syscall.Rlimit{Cur: r.Value, Max: r.Value}
		if err := syscall.Setrlimit(r.Resource, &lim); err != nil {
			fmt.Fprintf(os.Stderr, "pebble: cannot set limit %s to %d: %v\n", r.Name, r.Value, err)
		}
	}
	if c := spec.Credential; c != nil {
		if err := syscall.Setgid(int(c.Gid)); err != nil {
			return fmt.Errorf("cannot set group ID %d: %w", c.Gid, err)
		}
		if err := syscall.Setuid(int(c.Uid)); err != nil {
			return fmt.Errorf("cannot set user ID %d: %w", c.Uid, err)
		}
	}
	return syscall.Exec(path, argv, env)
}
