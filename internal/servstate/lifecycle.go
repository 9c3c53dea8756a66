package servstate

import (
	"fmt"
	"time"

	"github.com/pebble-project/pebble/internal/plan"
)

// This file holds the pure part of readiness and one-shot services
// (docs/readiness.md, docs/oneshot.md): when a start is done, what a
// start-timeout does, and how a one-shot's exit ends its start. next calls
// these helpers; without readiness and type oneshot none of them changes
// Pebble's behaviour.

// readySource names a readiness condition.
type readySource int

const (
	readyCheck  readySource = iota // the readiness check succeeded
	readyNotify                    // READY=1 arrived on the notify socket
)

// readyState is the readiness of one run.
type readyState struct {
	check    bool // the readiness check succeeded since the launch
	notify   bool // READY=1 arrived since the launch
	done     bool // every condition of the config was met
	timedOut bool // start-timeout elapsed first
}

// lifecycle is what the state machine needs of the lifecycle fields.
type lifecycle struct {
	oneshot      bool
	needCheck    bool
	needNotify   bool
	startTimeout time.Duration // 0: no limit
}

func lifecycleFor(svc *plan.Service) lifecycle {
	r := svc.Readiness
	return lifecycle{
		oneshot:      svc.IsOneshot(),
		needCheck:    r.IsSet() && r.Check != "",
		needNotify:   r.IsSet() && r.Notify,
		startTimeout: svc.EffectiveStartTimeout(),
	}
}

// gated reports whether a start is done by something other than the okay
// delay: readiness, or a one-shot's exit.
func (l lifecycle) gated() bool {
	return l.oneshot || l.needCheck || l.needNotify
}

// startTimers are the deadlines of a manual start: the okay delay, or the
// start-timeout when something else ends the start.
func startTimers(c config) []effect {
	if !c.gated() {
		return []effect{{kind: effArm, timer: timerOkay, d: c.okayDelay}}
	}
	if c.startTimeout > 0 {
		return []effect{{kind: effArm, timer: timerStart, d: c.startTimeout}}
	}
	return nil
}

// becomeReady records a readiness condition of the current run; once all
// are met, a starting service is running and its start is done.
func becomeReady(m machine, c config, src readySource, effs []effect) (machine, []effect) {
	if c.oneshot || m.ready.done {
		return m, effs
	}
	switch m.state {
	case stateStarting, stateRunning:
	default:
		return m, effs
	}
	switch src {
	case readyCheck:
		m.ready.check = true
	case readyNotify:
		m.ready.notify = true
	}
	if (c.needCheck && !m.ready.check) || (c.needNotify && !m.ready.notify) {
		return m, effs
	}
	m.ready.done = true
	effs = append(effs, effect{kind: effLog, text: fmt.Sprintf("Service %q is ready", c.name)})
	if m.state == stateStarting {
		m.state = stateRunning
		effs = append(effs, effect{kind: effStartReply})
	}
	return m, effs
}

// startTimedOut fails a start that outlived its start-timeout; the caller
// then stops the service.
func startTimedOut(m machine, c config, effs []effect) (machine, []effect) {
	what := "not ready"
	if c.oneshot {
		what = "did not exit"
	}
	m.ready.timedOut = true
	effs = append(effs,
		effect{kind: effLog, text: fmt.Sprintf("Service %q %s within %s, stopping it", c.name, what, c.startTimeout)},
		effect{kind: effStartReply, err: fmt.Errorf("cannot start service %q: %s within %s", c.name, what, c.startTimeout)})
	return m, effs
}

// stoppedWhileStarting is the start's error when a stop comes first.
func stoppedWhileStarting(c config) error {
	switch {
	case c.oneshot:
		return fmt.Errorf("stopped before it exited")
	case c.gated():
		return fmt.Errorf("stopped before it was ready")
	}
	return fmt.Errorf("stopped before the %s okay delay", c.okayDelay)
}

// oneshotExit handles the exit of a one-shot's process: exit 0 (or a code
// of success-exit-codes) ends its start successfully, any other code fails
// it with the output tail. It is
// never restarted; a shutdown action applies as for any service.
func oneshotExit(m machine, c config, code int, effs []effect) (machine, []effect) {
	wasStarting := m.state == stateStarting
	effs = append(effs, effect{kind: effLog, text: fmt.Sprintf("Service %q exited with code %d", c.name, code)})
	m.succeeded = c.budget.successExit(code)
	m.state = stateExited
	if m.succeeded {
		m.state = stateStopped
	}
	action, label := exitAction(c, code)
	if _, ok := shutdownCode(action, code); ok {
		m.state = stateExited
		effs = append(effs, shutdownEffects(c.name, label, action, c.budget.outcomeCode(code))...)
	}
	if wasStarting {
		r := effect{kind: effStartReply}
		if !m.succeeded {
			r.quick = true
			r.err = fmt.Errorf("cannot start service %q: exited with code %d", c.name, code)
		}
		effs = append(effs, r)
	}
	m.residue = true
	effs = append(effs,
		effect{kind: effSweep, term: true},
		effect{kind: effArm, timer: timerResidueKill, d: sweepGrace})
	return m, effs
}

// readinessText is the readiness the API shows, "" for a service without
// readiness. phase is the last RELOADING=1 or STOPPING=1 of the run ("" if
// none since READY=1).
func readinessText(m machine, c config, phase string) string {
	switch {
	case !c.needCheck && !c.needNotify:
		return ""
	case m.ready.timedOut:
		return "timed-out"
	case phase != "":
		return phase
	case m.ready.done:
		return "ready"
	}
	return "waiting"
}
