package ops

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/apierr"
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

func TestChecksActionErrors(t *testing.T) {
	o := newOps(t, checksLayer)
	tests := []struct {
		action string
		names  []string
		msg    string
	}{
		{"start", nil, "must specify checks for start action"},
		{"bogus", nil, "must specify checks for bogus action"},
		{"bogus", []string{"up"}, `invalid action "bogus"`},
		{"start", []string{"zz", "up", "aa"}, "cannot start checks: cannot find checks in plan: aa, zz"},
		{"stop", []string{"nope"}, "cannot stop checks: cannot find checks in plan: nope"},
	}
	for _, tt := range tests {
		_, err := o.ChecksAction("0", tt.action, tt.names)
		assert.Equal(t, &apierr.Error{Class: apierr.BadRequest, Message: tt.msg}, err, "%s %v", tt.action, tt.names)
	}
}

func TestChecksActionAndReplan(t *testing.T) {
	o := newOps(t, checksLayer)
	changed, err := o.ChecksAction("0", "stop", []string{"off", "up"})
	require.NoError(t, err)
	assert.Equal(t, []string{"up"}, changed)
	changed, err = o.ChecksAction("0", "stop", []string{"up"})
	require.NoError(t, err)
	assert.Equal(t, []string{}, changed, "never nil")

	// Replan starts the inactive enabled check, not the disabled one.
	run(t, o, "replan")
	infos := o.Checks("", nil)
	require.Len(t, infos, 3)
	assert.Equal(t, checks.StatusUp, infos[2].Status, "up")
	assert.Equal(t, checks.StatusInactive, infos[1].Status, "off")

	changed, err = o.ChecksAction("0", "start", []string{"off"})
	require.NoError(t, err)
	assert.Equal(t, []string{"off"}, changed)
}

func TestRefreshCheckAndHealth(t *testing.T) {
	o := newOps(t, checksLayer)
	_, _, err := o.RefreshCheck(context.Background(), "")
	assert.Equal(t, &apierr.Error{Class: apierr.BadRequest, Message: "must specify check name"}, err)
	_, _, err = o.RefreshCheck(context.Background(), "nope")
	assert.Equal(t, &apierr.Error{Class: apierr.NotFound, Message: `cannot find check with name "nope"`}, err)

	healthy, err := o.Healthy("", nil)
	require.NoError(t, err)
	assert.True(t, healthy)

	info, text, err := o.RefreshCheck(context.Background(), "down")
	require.NoError(t, err)
	assert.Equal(t, "exit status 1", text)
	assert.Equal(t, checks.StatusDown, info.Status)

	for _, tt := range []struct {
		level   string
		names   []string
		healthy bool
	}{
		{"", nil, false},
		{"alive", nil, true},
		{"ready", nil, false},
		{"", []string{"up"}, true},
	} {
		healthy, err := o.Healthy(tt.level, tt.names)
		require.NoError(t, err)
		assert.Equal(t, tt.healthy, healthy, "level %q names %v", tt.level, tt.names)
	}

	info, text, err = o.RefreshCheck(context.Background(), "up")
	require.NoError(t, err)
	assert.Equal(t, "", text)
	assert.Equal(t, 1, info.Successes)
}

func TestChecksSecurityEvents(t *testing.T) {
	o := newOps(t, checksLayer)
	var events []string
	o.securityEvent = func(level, event, desc string) { events = append(events, level+" "+event+" "+desc) }
	_, err := o.ChecksAction("alice", "stop", []string{"up", "nope"})
	require.Error(t, err)
	assert.Equal(t, []string{
		"WARN sys_monitor_disabled:alice,up Stopping check up",
		"WARN sys_monitor_disabled:alice,nope Stopping check nope",
	}, events, "logged for every name asked for, as Pebble does")
}
