package ops

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/checks"
)

const checksLayer = `
checks:
    up:
        override: replace
        level: alive
        period: 1h
        exec:
            command: "true"
    down:
        override: replace
        level: ready
        period: 1h
        threshold: 1
        exec:
            command: "false"
    off:
        override: replace
        startup: disabled
        exec:
            command: "false"
`

// TestReplanStartsChecks: replan starts the inactive enabled checks, not
// the disabled ones (behaviour.md §6.5 step 5).
func TestReplanStartsChecks(t *testing.T) {
	o := newOps(t, checksLayer)
	changed, err := o.checks.StopChecks([]string{"off", "up"})
	require.NoError(t, err)
	assert.Equal(t, []string{"up"}, changed)
	infos := o.checks.Checks("", nil)
	require.Len(t, infos, 3)
	assert.Equal(t, checks.StatusInactive, infos[2].Status, "up")

	run(t, o, "replan")
	infos = o.checks.Checks("", nil)
	require.Len(t, infos, 3)
	assert.Equal(t, checks.StatusUp, infos[2].Status, "up")
	assert.Equal(t, checks.StatusInactive, infos[1].Status, "off")
}
