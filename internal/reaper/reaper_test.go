package reaper_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pebble-project/pebble/internal/reaper"
	"github.com/pebble-project/pebble/internal/testutil"
)

func TestMain(m *testing.M) { testutil.MainWithReaper(m) }

func TestExitCodeAndSignal(t *testing.T) {
	tests := []struct {
		script string
		want   reaper.ExitResult
		code   int
	}{
		{"exit 0", reaper.ExitResult{}, 0},
		{"exit 3", reaper.ExitResult{Code: 3}, 3},
		{"kill -TERM $$", reaper.ExitResult{Signal: syscall.SIGTERM}, 143},
		{"kill -KILL $$", reaper.ExitResult{Signal: syscall.SIGKILL}, 137},
	}
	for _, tc := range tests {
		t.Run(tc.script, func(t *testing.T) {
			cmd := exec.Command("/bin/sh", "-c", tc.script)
			if err := reaper.StartCommand(cmd); err != nil {
				t.Fatal(err)
			}
			res, err := reaper.WaitCommand(cmd)
			if err != nil {
				t.Fatalf("WaitCommand: %v", err)
			}
			if res != tc.want || res.ExitCode() != tc.code {
				t.Errorf("got %+v (code %d), want %+v (code %d)", res, res.ExitCode(), tc.want, tc.code)
			}
		})
	}
}

// TestQuickExits starts many processes that exit at once, in parallel, so
// the reaper often collects a child before StartCommand returns.
func TestQuickExits(t *testing.T) {
	inParallel(t, 50, func(i int) error {
		return runExpecting("exit "+strconv.Itoa(i%7), i%7)
	})
}

// TestParallelStartsAmongOrphans starts short-lived processes from many
// goroutines while orphans (background children of exiting shells,
// re-parented to this process) exit too: the reaper then collects exits of
// PIDs nobody registered at the same time as starts register theirs, and
// every started process must still get its own exit code.
func TestParallelStartsAmongOrphans(t *testing.T) {
	inParallel(t, 8, func(w int) error {
		for i := range 25 {
			code := (w + i) % 5
			script := "exit " + strconv.Itoa(code)
			if i%2 == 1 {
				script = "/bin/true & " + script
			}
			if err := runExpecting(script, code); err != nil {
				return err
			}
		}
		return nil
	})
}

// inParallel runs f(0) to f(n-1) in goroutines of their own and fails t
// with every error they return.
func inParallel(t *testing.T, n int, f func(i int) error) {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			if err := f(i); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// runExpecting runs a shell script through the reaper and returns an error
// unless its exit is reported within 10 s with code want.
func runExpecting(script string, want int) error {
	cmd := exec.Command("/bin/sh", "-c", script)
	if err := reaper.StartCommand(cmd); err != nil {
		return err
	}
	select {
	case <-reaper.Exited(cmd):
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%q: exit not reported", script)
	}
	res, err := reaper.WaitCommand(cmd)
	if err != nil {
		return err
	}
	if res.Code != want {
		return fmt.Errorf("%q: got code %d, want %d", script, res.Code, want)
	}
	return nil
}

func TestOutputIsReleased(t *testing.T) {
	var out bytes.Buffer
	cmd := exec.Command("/bin/sh", "-c", "echo hello")
	cmd.Stdout = &out
	if err := reaper.StartCommand(cmd); err != nil {
		t.Fatal(err)
	}
	if _, err := reaper.WaitCommand(cmd); err != nil {
		t.Fatal(err)
	}
	if out.String() != "hello\n" {
		t.Errorf("output %q", out.String())
	}
}

func TestWaitDelayCutsHeldPipe(t *testing.T) {
	// The shell exits at once, but its background child keeps stdout open.
	var out bytes.Buffer
	cmd := exec.Command("/bin/sh", "-c", "sleep 5 & echo $!")
	cmd.Stdout = &out
	cmd.WaitDelay = 100 * time.Millisecond
	if err := reaper.StartCommand(cmd); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := reaper.WaitCommand(cmd)
	if res.Code != 0 || err != nil {
		t.Errorf("got %+v, %v; want exit 0, no error", res, err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("WaitCommand took %v", d)
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(out.String())); err == nil {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

func TestWaitWithoutStart(t *testing.T) {
	cmd := exec.Command("/bin/true")
	if _, err := reaper.WaitCommand(cmd); err != reaper.ErrNotStarted {
		t.Errorf("got %v, want ErrNotStarted", err)
	}
}

// TestOrphansAreReaped checks that a grandchild whose parent exits is
// re-parented to this process (the subreaper) and collected.
func TestOrphansAreReaped(t *testing.T) {
	var out bytes.Buffer
	cmd := exec.Command("/bin/sh", "-c", "sleep 0.2 </dev/null >/dev/null 2>&1 & echo $!")
	cmd.Stdout = &out
	if err := reaper.StartCommand(cmd); err != nil {
		t.Fatal(err)
	}
	if _, err := reaper.WaitCommand(cmd); err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatalf("cannot parse grandchild pid from %q", out.String())
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err == nil && !strings.Contains(string(stat), " "+strconv.Itoa(os.Getpid())+" ") {
		t.Errorf("grandchild %d not re-parented to the test process: %s", pid, stat)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); os.IsNotExist(err) {
			break // reaped: not even a zombie remains
		}
		if time.Now().After(deadline) {
			stat, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
			t.Fatalf("orphan %d not reaped: %s", pid, stat)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStartCounted(t *testing.T) {
	if err := reaper.Start(); err != nil {
		t.Fatal(err)
	}
	reaper.Stop()
	// Still running after one Stop: the TestMain reference remains.
	cmd := exec.Command("/bin/true")
	if err := reaper.StartCommand(cmd); err != nil {
		t.Fatal(err)
	}
	if _, err := reaper.WaitCommand(cmd); err != nil {
		t.Fatal(err)
	}
}

// TestExitUsage: the reaper keeps wait4's figures of a collected command,
// which include the children it waited for.
func TestExitUsage(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", "dd if=/dev/zero of=/dev/null bs=1M count=500 2>/dev/null")
	if err := reaper.StartCommand(cmd); err != nil {
		t.Fatal(err)
	}
	if _, err := reaper.WaitExit(cmd); err != nil {
		t.Fatal(err)
	}
	usage, ok := reaper.ExitUsage(cmd)
	if !ok {
		t.Fatal("no usage for a collected command")
	}
	if cpu := usage.Utime.Nano() + usage.Stime.Nano(); cpu <= 0 {
		t.Errorf("no CPU time for a child that read 500 MiB of /dev/zero: %+v", usage)
	}
	if err := reaper.Release(cmd); err != nil {
		t.Fatal(err)
	}
	if _, ok := reaper.ExitUsage(cmd); ok {
		t.Error("usage after Release")
	}
}

// TestAfterExit gets the exit of a process through AfterExit, both when it
// is registered while the process runs and after it was collected, and
// checks that nothing runs before the exit.
func TestAfterExit(t *testing.T) {
	for _, wait := range []bool{false, true} {
		t.Run(fmt.Sprintf("registered after the exit %v", wait), func(t *testing.T) {
			cmd := exec.Command("/bin/sh", "-c", "read line; exit 5")
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := reaper.StartCommand(cmd); err != nil {
				t.Fatal(err)
			}
			called := make(chan reaper.ExitResult, 1)
			after := func() {
				res, _ := reaper.WaitExit(cmd)
				called <- res
			}
			if wait {
				stdin.Close()
				<-reaper.Exited(cmd)
			}
			if err := reaper.AfterExit(cmd, after); err != nil {
				t.Fatal(err)
			}
			if !wait {
				select {
				case res := <-called:
					t.Fatalf("AfterExit ran before the exit, with %+v", res)
				case <-time.After(20 * time.Millisecond):
				}
				stdin.Close()
			}
			if res := <-called; res.Code != 5 {
				t.Errorf("got %+v, want exit code 5", res)
			}
			if err := reaper.Release(cmd); err != nil {
				t.Errorf("Release: %v", err)
			}
		})
	}
	if err := reaper.AfterExit(exec.Command("/bin/true"), func() {}); err != reaper.ErrNotStarted {
		t.Errorf("AfterExit of a command never started: got %v, want ErrNotStarted", err)
	}
}
