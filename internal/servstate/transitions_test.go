package servstate

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/reaper"
)

var testConfig = config{
	name: "s", onSuccess: plan.ActionRestart, onFailure: plan.ActionRestart,
	backoffDelay: 500 * time.Millisecond, backoffFactor: 2, backoffLimit: 30 * time.Second,
	killDelay: 5 * time.Second, okayDelay: time.Second, failDelay: 5 * time.Second,
}

// TestEveryCell runs every event in every state, with and without the last
// run's processes left and a launch waiting for them, for a plain service,
// one with readiness and a one-shot (lifecycleConfigs): no panic, a legal
// state, only deadlines valid in the new machine, and a launch only where no
// process of an earlier run can be left.
func TestEveryCell(t *testing.T) {
	for _, lc := range lifecycleConfigs {
		for _, succeeded := range []bool{false, true} {
			testEveryCell(t, lc, succeeded)
		}
	}
}

func testEveryCell(t *testing.T, lc namedConfig, succeeded bool) {
	actions := []plan.ServiceAction{plan.ActionRestart, plan.ActionShutdown, plan.ActionSuccessShutdown, plan.ActionIgnore}
	for st := range numStates {
		for ev := range numEvents {
			for _, action := range actions {
				for _, checkRestart := range []bool{false, true} {
					for _, pending := range []launchKind{launchNone, launchManual, launchAuto} {
						for _, residue := range []bool{false, true} {
							if pending != launchNone && (!residue || pending == launchManual && st != stateStarting || pending == launchAuto && st != stateBackoff) {
								continue // not reachable: a start waits in starting, a restart in backoff
							}
							m := machine{state: st, backoffNum: 2, backoffTime: time.Second, checkRestart: checkRestart, residue: residue, pending: pending,
								succeeded: succeeded, ready: readyState{check: succeeded, done: succeeded && checkRestart}, restartTimes: []time.Time{{}}}
							e := event{kind: ev, action: action, err: errors.New("boom"), exit: reaper.ExitResult{Code: 1}, okay: action == plan.ActionRestart,
								keepDone: succeeded, source: readySource(len(action) % 2)}
							if checkRestart {
								e.exit.Code = 0
							}
							name := fmt.Sprintf("%s/%s/%s/%s/%v/%d/%v/%v", lc.name, st, ev, action, checkRestart, pending, residue, succeeded)
							var got machine
							var effs []effect
							require.NotPanics(t, func() { got, effs = next(m, lc.c, e) }, name)
							assert.True(t, got.state >= 0 && got.state < numStates, name)
							assert.False(t, got.pending != launchNone && !got.residue, "%s: a launch waits for nothing", name)
							for _, eff := range effs {
								if eff.kind == effArm {
									assert.True(t, validTimer(got, eff.timer), "%s: arms %d in %+v", name, eff.timer, got)
								}
								if eff.kind == effLaunch {
									assert.False(t, residue && ev != evTreeEmpty, "%s: launches beside the last run's processes", name)
									if pending == launchNone {
										assert.Contains(t, []state{stateInitial, stateStopped, stateBackoff, stateExited, stateFailed}, st, name)
									}
								}
							}
						}
					}
				}
			}
		}
	}
}

type step struct {
	ev    event
	state state
	logs  []string // substrings expected in the log effects, in order
}

func runSteps(t *testing.T, c config, m machine, steps []step) machine {
	t.Helper()
	for i, s := range steps {
		var effs []effect
		m, effs = next(m, c, s.ev)
		require.Equal(t, s.state, m.state, "step %d (%s)", i, s.ev.kind)
		var logs []string
		for _, e := range effs {
			if e.kind == effLog {
				logs = append(logs, e.text)
			}
		}
		require.Len(t, logs, len(s.logs), "step %d logs %q", i, logs)
		for j, want := range s.logs {
			assert.True(t, strings.Contains(logs[j], want), "step %d: %q does not contain %q", i, logs[j], want)
		}
	}
	return m
}

func exitEv(code int) event { return event{kind: evExit, exit: reaper.ExitResult{Code: code}} }

func TestSequenceExitInOkayDelayThenBackoff(t *testing.T) {
	m := runSteps(t, testConfig, machine{}, []step{
		{event{kind: evStart}, stateInitial, nil},
		{event{kind: evLaunched, okay: true}, stateStarting, nil},
		{exitEv(1), stateBackoff, []string{"stopped unexpectedly with code 1", `waiting ~500ms before restart (backoff 1)`}},
		{event{kind: evTreeEmpty}, stateBackoff, nil},
		{event{kind: evBackoffDone}, stateBackoff, nil},
		{event{kind: evLaunched}, stateRunning, nil},
		{exitEv(1), stateBackoff, []string{"code 1", "~1s before restart (backoff 2)"}},
		{event{kind: evTreeEmpty}, stateBackoff, nil},
		{event{kind: evLaunched}, stateRunning, nil},
		{event{kind: evBackoffReset}, stateRunning, nil},
		{exitEv(0), stateBackoff, []string{"code 0", `on-success action is "restart", waiting ~500ms before restart (backoff 1)`}},
		{event{kind: evStop}, stateStopped, []string{"stopped while waiting for backoff"}},
		{event{kind: evBackoffDone}, stateStopped, nil},
	})
	assert.Equal(t, 1, m.backoffNum)
}

func TestSequenceStopEscalation(t *testing.T) {
	runSteps(t, testConfig, machine{state: stateRunning}, []step{
		{event{kind: evStop}, stateTerminating, nil},
		{event{kind: evOkay}, stateTerminating, nil},
		{event{kind: evStart}, stateTerminating, nil},
		{event{kind: evKillDelay}, stateKilling, nil},
		{event{kind: evFailDelay}, stateStopped, []string{"still running after SIGTERM and SIGKILL"}},
		{exitEv(137), stateStopped, nil},
	})
	_, effs := next(machine{state: stateKilling}, testConfig, event{kind: evFailDelay})
	assert.Contains(t, effs, effect{kind: effStopReply, err: errStopFailed})
}

func TestSequenceStartReplies(t *testing.T) {
	_, effs := next(machine{state: stateStarting}, testConfig, exitEv(3))
	var reply effect
	for _, e := range effs {
		if e.kind == effStartReply {
			reply = e
		}
	}
	assert.EqualError(t, reply.err, "service start attempt: exited quickly with code 3, will restart")
	assert.True(t, reply.quick)

	_, effs = next(machine{state: stateStarting}, testConfig, event{kind: evStop})
	assert.Equal(t, effStartReply, effs[0].kind)
	assert.EqualError(t, effs[0].err, "stopped before the 1s okay delay")

	_, effs = next(machine{state: stateKilling}, testConfig, event{kind: evStart})
	assert.EqualError(t, effs[0].err, "cannot start service while killing")

	m, effs := next(machine{}, testConfig, event{kind: evLaunchFailed, okay: true, err: errors.New(`exec: "x": not found`)})
	assert.Equal(t, stateStopped, m.state)
	assert.EqualError(t, effs[0].err, `cannot start service: exec: "x": not found`)
}

func TestSequenceCheckFailure(t *testing.T) {
	c := testConfig
	runSteps(t, c, machine{state: stateRunning}, []step{
		{event{kind: evCheckFailed, action: plan.ActionRestart}, stateTerminating, []string{`on-check-failure action is "restart", terminating process before restarting`}},
		{exitEv(143), stateTerminating, nil},
		{event{kind: evTreeEmpty}, stateBackoff, []string{"exited after check failure, restarting", `on-check-failure action is "restart", waiting ~500ms`}},
		{event{kind: evCheckFailed, action: plan.ActionRestart}, stateBackoff, []string{"waiting for current backoff"}},
		{event{kind: evCheckFailed, action: plan.ActionShutdown}, stateBackoff, []string{"triggering failure shutdown"}},
	})
	// Ignored while starting.
	m, effs := next(machine{state: stateStarting}, c, event{kind: evCheckFailed, action: plan.ActionRestart})
	assert.Equal(t, stateStarting, m.state)
	assert.Empty(t, effs)
	// Exited → backoff now.
	m, _ = next(machine{state: stateExited}, c, event{kind: evCheckFailed, action: plan.ActionRestart})
	assert.Equal(t, stateBackoff, m.state)
	// A stop during a check-failure restart wins.
	m, _ = next(machine{state: stateTerminating, checkRestart: true}, c, event{kind: evStop})
	m, _ = next(m, c, exitEv(143))
	m, _ = next(m, c, event{kind: evTreeEmpty})
	assert.Equal(t, stateStopped, m.state)
}

func TestStatusMapping(t *testing.T) {
	want := map[state]string{
		stateInitial: "error", stateStarting: "active", stateRunning: "active",
		stateTerminating: "inactive", stateKilling: "inactive", stateStopped: "inactive",
		stateBackoff: "backoff", stateExited: "error", stateFailed: "error",
	}
	for st, status := range want {
		assert.Equal(t, status, st.status(), st.String())
	}
}

// TestSequenceResidue: after the main process exits, a restart or a start
// waits for the rest of the tree, hurrying its SIGKILL, and fails if it
// outlives the fail delay.
func TestSequenceResidue(t *testing.T) {
	has := func(effs []effect, kind effectKind) bool {
		for _, e := range effs {
			if e.kind == kind {
				return true
			}
		}
		return false
	}
	c := testConfig
	c.onFailure = plan.ActionIgnore
	m, effs := next(machine{state: stateRunning}, c, exitEv(1))
	assert.Equal(t, stateExited, m.state)
	assert.True(t, m.residue)
	assert.Contains(t, effs, effect{kind: effSweep, term: true})
	assert.Contains(t, effs, effect{kind: effArm, timer: timerResidueKill, d: sweepGrace})

	// A start waits in starting; the residue gets SIGKILL at once.
	m, effs = next(m, c, event{kind: evStart})
	assert.Equal(t, stateStarting, m.state)
	assert.Equal(t, launchManual, m.pending)
	assert.False(t, has(effs, effLaunch))
	assert.Contains(t, effs, effect{kind: effArm, timer: timerResidueKill})
	m, effs = next(m, c, event{kind: evResidueKill})
	assert.True(t, has(effs, effKill))
	m2, effs := next(m, c, event{kind: evTreeEmpty})
	assert.Contains(t, effs, effect{kind: effLaunch, okay: true})
	assert.Contains(t, effs, effect{kind: effRetire})
	assert.False(t, m2.residue)
	assert.Equal(t, launchNone, m2.pending)

	// Or the residue outlives SIGKILL: the start fails.
	m, effs = next(m, c, event{kind: evResidueFail})
	assert.Equal(t, stateStopped, m.state)
	assert.Contains(t, effs, effect{kind: effStartReply, err: fmt.Errorf("cannot start service: %w", errResidue)})
	assert.True(t, m.residue, "never a new run beside it")

	// A restart after backoff waits too, in backoff.
	c.onFailure = plan.ActionRestart
	m, _ = next(machine{state: stateRunning}, c, exitEv(1))
	m, effs = next(m, c, event{kind: evBackoffDone})
	assert.Equal(t, stateBackoff, m.state)
	assert.Equal(t, launchAuto, m.pending)
	assert.False(t, has(effs, effLaunch))
	_, effs = next(m, c, event{kind: evTreeEmpty})
	assert.Contains(t, effs, effect{kind: effLaunch})

	// A stop ends when the whole tree is gone.
	m, _ = next(machine{state: stateRunning}, c, event{kind: evStop})
	m, effs = next(m, c, exitEv(143))
	assert.Equal(t, stateTerminating, m.state)
	assert.False(t, has(effs, effStopReply))
	assert.Contains(t, effs, effect{kind: effArm, timer: timerKill, d: sweepGrace, sooner: true})
	m, effs = next(m, c, event{kind: evTreeEmpty})
	assert.Equal(t, stateStopped, m.state)
	assert.True(t, has(effs, effStopReply))
}
