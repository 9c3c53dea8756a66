package checks

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/metrics"
)

// TestWriteMetrics checks the checks' families of GET /v1/metrics: one
// block per family with a sample per check in name order, and no
// pebble_check_up sample for an inactive check.
func TestWriteMetrics(t *testing.T) {
	h := newHarness(t, nil)
	h.setPlan(`
checks:
    up:
        override: replace
        period: 1h
        exec:
            command: "true"
    down:
        override: replace
        period: 1h
        threshold: 1
        exec:
            command: "false"
    off:
        override: replace
        startup: disabled
        exec:
            command: "false"
`, "")
	h.refresh("down")
	h.refresh("up")
	var b strings.Builder
	w := metrics.NewWriter(&b)
	h.m.WriteMetrics(w)
	require.NoError(t, w.Flush())
	assert.Equal(t, `# HELP pebble_check_up Whether the health check is up (1) or not (0)
# TYPE pebble_check_up gauge
pebble_check_up{check="down"} 0
pebble_check_up{check="up"} 1

# HELP pebble_check_success_count Number of times the check has succeeded
# TYPE pebble_check_success_count counter
pebble_check_success_count{check="down"} 0
pebble_check_success_count{check="off"} 0
pebble_check_success_count{check="up"} 1

# HELP pebble_check_failure_count Number of times the check has failed
# TYPE pebble_check_failure_count counter
pebble_check_failure_count{check="down"} 1
pebble_check_failure_count{check="off"} 0
pebble_check_failure_count{check="up"} 0

`, b.String())
}
