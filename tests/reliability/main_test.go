// Package reliability holds the end-to-end reliability and security suite
// of issue 17: scenarios of faults, load and hostile input run against the
// built binary (package harness builds it once and runs the daemons). Each
// scenario prints its figure with t.Logf, prefixed "figure:", and asserts
// its criterion.
//
// Scenarios that take under a minute are plain tests and run in `make
// test` too. Longer ones go in files built with the "long" tag, which only
// `make test-reliability` sets; it runs the whole suite.
package reliability

import (
	"fmt"
	"os"
	"testing"

	"github.com/pebble-project/pebble/internal/testutil"
	"github.com/pebble-project/pebble/tests/harness"
)

// run is the binary and the $PEBBLE root of this test run.
var run *harness.Run

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	var err error
	if run, err = harness.Setup(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer run.Close()
	return run.CheckLeftovers(testutil.Run(m))
}
