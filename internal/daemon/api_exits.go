package daemon

import (
	"time"

	"github.com/pebble-project/pebble/internal/servstate"
)

// serviceExitJSON holds the fields of a GET /v1/services entry that tell
// how a service's runs ended (our extension, docs/restart-budget.md). Each
// is left out while it has nothing to say, so a service that never exited
// or restarted reads exactly as in Pebble.
type serviceExitJSON struct {
	// RestartCount counts the automatic restarts since the last start.
	RestartCount int `json:"restart-count,omitempty"`
	// LastExitCode is the last run's exit code, if it exited.
	LastExitCode *int `json:"last-exit-code,omitempty"`
	// LastExitSignal names the signal that killed the last run, if one did.
	LastExitSignal string `json:"last-exit-signal,omitempty"`
	// LastExitTime is when the last run ended.
	LastExitTime *time.Time `json:"last-exit-time,omitempty"`
	// Failure says why current is "error".
	Failure string `json:"failure,omitempty"`
}

func serviceExitOf(info *servstate.ServiceInfo) serviceExitJSON {
	out := serviceExitJSON{RestartCount: info.Restarts, Failure: info.Failure}
	if e := info.LastExit; e != nil {
		if e.Signal != "" {
			out.LastExitSignal = e.Signal
		} else {
			out.LastExitCode = &e.Code
		}
		out.LastExitTime = &e.Time
	}
	return out
}
