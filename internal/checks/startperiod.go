package checks

import (
	"time"

	"github.com/pebble-project/pebble/internal/plan"
)

// A check's start-period (not in Pebble; Docker's name, docs/checks.md):
// for that long after the check starts (or restarts with a new
// configuration), its failures count towards no threshold, so a slow
// service is not restarted by its own check while it comes up. The first
// success ends the grace early: from then on every failure counts, as
// without start-period. A recover-check run has no grace.

// startPeriodEnd is when the grace of a check started at now ends; zero
// when it has no start-period.
func startPeriodEnd(cfg *plan.Check, now time.Time) time.Time {
	if p := cfg.StartPeriod; p.IsSet && p.Value > 0 {
		return now.Add(p.Value)
	}
	return time.Time{}
}

// inStartPeriod reports whether a failure of r at now falls in its grace.
// Called with the manager's lock held.
func (r *run) inStartPeriod(now time.Time) bool {
	return !r.graceUntil.IsZero() && now.Before(r.graceUntil)
}
