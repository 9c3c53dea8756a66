package servstate

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/reaper"
)

func init() {
	// TestEveryCell also runs with a spent restart budget: its machines
	// hold one restart, so every restart is over this limit.
	spent := testConfig
	spent.budget = budget{limit: 1, onLimit: plan.ActionShutdown}
	lifecycleConfigs = append(lifecycleConfigs, namedConfig{"spent budget", spent})
}

func TestAllowRestart(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(secs ...int) []time.Time {
		var out []time.Time
		for _, s := range secs {
			out = append(out, t0.Add(time.Duration(s)*time.Second))
		}
		return out
	}
	tests := []struct {
		name    string
		b       budget
		times   []time.Time
		now     int
		want    []time.Time
		allowed bool
	}{
		{"no limit", budget{}, at(0, 1, 2), 3, nil, true},
		{"first", budget{limit: 2, window: 10 * time.Second}, nil, 0, at(0), true},
		{"second", budget{limit: 2, window: 10 * time.Second}, at(0), 5, at(0, 5), true},
		{"third within window", budget{limit: 2, window: 10 * time.Second}, at(0, 5), 9, at(0, 5), false},
		{"oldest just out of window", budget{limit: 2, window: 10 * time.Second}, at(0, 5), 10, at(5, 10), true},
		{"all out of window", budget{limit: 2, window: 10 * time.Second}, at(0, 5), 60, at(60), true},
		{"no window counts all", budget{limit: 3}, at(0, 100, 200), 10000, at(0, 100, 200), false},
		{"no window, room left", budget{limit: 3}, at(0, 100), 10000, at(0, 100, 10000), true},
		{"limit 1", budget{limit: 1, window: time.Minute}, at(0), 59, at(0), false},
	}
	for _, tc := range tests {
		in := append([]time.Time(nil), tc.times...)
		got, allowed := tc.b.allowRestart(tc.times, t0.Add(time.Duration(tc.now)*time.Second))
		assert.Equal(t, tc.allowed, allowed, tc.name)
		assert.Equal(t, tc.want, got, tc.name)
		assert.Equal(t, in, tc.times, "%s: input modified", tc.name)
	}
}

func TestLimitReason(t *testing.T) {
	assert.Equal(t, "restart limit reached: 5 restarts within 1m0s", budget{limit: 5, window: time.Minute}.limitReason())
	assert.Equal(t, "restart limit reached: 2 restarts since the last start", budget{limit: 2}.limitReason())
}

func TestSuccessExitCodes(t *testing.T) {
	c := configFor(&plan.Service{Name: "s", SuccessExitCodes: []int{143, 3}, OnSuccess: plan.ActionShutdown, OnFailure: plan.ActionShutdown}, time.Second, time.Second)
	for _, tc := range []struct {
		code     int
		label    string
		shutdown int
	}{{0, "on-success", 0}, {143, "on-success", 0}, {3, "on-success", 0}, {1, "on-failure", 10}, {137, "on-failure", 10}} {
		action, label := exitAction(c, tc.code)
		assert.Equal(t, plan.ActionShutdown, action)
		assert.Equal(t, tc.label, label, "code %d", tc.code)
		exit, ok := shutdownCode(action, c.budget.outcomeCode(tc.code))
		assert.True(t, ok)
		assert.Equal(t, tc.shutdown, exit, "code %d", tc.code)
	}

	// An ignored exit listed as success stops the service, not exits it.
	c.onSuccess = plan.ActionIgnore
	m, _ := next(machine{state: stateRunning}, c, exitEv(143))
	assert.Equal(t, stateStopped, m.state)
	assert.Empty(t, m.reason)
	c.onFailure = plan.ActionIgnore
	m, _ = next(machine{state: stateRunning}, c, exitEv(2))
	assert.Equal(t, stateExited, m.state)
	assert.Equal(t, `exited with code 2, on-failure action is "ignore"`, m.reason)
}

// budgetExit is an exit event at a given second.
func budgetExit(code, sec int) event {
	return event{kind: evExit, exit: reaper.ExitResult{Code: code}, at: time.Unix(int64(sec), 0)}
}

// TestSequenceRestartBudget: with restart-limit 2, two restarts happen and
// the third exit within the window fails the service; a start clears it.
func TestSequenceRestartBudget(t *testing.T) {
	c := testConfig
	c.budget = budget{limit: 2, window: 10 * time.Second, onLimit: plan.ActionIgnore}
	m := runSteps(t, c, machine{state: stateRunning}, []step{
		{budgetExit(1, 0), stateBackoff, []string{"code 1", "(backoff 1)"}},
		{event{kind: evTreeEmpty}, stateBackoff, nil},
		{event{kind: evLaunched}, stateRunning, nil},
		{budgetExit(1, 1), stateBackoff, []string{"code 1", "(backoff 2)"}},
		{event{kind: evTreeEmpty}, stateBackoff, nil},
		{event{kind: evLaunched}, stateRunning, nil},
		{budgetExit(1, 2), stateFailed, []string{"code 1", `Service "s" restart limit reached: 2 restarts within 10s, not restarting`}},
		{event{kind: evTreeEmpty}, stateFailed, nil},
		{event{kind: evBackoffDone}, stateFailed, nil},
		{event{kind: evCheckFailed, action: plan.ActionRestart}, stateFailed, nil},
	})
	assert.Equal(t, 2, m.restarts)
	assert.Equal(t, "restart limit reached: 2 restarts within 10s", m.reason)
	assert.Equal(t, StatusError, m.state.status())

	// A start clears the failure and the count.
	m, effs := next(m, c, event{kind: evStart})
	assert.Contains(t, effs, effect{kind: effLaunch, okay: true})
	assert.Zero(t, m.restarts)
	assert.Empty(t, m.restartTimes)
	assert.Empty(t, m.reason)

	// A stop acknowledges it.
	failed := machine{state: stateFailed, reason: "restart limit reached: 2 restarts within 10s"}
	m, effs = next(failed, c, event{kind: evStop})
	assert.Equal(t, stateStopped, m.state)
	assert.Empty(t, m.reason)
	require.Len(t, effs, 1)
	assert.Equal(t, `Service "s" had already failed: restart limit reached: 2 restarts within 10s.`, effs[0].text)
}

func TestSequenceRestartBudgetWindow(t *testing.T) {
	c := testConfig
	c.budget = budget{limit: 1, window: 10 * time.Second}
	m := runSteps(t, c, machine{state: stateRunning}, []step{
		{budgetExit(1, 0), stateBackoff, []string{"code 1", "(backoff 1)"}},
		{event{kind: evLaunched}, stateRunning, nil},
		// 10 s later the first restart no longer counts.
		{budgetExit(1, 10), stateBackoff, []string{"code 1", "(backoff 2)"}},
		{event{kind: evLaunched}, stateRunning, nil},
		{budgetExit(1, 11), stateFailed, []string{"code 1", "restart limit reached: 1 restart within 10s"}},
	})
	assert.Equal(t, 2, m.restarts)
}

// TestOnRestartLimitActions: each action's daemon exit code, as the
// on-failure shutdown actions give it.
func TestOnRestartLimitActions(t *testing.T) {
	for _, tc := range []struct {
		action   plan.ServiceAction
		code     int
		shutdown bool
		log      string
	}{
		{plan.ActionIgnore, 0, false, ""},
		{plan.ActionShutdown, 10, true, `Service "s" on-restart-limit action is "shutdown", triggering failure shutdown`},
		{plan.ActionFailureShutdown, 10, true, `Service "s" on-restart-limit action is "failure-shutdown", triggering failure shutdown`},
		{plan.ActionSuccessShutdown, 0, true, `Service "s" on-restart-limit action is "success-shutdown", triggering success shutdown`},
	} {
		c := testConfig
		c.budget = budget{limit: 1, onLimit: tc.action}
		// Exit 0 with on-success restart: the code of the last exit does
		// not change the action's exit code.
		m, effs := next(machine{state: stateRunning, restartTimes: []time.Time{{}}}, c, budgetExit(0, 5))
		assert.Equal(t, stateFailed, m.state, string(tc.action))
		var logs []string
		shutdown := -1
		for _, e := range effs {
			switch e.kind {
			case effLog:
				logs = append(logs, e.text)
			case effShutdown:
				shutdown = e.code
			}
		}
		if !tc.shutdown {
			assert.Equal(t, -1, shutdown, string(tc.action))
			continue
		}
		assert.Equal(t, tc.code, shutdown, string(tc.action))
		assert.Contains(t, logs, tc.log)
	}
}

// TestCheckRestartsCount: an on-check-failure restart spends the budget
// like an exit's.
func TestCheckRestartsCount(t *testing.T) {
	c := testConfig
	c.budget = budget{limit: 1}
	m := runSteps(t, c, machine{state: stateRunning}, []step{
		{event{kind: evCheckFailed, action: plan.ActionRestart}, stateTerminating, []string{"terminating process before restarting"}},
		{exitEv(143), stateTerminating, nil},
		{event{kind: evTreeEmpty}, stateBackoff, []string{"exited after check failure", "(backoff 1)"}},
		{event{kind: evLaunched}, stateRunning, nil},
		{event{kind: evCheckFailed, action: plan.ActionRestart}, stateTerminating, []string{"terminating process before restarting"}},
		{exitEv(143), stateTerminating, nil},
		{event{kind: evTreeEmpty}, stateFailed, []string{"exited after check failure", "restart limit reached: 1 restart since the last start"}},
	})
	assert.Equal(t, 1, m.restarts)
}

// TestManagerRestartBudget: a crash-looping service is relaunched exactly
// restart-limit times, then reads as "error" with the reason, its restart
// count and last exit; a start clears it.
func TestManagerRestartBudget(t *testing.T) {
	svc := sh("crash", "exit 3")
	svc.RestartLimit = ptrTo(2)
	svc.BackoffDelay = plan.OptionalDuration{Value: 10 * time.Millisecond, IsSet: true}
	killed := sh("killed", "kill -KILL $$")
	killed.OnFailure = plan.ActionIgnore
	f := newFixture(t, newPlan(svc, killed), nil)
	ctx := context.Background()

	// The start fails once the first run exits, unless a loaded machine
	// makes it outlive the okay delay: either way the loop follows.
	f.m.Start(ctx, "crash", nil)
	f.waitCurrent(t, "crash", StatusError)
	info := f.info(t, "crash")
	assert.Equal(t, 3, info.StartCount, "runs: the first and two restarts")
	assert.Equal(t, 2, info.Restarts)
	assert.Equal(t, "restart limit reached: 2 restarts since the last start", info.Failure)
	require.NotNil(t, info.LastExit)
	assert.Equal(t, 3, info.LastExit.Code)
	assert.Empty(t, info.LastExit.Signal)
	assert.WithinDuration(t, time.Now(), info.LastExit.Time, 10*time.Second)
	assert.NoError(t, f.log.has(`Service "crash" restart limit reached: 2 restarts since the last start, not restarting`))

	// A start clears it and gives it its budget again.
	f.m.Start(ctx, "crash", nil)
	info = f.info(t, "crash")
	assert.LessOrEqual(t, info.Restarts, 1)
	f.waitCurrent(t, "crash", StatusError)
	assert.Equal(t, 6, f.info(t, "crash").StartCount)

	f.m.Start(ctx, "killed", nil)
	f.waitCurrent(t, "killed", StatusError)
	info = f.info(t, "killed")
	require.NotNil(t, info.LastExit)
	assert.Equal(t, "SIGKILL", info.LastExit.Signal)
	assert.Equal(t, `exited with code 137, on-failure action is "ignore"`, info.Failure)
	assert.Zero(t, info.Restarts)
}

func ptrTo[T any](v T) *T { return &v }
