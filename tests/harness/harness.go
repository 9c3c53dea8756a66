// Package harness builds cmd/pebble once per test package and runs it as
// real daemons, each on a fresh $PEBBLE under one root directory, so that
// end-to-end suites in different directories (tests/, tests/reliability/)
// share one way of building and running the binary.
//
// Every process a daemon starts inherits PEBBLE=<dir> in its environment
// (behaviour.md §3), so a suite finds the processes it caused by that
// marker, whatever they did to their process group or session.
//
// When the tests run with -race the daemon is built with -race too
// (PEBBLE_E2E_RACE=0 turns that off). PEBBLE_E2E_BIN=<path> runs a suite
// against a prebuilt binary instead, for example Canonical's Pebble.
package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Run is one test package's binary and the root of its $PEBBLE
// directories.
type Run struct {
	// Bin is the pebble binary (daemon and CLI).
	Bin string
	// Root holds Bin (unless prebuilt) and every $PEBBLE of the run.
	Root string
	// Race is true when Bin was built with -race, which makes the daemon
	// several times slower.
	Race bool
}

// Setup creates the run's root directory and builds the binary into it.
// The caller removes it with Close.
func Setup() (*Run, error) {
	root, err := os.MkdirTemp("", "pebble-e2e-")
	if err != nil {
		return nil, fmt.Errorf("cannot create test directory: %v", err)
	}
	r := &Run{Root: root, Bin: os.Getenv("PEBBLE_E2E_BIN")}
	if r.Bin != "" {
		return r, nil
	}
	r.Bin = filepath.Join(root, "pebble")
	args := []string{"build", "-o", r.Bin}
	if raceEnabled && os.Getenv("PEBBLE_E2E_RACE") != "0" {
		// A race-enabled daemon turns its data races into a non-zero exit
		// status, which every harness stop checks.
		args = append(args, "-race")
		r.Race = true
	}
	build := exec.Command("go", append(args, "github.com/pebble-project/pebble/cmd/pebble")...)
	build.Stdout = os.Stderr
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(root)
		return nil, fmt.Errorf("cannot build pebble: %v", err)
	}
	return r, nil
}

// BuildVariant builds cmd/pebble again into the run's root as name, with
// build as the build part of its version ("v1.32.1+<build>"), and with -race
// when Bin has it: a second binary for upgrade tests.
func (r *Run) BuildVariant(name, build string) (string, error) {
	return r.build(name, build, r.Race)
}

// BuildPlainVariant is BuildVariant without -race, whatever Bin has: for a
// test whose cost is the daemon's start-up, repeated many times.
func (r *Run) BuildPlainVariant(name, build string) (string, error) {
	return r.build(name, build, false)
}

func (r *Run) build(name, build string, race bool) (string, error) {
	bin := filepath.Join(r.Root, name)
	args := []string{"build", "-o", bin, "-ldflags", "-X github.com/pebble-project/pebble/internal/version.build=" + build}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "github.com/pebble-project/pebble/cmd/pebble")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("cannot build pebble variant %q: %v\n%s", name, err, out)
	}
	return bin, nil
}

// Close removes the run's root directory.
func (r *Run) Close() {
	os.RemoveAll(r.Root)
}

// CheckLeftovers turns the exit status of a passing test run into a
// failure when a process started by any daemon of the run is still alive,
// whatever a single test's cleanup did.
func (r *Run) CheckLeftovers(code int) int {
	if code != 0 {
		return code
	}
	if left := ProcessesWithEnvPrefix("PEBBLE=" + r.Root + "/"); len(left) > 0 {
		fmt.Fprintln(os.Stderr, "processes left behind by the tests:")
		for _, p := range left {
			fmt.Fprintf(os.Stderr, "  %v\n", p)
		}
		return 1
	}
	return 0
}

// CleanEnv is the test's environment without the variables that steer
// pebble. A -race build of pebble would sleep 1 s at every exit; the GORACE
// setting removes that delay.
func CleanEnv() []string {
	env := []string{"GORACE=atexit_sleep_ms=0"}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PEBBLE") || strings.HasPrefix(kv, "XDG_CONFIG_HOME=") || strings.HasPrefix(kv, "GORACE=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// Proc is a live process found under /proc.
type Proc struct {
	PID     int
	State   string
	Cmdline string
}

func (p Proc) String() string {
	return fmt.Sprintf("pid %d (%s): %s", p.PID, p.State, p.Cmdline)
}

// ProcessesWithEnvPrefix lists the live (non-zombie) processes, other than
// this one, with an environment entry starting with prefix.
func ProcessesWithEnvPrefix(prefix string) []Proc {
	entries, _ := os.ReadDir("/proc")
	var found []Proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		state := StatusField(pid, "State")
		if state == "" || state[0] == 'Z' || state[0] == 'X' {
			continue
		}
		environ, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		for _, kv := range strings.Split(string(environ), "\x00") {
			if strings.HasPrefix(kv, prefix) {
				cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
				found = append(found, Proc{PID: pid, State: state[:1], Cmdline: strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))})
				break
			}
		}
	}
	return found
}

// StatusField returns a field of /proc/<pid>/status ("" if unreadable).
func StatusField(pid int, field string) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
