package servstate

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/reaper"
	"github.com/pebble-project/pebble/internal/testutil"
)

func TestEvents(t *testing.T) {
	code1 := reaper.ExitResult{Code: 1}
	term := reaper.ExitResult{Signal: syscall.SIGTERM}
	tests := []struct {
		name      string
		prev, cur state
		ev        event
		want      []Event
	}{
		{"launch", stateStopped, stateStarting, event{kind: evLaunched}, []Event{{"svc", "starting", nil, ""}}},
		{"okay", stateStarting, stateRunning, event{kind: evOkay}, []Event{{"svc", "started", nil, ""}}},
		{"no change", stateRunning, stateRunning, event{kind: evBackoffReset}, nil},
		{"crash into backoff", stateRunning, stateBackoff, event{kind: evExit, exit: code1},
			[]Event{{"svc", "exited", &code1, ""}, {"svc", "backoff", &code1, ""}}},
		{"crash, ignored", stateRunning, stateExited, event{kind: evExit, exit: code1},
			[]Event{{"svc", "exited", &code1, ""}}},
		{"exit while stopping", stateTerminating, stateTerminating, event{kind: evExit, exit: term},
			[]Event{{"svc", "exited", &term, ""}}},
		{"exit of a given-up run", stateStopped, stateStopped, event{kind: evExit, exit: term}, nil},
		{"stop", stateRunning, stateTerminating, event{kind: evStop}, []Event{{"svc", "stopping", nil, ""}}},
		{"stopped", stateTerminating, stateStopped, event{kind: evTreeEmpty}, []Event{{"svc", "stopped", nil, ""}}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, events("svc", machine{state: tt.prev}, machine{state: tt.cur}, tt.ev), tt.name)
	}
	// Readiness met: on entering running, and in a run already running.
	ready := machine{state: stateRunning, ready: readyState{check: true, done: true}}
	assert.Equal(t, []Event{{"svc", "ready", nil, ""}}, events("svc", machine{state: stateStarting}, ready, event{kind: evReady}))
	assert.Equal(t, []Event{{"svc", "ready", nil, ""}}, events("svc", machine{state: stateRunning}, ready, event{kind: evReady}))
	assert.Nil(t, events("svc", ready, ready, event{kind: evReady}))
}

// TestEveryTransitionHasEvent: whatever state the machine enters, from any
// state and event, the transition produces an event named after it, so a
// state added to the machine is reported without further work.
func TestEveryTransitionHasEvent(t *testing.T) {
	c := configFor(&plan.Service{Name: "svc"}, time.Second, time.Second)
	for s := range numStates {
		for k := range numEvents {
			for _, residue := range []bool{false, true} {
				m := machine{state: s, residue: residue}
				ev := event{kind: k, action: plan.ActionRestart, exit: reaper.ExitResult{Code: 3}}
				got, _ := next(m, c, ev)
				evs := events("svc", m, got, ev)
				if got.state != s {
					require.NotEmpty(t, evs, "%s + %s", s, k)
					last := evs[len(evs)-1]
					want := entered(got.state)
					if got.ready.done {
						want = EventReady
					}
					assert.Equal(t, want, last.Kind, "%s + %s", s, k)
					assert.NotEmpty(t, last.Kind)
				}
				if k == evExit && liveRun(s) {
					require.NotEmpty(t, evs, "%s + exit", s)
					assert.Equal(t, EventExited, evs[0].Kind)
					for _, e := range evs {
						assert.Equal(t, 3, e.Exit.Code, "%s + exit: %s", s, e.Kind)
					}
				}
			}
		}
	}
}

// eventLog records what Options.OnEvent receives.
type eventLog struct {
	mu  sync.Mutex
	evs []Event
}

func (l *eventLog) add(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evs = append(l.evs, e)
}

// kinds returns the kinds recorded for service, with the exit status of
// those that have one, such as "exited(exit status 1)".
func (l *eventLog) kinds(service string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.evs {
		if e.Service != service {
			continue
		}
		k := e.Kind
		if e.Exit != nil {
			k += "(" + e.Exit.String() + ")"
		}
		out = append(out, k)
	}
	return out
}

// TestEventsOfRealProcesses: the start, stop and crash of real processes
// reach OnEvent in order, each with its exit status.
func TestEventsOfRealProcesses(t *testing.T) {
	svc, _ := helperService(t, "svc", "sleep")
	flaky := sh("flaky", "sleep 0.3; exit 3")
	flaky.BackoffDelay = plan.OptionalDuration{Value: time.Hour, IsSet: true}
	log := &eventLog{}
	f := newFixture(t, newPlan(svc, flaky), func(o *Options) { o.OnEvent = log.add })
	ctx := context.Background()

	require.NoError(t, f.m.Start(ctx, "svc", nil))
	require.NoError(t, f.m.Stop(ctx, "svc", nil))
	assert.Equal(t, []string{"starting", "started", "stopping", "exited(signal: terminated)", "stopped"}, log.kinds("svc"))

	require.NoError(t, f.m.Start(ctx, "flaky", nil))
	f.waitCurrent(t, "flaky", StatusBackoff)
	testutil.WaitFor(t, 10*time.Second, func() error {
		if n := len(log.kinds("flaky")); n < 4 {
			return fmt.Errorf("%d events", n)
		}
		return nil
	})
	assert.Equal(t, []string{"starting", "started", "exited(exit status 3)", "backoff(exit status 3)"}, log.kinds("flaky"))
	require.NoError(t, f.m.Stop(ctx, "flaky", nil))
	assert.Equal(t, "stopped", log.kinds("flaky")[4])
}
