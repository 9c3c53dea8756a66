package servstate

import (
	"fmt"
	"slices"
	"time"

	"github.com/pebble-project/pebble/internal/plan"
)

// This file holds the restart budget and the exit codes that count as
// success (docs/restart-budget.md): the pure decisions the transition
// function takes about them.

// budget is what the state machine needs of a service's restart budget
// and exit codes.
type budget struct {
	// limit is the most automatic restarts within window; 0 means no limit.
	limit int
	// window is how far back restarts count; 0 counts every restart since
	// the last start.
	window time.Duration
	// onLimit is what follows when the limit is reached: ignore (the
	// service stays failed) or a shutdown action.
	onLimit plan.ServiceAction
	// successCodes are the exit codes, beside 0, that take the on-success
	// path.
	successCodes []int
}

func budgetFor(svc *plan.Service) budget {
	return budget{
		limit:        svc.EffectiveRestartLimit(),
		window:       svc.RestartWindow.Value,
		onLimit:      svc.EffectiveOnRestartLimit(),
		successCodes: svc.SuccessExitCodes,
	}
}

// successExit reports whether an exit with code takes the on-success path.
func (b budget) successExit(code int) bool {
	return code == 0 || slices.Contains(b.successCodes, code)
}

// outcomeCode is the exit code a shutdown action goes by (shutdownCode):
// 0 for an exit that counts as success, else code.
func (b budget) outcomeCode(code int) int {
	if b.successExit(code) {
		return 0
	}
	return code
}

// allowRestart decides whether one more automatic restart may happen at
// now, given the times of the earlier ones since the last start (oldest
// first). It returns the times still counted, with now added when the
// restart is allowed; the input slice is never modified. Without a limit
// every restart is allowed and no time is kept.
func (b budget) allowRestart(times []time.Time, now time.Time) ([]time.Time, bool) {
	if b.limit <= 0 {
		return nil, true
	}
	kept := make([]time.Time, 0, b.limit)
	for _, t := range times {
		if b.window == 0 || now.Sub(t) < b.window {
			kept = append(kept, t)
		}
	}
	if len(kept) >= b.limit {
		return kept, false
	}
	return append(kept, now), true
}

// limitReason is the failure reason of a service that reached its limit.
func (b budget) limitReason() string {
	restarts := fmt.Sprintf("%d restarts", b.limit)
	if b.limit == 1 {
		restarts = "1 restart"
	}
	if b.window == 0 {
		return fmt.Sprintf("restart limit reached: %s since the last start", restarts)
	}
	return fmt.Sprintf("restart limit reached: %s within %s", restarts, b.window)
}

// exitReason is the failure reason of a service that exited with code and
// will not be restarted because of the action of field.
func exitReason(code int, field string, action plan.ServiceAction) string {
	return fmt.Sprintf("exited with code %d, %s action is %q", code, field, action)
}
