// Package testutil holds what the tests of every package share: waiting on a
// condition with a deadline, the package-level TestMain with its leak check,
// and the reaper set-up for packages whose tests start processes.
//
// Every test package's TestMain calls Main (or MainWithReaper, or Run when it
// has set-up of its own), so a test that leaves a goroutine, a file
// descriptor or a child process behind fails the package's run.
package testutil

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/pebble-project/pebble/internal/reaper"
)

// pollInterval is how often WaitFor and the leak checks look again.
const pollInterval = 5 * time.Millisecond

// leakTimeout bounds how long the leak checks wait for goroutines,
// descriptors and children to go away after the tests are done with them.
var leakTimeout = 10 * time.Second

// WaitFor calls cond until it returns nil. If that does not happen within
// timeout, or the test's context ends first, it fails the test with cond's
// last error.
func WaitFor(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		select {
		case <-deadline.C:
			t.Fatalf("condition not met after %v: %v", timeout, err)
		case <-t.Context().Done():
			t.Fatalf("test ended while waiting: %v", err)
		case <-time.After(pollInterval):
		}
	}
}

// Main runs the package's tests and exits with their status. A passing run
// fails when it leaves goroutines, file descriptors or child processes that
// were not there before the tests started.
func Main(m *testing.M) {
	os.Exit(Run(m))
}

// MainWithReaper is Main for packages whose tests start processes: the reaper
// runs for the whole run, and is stopped after the leak check.
func MainWithReaper(m *testing.M) {
	if err := reaper.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "cannot start the reaper:", err)
		os.Exit(1)
	}
	code := Run(m)
	reaper.Stop()
	os.Exit(code)
}

// Run runs the package's tests with the leak check of Main and returns the
// exit status, for a TestMain that has set-up and tear-down of its own.
func Run(m *testing.M) int {
	base := takeSnapshot()
	code := m.Run()
	if code != 0 {
		return code
	}
	if err := waitNoLeaks(base, leakTimeout); err != nil {
		fmt.Fprintf(os.Stderr, "tests passed but leaked: %v\n", err)
		return 1
	}
	return 0
}

// CheckLeaks fails the test if, at its cleanup, goroutines, file
// descriptors or child processes are left that were not there when
// CheckLeaks was called. Call it first, so that its cleanup runs after the
// test's other cleanups.
func CheckLeaks(t testing.TB) {
	t.Helper()
	base := takeSnapshot()
	t.Cleanup(func() {
		if err := waitNoLeaks(base, leakTimeout); err != nil {
			t.Errorf("leaked: %v", err)
		}
	})
}

// WaitBlockedIn waits until n goroutines are blocked on a channel or a
// condition inside function, named as in a stack trace (for example
// "internal/notices.(*Manager).Wait"), and fails the test if that does not
// happen within timeout. A test of a long-poll calls it before it wakes the
// waiter, so that it tests the wait and not an early return that finds the
// data already there.
func WaitBlockedIn(t testing.TB, timeout time.Duration, n int, function string) {
	t.Helper()
	WaitFor(t, timeout, func() error {
		if got := blockedIn(function); got < n {
			return fmt.Errorf("%d goroutines blocked in %s, want %d", got, function, n)
		}
		return nil
	})
}
