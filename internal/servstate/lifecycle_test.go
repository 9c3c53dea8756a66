package servstate

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/reaper"
)

type namedConfig struct {
	name string
	c    config
}

func withLifecycle(l lifecycle) config {
	c := testConfig
	c.lifecycle = l
	if l.oneshot {
		c.onSuccess, c.onFailure = plan.ActionIgnore, plan.ActionIgnore
	}
	return c
}

var (
	readyConfig   = withLifecycle(lifecycle{needCheck: true, needNotify: true, startTimeout: time.Minute})
	oneshotConfig = withLifecycle(lifecycle{oneshot: true, startTimeout: time.Minute})
	// lifecycleConfigs are the kinds of service the every-cell test runs.
	lifecycleConfigs = []namedConfig{{"plain", testConfig}, {"ready", readyConfig}, {"oneshot", oneshotConfig}}
)

// effectsOf returns the effects of one transition, by kind.
func effectsOf(effs []effect, kind effectKind) []effect {
	var out []effect
	for _, e := range effs {
		if e.kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func TestReadinessStartWaitsForEveryCondition(t *testing.T) {
	m, effs := next(machine{state: stateStopped}, readyConfig, event{kind: evStart})
	assert.Len(t, effectsOf(effs, effLaunch), 1)
	m, effs = next(m, readyConfig, event{kind: evLaunched, okay: true})
	assert.Equal(t, stateStarting, m.state)
	arms := effectsOf(effs, effArm)
	assert.Equal(t, []timerKind{timerStart, timerReset}, []timerKind{arms[0].timer, arms[1].timer}, "no okay delay, a start-timeout")
	assert.Equal(t, time.Minute, arms[0].d)

	// The okay delay does nothing to a service with readiness.
	m, effs = next(m, readyConfig, event{kind: evOkay})
	assert.Equal(t, stateStarting, m.state)
	assert.Empty(t, effectsOf(effs, effStartReply))

	m, effs = next(m, readyConfig, event{kind: evReady, source: readyCheck})
	assert.Equal(t, stateStarting, m.state, "notify is still missing")
	assert.Empty(t, effectsOf(effs, effStartReply))
	assert.Equal(t, "waiting", readinessText(m, readyConfig, ""))

	m, effs = next(m, readyConfig, event{kind: evReady, source: readyNotify})
	assert.Equal(t, stateRunning, m.state)
	replies := effectsOf(effs, effStartReply)
	if assert.Len(t, replies, 1) {
		assert.NoError(t, replies[0].err)
	}
	assert.Equal(t, "ready", readinessText(m, readyConfig, ""))
	assert.Equal(t, "reloading", readinessText(m, readyConfig, "reloading"))
	assert.False(t, validTimer(m, timerStart), "the start-timeout ends with the start")
}

func TestReadinessStartTimeout(t *testing.T) {
	m := machine{state: stateStarting}
	m, effs := next(m, readyConfig, event{kind: evStartTimeout})
	assert.Equal(t, stateTerminating, m.state, "the service is stopped")
	replies := effectsOf(effs, effStartReply)
	if assert.Len(t, replies, 1) {
		assert.EqualError(t, replies[0].err, `cannot start service "s": not ready within 1m0s`)
	}
	assert.Len(t, effectsOf(effs, effTerminate), 1)
	assert.Equal(t, "timed-out", readinessText(m, readyConfig, ""))
	// A late readiness changes nothing.
	m, effs = next(m, readyConfig, event{kind: evReady, source: readyNotify})
	assert.Equal(t, stateTerminating, m.state)
	assert.Empty(t, effs)

	// A plain service has the okay delay and no start-timeout.
	assert.Equal(t, []effect{{kind: effArm, timer: timerOkay, d: time.Second}}, startTimers(testConfig))
}

func TestReadinessExitBeforeReady(t *testing.T) {
	runSteps(t, readyConfig, machine{state: stateStarting}, []step{
		{event{kind: evExit, exit: reaper.ExitResult{Code: 3}}, stateBackoff, []string{"stopped unexpectedly with code 3", `on-failure action is "restart"`}},
	})
	m, effs := next(machine{state: stateStarting}, readyConfig, event{kind: evStop})
	assert.Equal(t, stateTerminating, m.state)
	assert.EqualError(t, effectsOf(effs, effStartReply)[0].err, "stopped before it was ready")
}

func TestReadinessAfterBackoffRestart(t *testing.T) {
	m, _ := next(machine{state: stateBackoff, ready: readyState{done: true}}, readyConfig, event{kind: evLaunched})
	assert.Equal(t, stateRunning, m.state)
	assert.Equal(t, "waiting", readinessText(m, readyConfig, ""), "a new run is ready again only when it says so")
	m, _ = next(m, readyConfig, event{kind: evReady, source: readyCheck})
	m, effs := next(m, readyConfig, event{kind: evReady, source: readyNotify})
	assert.Equal(t, "ready", readinessText(m, readyConfig, ""))
	assert.Empty(t, effectsOf(effs, effStartReply), "no start task to answer")
}

func TestOneshotSuccess(t *testing.T) {
	m, effs := next(machine{state: stateStopped}, oneshotConfig, event{kind: evStart})
	assert.Len(t, effectsOf(effs, effLaunch), 1)
	m, _ = next(m, oneshotConfig, event{kind: evLaunched, okay: true})
	m, effs = next(m, oneshotConfig, event{kind: evOkay})
	assert.Equal(t, stateStarting, m.state, "no okay delay")
	assert.Empty(t, effs)
	m, effs = next(m, oneshotConfig, event{kind: evExit, exit: reaper.ExitResult{Code: 0}})
	assert.Equal(t, stateStopped, m.state)
	assert.True(t, m.succeeded)
	replies := effectsOf(effs, effStartReply)
	if assert.Len(t, replies, 1) {
		assert.NoError(t, replies[0].err)
	}
	assert.Empty(t, effectsOf(effs, effArm)[1:], "only the sweep of its tree, no backoff")

	// Autostart and replan leave it alone; a start runs it again.
	kept, effs := next(m, oneshotConfig, event{kind: evStart, keepDone: true})
	assert.Equal(t, stateStopped, kept.state)
	assert.Empty(t, effectsOf(effs, effLaunch))
	assert.Contains(t, effectsOf(effs, effStartReply)[0].text, "already succeeded")
	m.residue = false
	_, effs = next(m, oneshotConfig, event{kind: evStart})
	assert.Len(t, effectsOf(effs, effLaunch), 1)
}

func TestOneshotFailure(t *testing.T) {
	m, effs := next(machine{state: stateStarting}, oneshotConfig, event{kind: evExit, exit: reaper.ExitResult{Code: 3}})
	assert.Equal(t, stateExited, m.state, "current is error")
	assert.False(t, m.succeeded)
	replies := effectsOf(effs, effStartReply)
	if assert.Len(t, replies, 1) {
		assert.EqualError(t, replies[0].err, `cannot start service "s": exited with code 3`)
		assert.True(t, replies[0].quick, "the task log gets the output tail")
	}
	// keepDone does not keep a failed one-shot.
	m.residue = false
	_, effs = next(m, oneshotConfig, event{kind: evStart, keepDone: true})
	assert.Len(t, effectsOf(effs, effLaunch), 1)

	// A code of success-exit-codes is a success.
	c := oneshotConfig
	c.budget.successCodes = []int{3}
	m, effs = next(machine{state: stateStarting}, c, event{kind: evExit, exit: reaper.ExitResult{Code: 3}})
	assert.Equal(t, stateStopped, m.state)
	assert.True(t, m.succeeded)
	assert.NoError(t, effectsOf(effs, effStartReply)[0].err)

	// A shutdown action still applies.
	c = oneshotConfig
	c.onFailure = plan.ActionShutdown
	m, effs = next(machine{state: stateStarting}, c, event{kind: evExit, exit: reaper.ExitResult{Code: 3}})
	assert.Equal(t, stateExited, m.state)
	if sd := effectsOf(effs, effShutdown); assert.Len(t, sd, 1) {
		assert.Equal(t, exitFailure, sd[0].code)
	}

	// An on-success shutdown after a code of success-exit-codes is a
	// success shutdown, as for any service.
	c = oneshotConfig
	c.budget.successCodes = []int{3}
	c.onSuccess = plan.ActionShutdown
	_, effs = next(machine{state: stateStarting}, c, event{kind: evExit, exit: reaper.ExitResult{Code: 3}})
	if sd := effectsOf(effs, effShutdown); assert.Len(t, sd, 1) {
		assert.Equal(t, exitSuccess, sd[0].code)
	}
}

func TestOneshotTimeoutAndStop(t *testing.T) {
	m, effs := next(machine{state: stateStarting}, oneshotConfig, event{kind: evStartTimeout})
	assert.Equal(t, stateTerminating, m.state)
	assert.EqualError(t, effectsOf(effs, effStartReply)[0].err, `cannot start service "s": did not exit within 1m0s`)
	_, effs = next(machine{state: stateStarting}, oneshotConfig, event{kind: evStop})
	assert.EqualError(t, effectsOf(effs, effStartReply)[0].err, "stopped before it exited")
	// A one-shot without start-timeout waits as long as it runs.
	c := oneshotConfig
	c.startTimeout = 0
	assert.Empty(t, startTimers(c))
}

func TestParseNotify(t *testing.T) {
	n := parseNotify([]byte("STATUS=warming up\nREADY=1\nMAINPID=7\n"))
	assert.True(t, n.ready)
	if assert.NotNil(t, n.status) {
		assert.Equal(t, "warming up", *n.status)
	}
	n = parseNotify([]byte("RELOADING=1"))
	assert.True(t, n.reloading)
	assert.False(t, n.ready)
	assert.Nil(t, n.status)
	n = parseNotify([]byte("STOPPING=1\nREADY=0"))
	assert.True(t, n.stopping)
	assert.False(t, n.ready)
	long := make([]byte, 1000)
	for i := range long {
		long[i] = 'x'
	}
	assert.Len(t, *parseNotify(append([]byte("STATUS="), long...)).status, maxStatusText)
}
