package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	if os.Getenv("TESTUTIL_LEAK") != "" {
		// The child run of TestMainFailsOnLeak: Main alone, no reaper, and
		// no long wait for a leak that will not go away.
		leakTimeout = 100 * time.Millisecond
		Main(m)
	}
	MainWithReaper(m)
}

func TestLeakedGoroutineIsFound(t *testing.T) {
	base := takeSnapshot()
	stop := make(chan struct{})
	go func() { <-stop }()
	err := leaksSince(base)
	if err == nil || !strings.Contains(err.Error(), "TestLeakedGoroutineIsFound") {
		t.Fatalf("leaked goroutine not reported: %v", err)
	}
	close(stop)
	if err := waitNoLeaks(base, 5*time.Second); err != nil {
		t.Fatalf("reported after it ended: %v", err)
	}
}

func TestLeakedFileIsFound(t *testing.T) {
	base := takeSnapshot()
	path := t.TempDir() + "/leaky"
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	err = leaksSince(base)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("leaked descriptor of %s not reported: %v", path, err)
	}
	f.Close()
	if err := leaksSince(base); err != nil {
		t.Fatalf("reported after close: %v", err)
	}
}

func TestLeakedChildIsFound(t *testing.T) {
	base := takeSnapshot()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	err := leaksSince(base)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("child process %d: sleep 60", cmd.Process.Pid)) {
		t.Errorf("child not reported: %v", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if err := waitNoLeaks(base, 5*time.Second); err != nil {
		t.Fatalf("reported after it was reaped: %v", err)
	}
}

// recorder is a testing.TB that keeps its cleanups and errors to itself.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	cleanups []func()
	errors   []string
}

func (r *recorder) Helper()          {}
func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Errorf(f string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(f, a...))
}

func (r *recorder) Fatalf(f string, a ...any) {
	r.Errorf(f, a...)
	runtime.Goexit()
}

func TestCheckLeaksFailsTheTest(t *testing.T) {
	defer func(d time.Duration) { leakTimeout = d }(leakTimeout)
	leakTimeout = 100 * time.Millisecond
	r := &recorder{TB: t}
	CheckLeaks(r)
	stop := make(chan struct{})
	go func() { <-stop }()
	// Released after the check gave up, so the goroutine is left at cleanup.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, f := range r.cleanups {
			f()
		}
	}()
	select {
	case <-done:
	case <-time.After(2 * leakTimeout):
		t.Fatal("cleanup did not return")
	}
	close(stop)
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "goroutine") {
		t.Errorf("errors %q, want one naming the goroutine", r.errors)
	}
}

func TestCheckLeaksPassesWhenCleanedUp(t *testing.T) {
	r := &recorder{TB: t}
	CheckLeaks(r)
	stop := make(chan struct{})
	go func() { <-stop }()
	close(stop)
	for _, f := range r.cleanups {
		f()
	}
	if len(r.errors) != 0 {
		t.Errorf("errors %q for a test that left nothing", r.errors)
	}
}

// TestLeakyRun leaks a goroutine; it runs only as the child of
// TestMainFailsOnLeak.
func TestLeakyRun(t *testing.T) {
	if os.Getenv("TESTUTIL_LEAK") == "" {
		t.Skip("runs only as the child of TestMainFailsOnLeak")
	}
	go func() { select {} }()
}

func TestMainFailsOnLeak(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestLeakyRun$")
	cmd.Env = append(os.Environ(), "TESTUTIL_LEAK=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("a leaking run passed:\n%s", out)
	}
	if !strings.Contains(string(out), "tests passed but leaked") || !strings.Contains(string(out), "TestLeakyRun") {
		t.Errorf("output does not name the leak:\n%s", out)
	}
}

func TestWaitFor(t *testing.T) {
	start := time.Now()
	calls := 0
	WaitFor(t, 5*time.Second, func() error {
		if calls++; calls < 3 {
			return fmt.Errorf("call %d", calls)
		}
		return nil
	})
	if calls != 3 {
		t.Errorf("%d calls, want 3", calls)
	}
	t.Logf("waited %v", time.Since(start))
}

func TestWaitForFailsWithTheLastError(t *testing.T) {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		WaitFor(r, 50*time.Millisecond, func() error { return fmt.Errorf("still not there") })
		r.Errorf("WaitFor returned")
	}()
	<-done
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "condition not met after 50ms: still not there") {
		t.Errorf("errors %q", r.errors)
	}
}

func TestWaitBlockedIn(t *testing.T) {
	stop := make(chan struct{})
	for range 3 {
		go parkUntil(stop)
	}
	WaitBlockedIn(t, 5*time.Second, 3, "internal/testutil.parkUntil")

	// A goroutine that is gone, or was never there, is not waiting.
	close(stop)
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		WaitBlockedIn(r, 100*time.Millisecond, 1, "internal/testutil.parkUntil")
	}()
	<-done
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "0 goroutines blocked in internal/testutil.parkUntil, want 1") {
		t.Errorf("errors %q", r.errors)
	}
}

// parkUntil blocks until stop is closed.
func parkUntil(stop <-chan struct{}) { <-stop }
