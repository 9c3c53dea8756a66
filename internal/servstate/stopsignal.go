package servstate

import (
	"syscall"

	"github.com/pebble-project/pebble/internal/osutil"
	"github.com/pebble-project/pebble/internal/plan"
)

// stopSignal returns the signal a stop of svc sends first: its stop-signal,
// or SIGTERM (docs/stop-and-reload.md). The plan validated the name; a name
// this system does not know falls back to SIGTERM.
func stopSignal(svc *plan.Service) syscall.Signal {
	if sig, ok := osutil.SignalByName(svc.EffectiveStopSignal()); ok {
		return sig
	}
	return syscall.SIGTERM
}
