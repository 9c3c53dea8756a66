package servstate

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/pebble-project/pebble/internal/plan"
)

func TestNextBackoffDefaults(t *testing.T) {
	c := configFor(&plan.Service{Name: "s"}, time.Second, 5*time.Second)
	want := []time.Duration{
		500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second,
		8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second,
	}
	var got []time.Duration
	var d time.Duration
	for range want {
		d = nextBackoff(c, d)
		got = append(got, d)
	}
	assert.Equal(t, want, got)
	assert.Equal(t, 500*time.Millisecond, nextBackoff(c, 0), "after a reset")
}

func TestNextBackoffConfigured(t *testing.T) {
	tests := []struct {
		delay, limit time.Duration
		factor       float64
		want         []time.Duration
	}{
		{time.Second, 10 * time.Second, 3, []time.Duration{time.Second, 3 * time.Second, 9 * time.Second, 10 * time.Second, 10 * time.Second}},
		{time.Second, 5 * time.Second, 1, []time.Duration{time.Second, time.Second, time.Second}},
		{100 * time.Millisecond, 150 * time.Millisecond, 1.25, []time.Duration{100 * time.Millisecond, 125 * time.Millisecond, 150 * time.Millisecond, 150 * time.Millisecond}},
		{time.Hour, time.Minute, 2, []time.Duration{time.Hour, time.Minute, time.Minute}},
		{time.Second, 1 << 62, 1e9, []time.Duration{time.Second, time.Duration(1e18), 1 << 62}},
	}
	for _, tc := range tests {
		c := configFor(&plan.Service{
			BackoffDelay:  plan.OptionalDuration{Value: tc.delay, IsSet: true},
			BackoffLimit:  plan.OptionalDuration{Value: tc.limit, IsSet: true},
			BackoffFactor: plan.OptionalFloat{Value: tc.factor, IsSet: true},
		}, time.Second, time.Second)
		var got []time.Duration
		var d time.Duration
		for range tc.want {
			d = nextBackoff(c, d)
			got = append(got, d)
		}
		assert.Equal(t, tc.want, got, "delay %v limit %v factor %v", tc.delay, tc.limit, tc.factor)
	}
}

func TestJitter(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	d := time.Second
	var maxSeen time.Duration
	for range 10000 {
		j := jitter(d, r)
		assert.GreaterOrEqual(t, j, time.Duration(0))
		assert.Less(t, j, d/10)
		maxSeen = max(maxSeen, j)
	}
	assert.Greater(t, maxSeen, 90*time.Millisecond, "jitter does not cover its range")
	assert.Zero(t, jitter(5, r))
}

func TestExitActionAndShutdownCode(t *testing.T) {
	tests := []struct {
		onSuccess, onFailure plan.ServiceAction
		code                 int
		action               plan.ServiceAction
		label                string
		exit                 int
		shutdown             bool
	}{
		{"", "", 0, plan.ActionRestart, "on-success", 0, false},
		{"", "", 1, plan.ActionRestart, "on-failure", 0, false},
		{plan.ActionShutdown, "", 0, plan.ActionShutdown, "on-success", 0, true},
		{"", plan.ActionShutdown, 143, plan.ActionShutdown, "on-failure", 10, true},
		{plan.ActionFailureShutdown, "", 0, plan.ActionFailureShutdown, "on-success", 10, true},
		{"", plan.ActionSuccessShutdown, 2, plan.ActionSuccessShutdown, "on-failure", 0, true},
		{plan.ActionIgnore, plan.ActionIgnore, 2, plan.ActionIgnore, "on-failure", 0, false},
	}
	for _, tc := range tests {
		c := configFor(&plan.Service{OnSuccess: tc.onSuccess, OnFailure: tc.onFailure}, time.Second, time.Second)
		action, label := exitAction(c, tc.code)
		assert.Equal(t, tc.action, action)
		assert.Equal(t, tc.label, label)
		exit, ok := shutdownCode(action, tc.code)
		assert.Equal(t, tc.shutdown, ok)
		assert.Equal(t, tc.exit, exit)
	}
	exit, ok := shutdownCode(plan.ActionShutdown, -1)
	assert.True(t, ok)
	assert.Equal(t, 11, exit, "check-failure shutdown")
}
