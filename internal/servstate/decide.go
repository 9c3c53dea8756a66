package servstate

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"time"

	"github.com/pebble-project/pebble/internal/plan"
)

// config is what the state machine needs of a service definition, with the
// run-time defaults of layers.md §7.4 applied.
type config struct {
	name          string
	onSuccess     plan.ServiceAction
	onFailure     plan.ServiceAction
	backoffDelay  time.Duration
	backoffFactor float64
	backoffLimit  time.Duration
	killDelay     time.Duration
	okayDelay     time.Duration
	failDelay     time.Duration
	// stopSignal is what a stop sends first (stop-signal, or SIGTERM).
	stopSignal syscall.Signal
	// budget is the restart budget and the success exit codes (budget.go).
	budget budget
	lifecycle
}

func configFor(svc *plan.Service, okayDelay, failDelay time.Duration) config {
	c := config{
		name:          svc.Name,
		onSuccess:     svc.EffectiveOnSuccess(),
		onFailure:     svc.EffectiveOnFailure(),
		backoffDelay:  svc.EffectiveBackoffDelay(),
		backoffFactor: svc.EffectiveBackoffFactor(),
		backoffLimit:  svc.EffectiveBackoffLimit(),
		killDelay:     svc.EffectiveKillDelay(),
		okayDelay:     okayDelay,
		failDelay:     failDelay,
		stopSignal:    stopSignal(svc),
		budget:        budgetFor(svc),
		lifecycle:     lifecycleFor(svc),
	}
	if c.oneshot {
		// A one-shot is never restarted (docs/oneshot.md).
		c.onSuccess = actionOr(svc.OnSuccess, plan.ActionIgnore)
		c.onFailure = actionOr(svc.OnFailure, plan.ActionIgnore)
	}
	return c
}

func actionOr(a, def plan.ServiceAction) plan.ServiceAction {
	if a == plan.ActionUnset {
		return def
	}
	return a
}

// nextBackoff returns the delay before the next restart, given the previous
// one (0 for the first restart): behaviour.md §5 step 2.
func nextBackoff(c config, prev time.Duration) time.Duration {
	switch {
	case prev == 0:
		return c.backoffDelay
	case prev >= c.backoffLimit:
		return c.backoffLimit
	}
	next := time.Duration(float64(prev) * c.backoffFactor)
	if next > c.backoffLimit || next < prev { // also catches overflow
		next = c.backoffLimit
	}
	return next
}

// jitter returns a random extra delay in [0, d/10).
func jitter(d time.Duration, r *rand.Rand) time.Duration {
	if d/10 <= 0 {
		return 0
	}
	return time.Duration(r.Int64N(int64(d / 10)))
}

// exitAction picks the action for an exit code and names the field it came
// from ("on-success" for 0 and the success-exit-codes, else "on-failure").
func exitAction(c config, code int) (plan.ServiceAction, string) {
	if c.budget.successExit(code) {
		return c.onSuccess, "on-success"
	}
	return c.onFailure, "on-failure"
}

// Exit codes the daemon exits with after a shutdown action (behaviour.md §4,
// §7.5).
const (
	exitSuccess      = 0
	exitFailure      = 10
	exitCheckFailure = 11
)

// shutdownCode returns the daemon's exit code for a shutdown action taken
// after the service exited with code (-1 for a check failure), and whether
// the action is a shutdown at all.
func shutdownCode(action plan.ServiceAction, code int) (int, bool) {
	switch action {
	case plan.ActionShutdown:
		switch {
		case code < 0:
			return exitCheckFailure, true
		case code == 0:
			return exitSuccess, true
		}
		return exitFailure, true
	case plan.ActionSuccessShutdown:
		return exitSuccess, true
	case plan.ActionFailureShutdown:
		return exitFailure, true
	}
	return 0, false
}

// shutdownEffects logs a shutdown action taken on an exit whose outcome
// code is code (0 for an exit that counts as success, see
// budget.outcomeCode) and asks the daemon to shut down with its exit code.
func shutdownEffects(name, label string, action plan.ServiceAction, code int) []effect {
	exitCode, _ := shutdownCode(action, code)
	kind := "success"
	if exitCode != exitSuccess {
		kind = "failure"
	}
	return []effect{
		{kind: effLog, text: fmt.Sprintf("Service %q %s action is %q, triggering %s shutdown", name, label, action, kind)},
		{kind: effShutdown, code: exitCode},
	}
}
