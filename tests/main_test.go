// Package tests holds the end-to-end tests: TestMain builds cmd/pebble once
// into a temporary directory, and every test drives that binary as a real
// daemon on a fresh $PEBBLE, through the CLI (the same binary) and through the
// HTTP API on the daemon's socket.
//
// Each daemon gets its own $PEBBLE, and every process the daemon starts
// inherits PEBBLE=<dir> in its environment (behaviour.md §3), so a test finds
// the processes it caused by that marker, whatever they did to their process
// group or session. The harness requires that none of them outlive the daemon.
//
// The binary is built by package harness, shared with tests/reliability:
// when the tests run with -race the daemon is built with -race too
// (PEBBLE_E2E_RACE=0 turns that off). PEBBLE_E2E_BIN=<path> runs the suite
// against a prebuilt binary instead, for example Canonical's Pebble, to check
// the tests themselves against the reference implementation.
package tests

import (
	"fmt"
	"os"
	"testing"

	"github.com/pebble-project/pebble/internal/testutil"
	"github.com/pebble-project/pebble/tests/harness"
)

var (
	// pebbleBin is the daemon and CLI binary built by TestMain.
	pebbleBin string
	// runRoot holds the binary and every $PEBBLE of this run; the processes
	// of this run's daemons carry PEBBLE=<runRoot>/... in their environment.
	runRoot string
	// testRun is the harness run that built pebbleBin.
	testRun *harness.Run
)

func TestMain(m *testing.M) {
	if name := os.Getenv(helperEnv); name != "" {
		os.Exit(runHelper(name))
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	r, err := harness.Setup()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer r.Close()
	pebbleBin, runRoot, testRun = r.Bin, r.Root, r
	return r.CheckLeftovers(testutil.Run(m))
}
