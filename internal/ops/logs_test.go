package ops

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/logfwd"
	"github.com/pebble-project/pebble/internal/logs"
)

const logsLayer = `
services:
    a:
        override: replace
        command: /bin/sh -c 'echo a1; exec sleep 300'
    b:
        override: replace
        command: /bin/sh -c 'echo b1; exec sleep 300'
    never:
        override: replace
        command: sleep 300
`

// TestLogBuffers: the buffers of the named services, in name order, once
// each; every service in the plan without names. Services that never
// started and names not in the plan have none. The stream over them is
// tested in internal/logs.
func TestLogBuffers(t *testing.T) {
	o := newOps(t, logsLayer)
	assert.Empty(t, o.LogBuffers(nil), "no service started")
	run(t, o, "start", "b", "a")
	a, b := o.services.Buffer("a"), o.services.Buffer("b")
	require.NotNil(t, a)
	require.NotNil(t, b)
	assert.Equal(t, []*logs.Buffer{a, b}, o.LogBuffers(nil))
	assert.Equal(t, []*logs.Buffer{a, b}, o.LogBuffers([]string{"b", "a", "b"}))
	assert.Equal(t, []*logs.Buffer{b}, o.LogBuffers([]string{"b", "never", "nope"}))
	assert.Empty(t, o.LogBuffers([]string{"never"}))
}

type fakeForwarder []logfwd.Status

func (f fakeForwarder) Status() []logfwd.Status { return f }

func TestLogTargetMetrics(t *testing.T) {
	o := newOps(t, logsLayer)
	var buf strings.Builder
	require.NoError(t, o.WriteMetrics(&buf))
	assert.NotContains(t, buf.String(), "pebble_log_target", "no targets, no blocks")
	o.SetForwarder(fakeForwarder{
		{Name: "a", Sent: 5, Dropped: 1, LostBytes: 100, Failures: 2},
		{Name: "b\"", Sent: 7},
	})
	buf.Reset()
	require.NoError(t, o.WriteMetrics(&buf))
	assert.Equal(t, `# HELP pebble_log_target_sent_total Log entries the log target's receiver accepted
# TYPE pebble_log_target_sent_total counter
pebble_log_target_sent_total{target="a"} 5
pebble_log_target_sent_total{target="b\""} 7

# HELP pebble_log_target_dropped_total Log entries given up on: refused by the receiver, or unsent when the target was removed or the daemon stopped
# TYPE pebble_log_target_dropped_total counter
pebble_log_target_dropped_total{target="a"} 1
pebble_log_target_dropped_total{target="b\""} 0

# HELP pebble_log_target_lost_bytes_total Bytes of service output overwritten in the service buffers before the log target could send them
# TYPE pebble_log_target_lost_bytes_total counter
pebble_log_target_lost_bytes_total{target="a"} 100
pebble_log_target_lost_bytes_total{target="b\""} 0

# HELP pebble_log_target_failures_total Failed attempts to send logs to the log target
# TYPE pebble_log_target_failures_total counter
pebble_log_target_failures_total{target="a"} 2
pebble_log_target_failures_total{target="b\""} 0

`, buf.String())
}
