package ops

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
