package system

import (
	"testing"

	"github.com/pebble-project/pebble/internal/testutil"
)

// Run starts and stops the reaper itself; the leak check then finds any
// goroutine, descriptor or child a daemon run left behind.
func TestMain(m *testing.M) { testutil.Main(m) }
