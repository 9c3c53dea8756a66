package shim_test

import (
	"bytes"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pebble-project/pebble/internal/limits/shim"
	"github.com/pebble-project/pebble/internal/testutil"
)

// TestMain runs the tests; testutil.Main first runs the shim when this
// test binary was started as one (the tests start themselves through it).
func TestMain(m *testing.M) { testutil.Main(m) }

// TestShimAppliesSpecInTheSameProcess: the command runs with the rlimits of
// the spec, as the process os/exec started (same PID), with its arguments
// and environment but without the spec's variable.
func TestShimAppliesSpecInTheSameProcess(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", `echo "$$ $(ulimit -n) $(ulimit -Hn) $(ulimit -c) $1 ${PEBBLE_LIMITS_SHIM:-unset} $KEEP"`, "sh", "arg1")
	cmd.Env = []string{"KEEP=kept", "PATH=/usr/bin:/bin"}
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := shim.Wrap(cmd, shim.Spec{Rlimits: []shim.Rlimit{
		{Name: "nofile", Resource: syscall.RLIMIT_NOFILE, Value: 333},
		{Name: "core", Resource: syscall.RLIMIT_CORE, Value: 0},
	}}); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	want := strconv.Itoa(cmd.Process.Pid) + " 333 333 0 arg1 unset kept"
	if got := strings.TrimSpace(out.String()); got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}

// TestShimReportsExecFailure: a command that cannot be executed exits 127
// with a line naming it on stderr.
func TestShimReportsExecFailure(t *testing.T) {
	cmd := exec.Command("/bin/true")
	cmd.Path = "/nonexistent/program"
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := shim.Wrap(cmd, shim.Spec{}); err != nil {
		t.Fatal(err)
	}
	err := cmd.Run()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 127 {
		t.Fatalf("exit %v, want 127", err)
	}
	if !strings.Contains(stderr.String(), "pebble: cannot run /nonexistent/program: no such file or directory") {
		t.Errorf("stderr %q", stderr.String())
	}
}

// TestShimCostPerStart prints what the shim adds to a start: the median
// time from Start to the exit of /bin/true, direct and through the shim,
// and the mean CPU time (user and system, from wait4) of the started
// process, which a loaded machine does not inflate as it does wall time.
func TestShimCostPerStart(t *testing.T) {
	const runs = 25
	measure := func(wrap bool) (wall, cpu time.Duration) {
		var times []time.Duration
		for range runs {
			cmd := exec.Command("/bin/true")
			if wrap {
				if err := shim.Wrap(cmd, shim.Spec{Rlimits: []shim.Rlimit{{Name: "nofile", Resource: syscall.RLIMIT_NOFILE, Value: 1024}}}); err != nil {
					t.Fatal(err)
				}
			}
			start := time.Now()
			if err := cmd.Run(); err != nil {
				t.Fatal(err)
			}
			times = append(times, time.Since(start))
			cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		}
		slices.Sort(times)
		return times[len(times)/2], cpu / runs
	}
	directWall, directCPU := measure(false)
	shimWall, shimCPU := measure(true)
	t.Logf("figure: start to exit of /bin/true, median of %d: direct %v, through the shim %v (+%v per start); "+
		"CPU time, mean: direct %v, through the shim %v (+%v per start)",
		runs, directWall.Round(time.Microsecond), shimWall.Round(time.Microsecond), (shimWall - directWall).Round(time.Microsecond),
		directCPU.Round(time.Microsecond), shimCPU.Round(time.Microsecond), (shimCPU - directCPU).Round(time.Microsecond))
}
