package servstate

import (
	"errors"
	"fmt"
	"time"

	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/reaper"
)

// state is a service's internal state (behaviour.md §2).
type state int

const (
	stateInitial state = iota
	stateStarting
	stateRunning
	stateTerminating
	stateKilling
	stateStopped
	stateBackoff
	stateExited
	stateFailed // over its restart budget: stays down until started again
	numStates
)

var stateNames = [numStates]string{"initial", "starting", "running", "terminating", "killing", "stopped", "backoff", "exited", "failed"}

func (s state) String() string { return stateNames[s] }

// Status values of the API's "current" field.
const (
	StatusActive   = "active"
	StatusInactive = "inactive"
	StatusBackoff  = "backoff"
	StatusError    = "error"
)

// status maps the internal state to the API's status.
func (s state) status() string {
	switch s {
	case stateStarting, stateRunning:
		return StatusActive
	case stateTerminating, stateKilling, stateStopped:
		return StatusInactive
	case stateBackoff:
		return StatusBackoff
	}
	return StatusError // initial, exited, failed
}

// timerKind names one of a service's deadlines. A service has one timer,
// armed for the earliest deadline; which deadlines may exist depends only on
// the machine (validTimer), so a deadline armed in one run cannot fire in a
// later one.
type timerKind int

const (
	timerOkay        timerKind = iota // okay delay: starting → running
	timerReset                        // backoff reset: counters to 0 if still running
	timerKill                         // kill-delay: terminating → killing
	timerFail                         // fail delay: killing → stopped with an error
	timerBackoff                      // backoff: relaunch
	timerResidueKill                  // SIGKILL to what the last run left
	timerResidueFail                  // give up waiting for the last run's processes
	timerStart                        // start-timeout: not ready (or, a one-shot, not exited) in time
	numTimers
)

// validTimer reports whether a deadline of kind k may be armed in m. The
// residue deadlines exist while the last run's processes are swept outside
// a stop (a stop has its own kill and fail deadlines).
func validTimer(m machine, k timerKind) bool {
	if k == timerResidueKill || k == timerResidueFail {
		return m.residue && m.state != stateTerminating && m.state != stateKilling
	}
	switch m.state {
	case stateStarting:
		return k == timerOkay || k == timerReset || k == timerStart
	case stateRunning:
		return k == timerReset
	case stateTerminating:
		return k == timerKill
	case stateKilling:
		return k == timerFail
	case stateBackoff:
		return k == timerBackoff
	}
	return false
}

type eventKind int

const (
	evStart        eventKind = iota // manual start request
	evLaunched                      // the launch effect succeeded
	evLaunchFailed                  // the launch effect failed
	evOkay                          // okay delay elapsed
	evExit                          // the current run's process exited
	evStop                          // manual stop request
	evAbortStart                    // the start change was aborted
	evKillDelay                     // kill-delay elapsed
	evFailDelay                     // fail delay elapsed after SIGKILL
	evBackoffDone                   // backoff delay elapsed
	evBackoffReset                  // backoff-limit elapsed since launch
	evCheckFailed                   // a check in on-check-failure hit its threshold
	evTreeEmpty                     // no process of the last run is left
	evResidueKill                   // the grace of the last run's processes elapsed
	evResidueFail                   // the last run's processes outlived SIGKILL
	evReady                         // a readiness condition was met (readiness.go)
	evStartTimeout                  // start-timeout elapsed
	numEvents
)

var eventNames = [numEvents]string{"start", "launched", "launch-failed", "okay", "exit", "stop", "abort-start", "kill-delay", "fail-delay", "backoff-done", "backoff-reset", "check-failed", "tree-empty", "residue-kill", "residue-fail", "ready", "start-timeout"}

func (k eventKind) String() string { return eventNames[k] }

// timerEvents maps each deadline to the event it produces.
var timerEvents = [numTimers]eventKind{evOkay, evBackoffReset, evKillDelay, evFailDelay, evBackoffDone, evResidueKill, evResidueFail, evStartTimeout}

type event struct {
	kind   eventKind
	at     time.Time          // when it happened (set by the service's goroutine)
	okay   bool               // evLaunched, evLaunchFailed: a manual start (with okay delay)
	err    error              // evLaunchFailed
	exit   reaper.ExitResult  // evExit
	action plan.ServiceAction // evCheckFailed
	source readySource        // evReady
	// keepDone (evStart, from autostart and replan) leaves a one-shot that
	// succeeded alone.
	keepDone bool
}

type effectKind int

const (
	effLaunch     effectKind = iota // start a process; feeds evLaunched/evLaunchFailed back
	effTerminate                    // the stop signal to the process tree
	effKill                         // SIGKILL to the process tree
	effSweep                        // the main process is gone: watch the rest of the tree, send it the stop signal if term
	effRetire                       // the tree is empty: remove the run's cgroup
	effArm                          // arm a deadline (if sooner, only to bring it forward)
	effLog                          // daemon log line
	effStartReply                   // answer a start request
	effStartWait                    // keep the current start request until later
	effStopReply                    // answer a stop request
	effStopWait                     // keep the current stop request until later
	effShutdown                     // ask the daemon to shut down
)

// effect is one thing the owning goroutine must do after a transition.
type effect struct {
	kind   effectKind
	okay   bool          // effLaunch: manual start
	term   bool          // effSweep: SIGTERM the rest of the tree
	timer  timerKind     // effArm
	sooner bool          // effArm: keep an earlier deadline
	d      time.Duration // effArm
	text   string        // effLog; reply note for the task log
	err    error         // replies
	now    bool          // replies: to the request being handled, not the kept one
	quick  bool          // effStartReply: the process exited within the okay delay
	code   int           // effShutdown
}

// machine is the pure part of a service's state.
type machine struct {
	state        state
	backoffNum   int
	backoffTime  time.Duration
	checkRestart bool // terminating because of an on-check-failure restart
	// residue is set from the exit of a run's main process until its
	// tree (cgroup, or process group and descendants) is empty: a new run
	// is never launched meanwhile, so two generations never overlap.
	residue bool
	// pending is a launch waiting for the residue to go.
	pending launchKind
	// restarts counts the automatic restarts since the last start;
	// restartTimes are those the restart budget still counts (budget.go).
	restarts     int
	restartTimes []time.Time
	// reason says why the service is exited or failed; "" otherwise.
	reason string
	// ready is the readiness of the current run (readiness.go).
	ready readyState
	// succeeded is set when a one-shot's last run exited 0.
	succeeded bool
}

// launchKind is a launch that waits for the last run's processes to go.
type launchKind int

const (
	launchNone   launchKind = iota
	launchManual            // a start request (with the okay delay)
	launchAuto              // a restart after backoff
)

// errResidue is why a launch that waited for the last run's processes
// failed.
var errResidue = errors.New("processes of its last run still running after SIGTERM and SIGKILL")

// errStopFailed is the stop task's error when SIGKILL did not end the
// process in time.
var errStopFailed = errors.New("cannot stop service: process still running after SIGTERM and SIGKILL")

// next is the transition function: given a state and an event, it returns
// the new state and the effects to run, in order. It does no I/O and reads
// no clock; jitter is added when a backoff deadline is armed.
func next(m machine, c config, ev event) (machine, []effect) {
	var effs []effect
	logf := func(format string, args ...any) {
		effs = append(effs, effect{kind: effLog, text: fmt.Sprintf(format, args...)})
	}
	arm := func(k timerKind, d time.Duration) {
		effs = append(effs, effect{kind: effArm, timer: k, d: d})
	}
	backoff := func(label string) {
		m.backoffNum++
		m.backoffTime = nextBackoff(c, m.backoffTime)
		m.state = stateBackoff
		logf("Service %q %s action is \"restart\", waiting ~%s before restart (backoff %d)", c.name, label, m.backoffTime, m.backoffNum)
		arm(timerBackoff, m.backoffTime)
	}
	shutdown := func(label string, action plan.ServiceAction, code int) {
		effs = append(effs, shutdownEffects(c.name, label, action, code)...)
	}
	// restart restarts after backoff, or fails the service when the
	// restart budget is spent and applies on-restart-limit.
	restart := func(label string) {
		var ok bool
		if m.restartTimes, ok = c.budget.allowRestart(m.restartTimes, ev.at); ok {
			m.restarts++
			backoff(label)
			return
		}
		m.state = stateFailed
		m.reason = c.budget.limitReason()
		logf("Service %q %s, not restarting", c.name, m.reason)
		if _, ok := shutdownCode(c.budget.onLimit, 1); ok {
			shutdown("on-restart-limit", c.budget.onLimit, 1)
		}
	}
	terminate := func() {
		effs = append(effs, effect{kind: effTerminate})
		m.state = stateTerminating
		arm(timerKill, c.killDelay)
	}
	// hurry ends the grace of the last run's processes now.
	hurry := func() {
		if m.residue {
			arm(timerResidueKill, 0)
		}
	}
	// launch starts a run, or, while the last run's processes remain,
	// hurries them and keeps the launch for when they are gone.
	launch := func(kind launchKind) {
		if m.residue {
			m.pending = kind
			hurry()
			return
		}
		effs = append(effs, effect{kind: effLaunch, okay: kind == launchManual})
	}
	// stopped ends a stop once the whole tree is gone.
	stopped := func() {
		if m.checkRestart {
			m.checkRestart = false
			logf("Service %q exited after check failure, restarting", c.name)
			restart("on-check-failure")
		} else {
			logf("Service %q stopped", c.name)
			m.state = stateStopped
		}
		effs = append(effs, effect{kind: effStopReply})
	}

	switch ev.kind {
	case evStart:
		switch m.state {
		case stateStarting, stateRunning:
			effs = append(effs, effect{kind: effStartReply, now: true, text: fmt.Sprintf("Service %q already started.", c.name)})
		case stateTerminating, stateKilling:
			effs = append(effs, effect{kind: effStartReply, now: true, err: fmt.Errorf("cannot start service while %s", m.state)})
		default: // initial, stopped, backoff, exited
			if ev.keepDone && m.succeeded && m.state == stateStopped {
				effs = append(effs, effect{kind: effStartReply, now: true, text: fmt.Sprintf("Service %q already succeeded, not running it again.", c.name)})
				break
			}
			m.backoffNum, m.backoffTime, m.checkRestart = 0, 0, false
			m.restarts, m.restartTimes, m.reason = 0, nil, ""
			effs = append(effs, effect{kind: effStartWait})
			if m.residue {
				m.state = stateStarting // launched once the last run is gone
			}
			launch(launchManual)
		}

	case evLaunched:
		m.ready, m.succeeded = readyState{}, false
		if ev.okay {
			m.state = stateStarting
			effs = append(effs, startTimers(c)...)
		} else {
			m.state = stateRunning
		}
		arm(timerReset, c.backoffLimit)

	case evLaunchFailed:
		if ev.okay {
			m.state = stateStopped
			effs = append(effs, effect{kind: effStartReply, err: fmt.Errorf("cannot start service: %w", ev.err)})
		} else {
			// Stays in backoff, with no timer (behaviour.md §5 step 5).
			m.state = stateBackoff
			logf("Cannot restart service %q: %v", c.name, ev.err)
		}

	case evOkay:
		if m.state == stateStarting && !c.gated() { // else readiness or the exit ends the start
			m.state = stateRunning
			effs = append(effs, effect{kind: effStartReply})
		}

	case evExit:
		code := ev.exit.ExitCode()
		current := m.state
		if m.pending != launchNone {
			current = stateStopped // the exit of a given-up run; the start waits for it
		}
		switch {
		case c.oneshot && (current == stateStarting || current == stateRunning):
			m, effs = oneshotExit(m, c, code, effs)
		case current == stateStarting || current == stateRunning:
			wasStarting := m.state == stateStarting
			logf("Service %q stopped unexpectedly with code %d", c.name, code)
			action, label := exitAction(c, code)
			switch action {
			case plan.ActionRestart:
				restart(label)
			case plan.ActionShutdown, plan.ActionSuccessShutdown, plan.ActionFailureShutdown:
				m.state = stateExited
				m.reason = exitReason(code, label, action)
				shutdown(label, action, c.budget.outcomeCode(code))
			default: // ignore
				logf("Service %q %s action is %q, not doing anything further", c.name, label, action)
				m.state = stateExited
				m.reason = exitReason(code, label, action)
				if c.budget.successExit(code) {
					m.state, m.reason = stateStopped, ""
				}
			}
			if wasStarting {
				effs = append(effs, effect{kind: effStartReply, quick: true,
					err: fmt.Errorf("service start attempt: exited quickly with code %d, will %s", code, action)})
			}
			m.residue = true
			effs = append(effs, effect{kind: effSweep, term: true})
			arm(timerResidueKill, sweepGrace)
		case current == stateTerminating || current == stateKilling:
			// The rest of the tree got the signals with the main process
			// and gets a short grace; the stop ends when all are gone.
			m.residue = true
			effs = append(effs, effect{kind: effSweep})
			if m.state == stateTerminating {
				effs = append(effs, effect{kind: effArm, timer: timerKill, d: sweepGrace, sooner: true})
			}
		default: // a run given up by an abort or a failed stop
			m.residue = true
			effs = append(effs, effect{kind: effSweep, term: true})
			arm(timerResidueKill, sweepGrace)
		}

	case evTreeEmpty:
		if !m.residue {
			break
		}
		m.residue = false
		effs = append(effs, effect{kind: effRetire})
		switch m.state {
		case stateTerminating, stateKilling:
			stopped()
		default:
			if kind := m.pending; kind != launchNone {
				m.pending = launchNone
				effs = append(effs, effect{kind: effLaunch, okay: kind == launchManual})
			}
		}

	case evResidueKill:
		if validTimer(m, timerResidueKill) {
			effs = append(effs, effect{kind: effKill})
			arm(timerResidueFail, c.failDelay)
		}

	case evResidueFail:
		if !validTimer(m, timerResidueFail) {
			break
		}
		logf("Processes of service %q still running after SIGTERM and SIGKILL", c.name)
		switch m.pending {
		case launchManual:
			m.state = stateStopped
			effs = append(effs, effect{kind: effStartReply, err: fmt.Errorf("cannot start service: %w", errResidue)})
		case launchAuto:
			logf("Cannot restart service %q: %v", c.name, errResidue)
		}
		m.pending = launchNone

	case evStop:
		switch m.state {
		case stateStarting:
			effs = append(effs, effect{kind: effStartReply, err: stoppedWhileStarting(c)})
			m.pending = launchNone
			fallthrough
		case stateRunning:
			m.checkRestart = false
			terminate()
			effs = append(effs, effect{kind: effStopWait})
		case stateBackoff:
			m.state = stateStopped
			m.pending = launchNone
			logf("Service %q stopped while waiting for backoff", c.name)
			hurry()
			effs = append(effs, effect{kind: effStopReply, now: true})
		case stateTerminating, stateKilling:
			// The stop under way answers this one too, once the service
			// has stopped; it wins over a pending check-failure restart.
			m.checkRestart = false
			effs = append(effs, effect{kind: effStopWait})
		case stateStopped:
			hurry()
			effs = append(effs, effect{kind: effStopReply, now: true, text: fmt.Sprintf("Service %q already stopped.", c.name)})
		case stateExited, stateFailed:
			note := fmt.Sprintf("Service %q had already exited.", c.name)
			if m.state == stateFailed {
				note = fmt.Sprintf("Service %q had already failed: %s.", c.name, m.reason)
			}
			m.state, m.reason = stateStopped, ""
			hurry()
			effs = append(effs, effect{kind: effStopReply, now: true, text: note})
		default: // initial: nothing was launched
			effs = append(effs, effect{kind: effStopReply, now: true, text: fmt.Sprintf("Service %q has never been started.", c.name)})
		}

	case evAbortStart:
		if m.state == stateStarting {
			effs = append(effs, effect{kind: effKill})
			m.state = stateStopped
			m.residue, m.pending = true, launchNone // swept once its main process exits
			effs = append(effs, effect{kind: effStartReply, err: errors.New("start aborted, sent SIGKILL to process")})
		}

	case evKillDelay:
		if m.state == stateTerminating {
			effs = append(effs, effect{kind: effKill})
			m.state = stateKilling
			arm(timerFail, c.failDelay)
		}

	case evFailDelay:
		if m.state == stateKilling {
			logf("Service %q still running after SIGTERM and SIGKILL", c.name)
			m.state = stateStopped
			m.checkRestart = false
			m.residue = true // no new run while it lives
			effs = append(effs, effect{kind: effStopReply, err: errStopFailed})
		}

	case evBackoffDone:
		if m.state == stateBackoff {
			launch(launchAuto)
		}

	case evBackoffReset:
		if m.state == stateRunning {
			m.backoffNum, m.backoffTime = 0, 0
		}

	case evReady:
		m, effs = becomeReady(m, c, ev.source, effs)

	case evStartTimeout:
		if m.state == stateStarting {
			m, effs = startTimedOut(m, c, effs)
			terminate()
		}

	case evCheckFailed:
		const label = "on-check-failure"
		switch m.state {
		case stateRunning, stateBackoff, stateExited:
		default:
			return m, nil // starting, stopping, stopped: ignored (behaviour.md §7.5)
		}
		switch ev.action {
		case plan.ActionRestart:
			switch m.state {
			case stateRunning:
				logf("Service %q %s action is \"restart\", terminating process before restarting", c.name, label)
				terminate()
				m.checkRestart = true
			case stateBackoff:
				logf("Service %q %s action is \"restart\", waiting for current backoff", c.name, label)
			case stateExited:
				restart(label)
			}
		case plan.ActionShutdown, plan.ActionSuccessShutdown:
			shutdown(label, ev.action, -1)
		}
	}
	return m, effs
}
