package servstate

import (
	"time"

	"github.com/pebble-project/pebble/internal/osutil"
	"github.com/pebble-project/pebble/internal/reaper"
)

// ExitInfo is how a service's run ended.
type ExitInfo struct {
	// Code is the exit code; 0 when Signal is set.
	Code int
	// Signal names the signal that killed the process ("SIGKILL"); "" if
	// it exited.
	Signal string
	// Time is when the daemon saw the exit.
	Time time.Time
}

// exitRecord is the last exit of a service record; at is zero until a run
// ends.
type exitRecord struct {
	result reaper.ExitResult
	at     time.Time
}

// exitInfo fills the restart count, last exit and failure reason of info.
// s.mu must be held.
func (s *service) exitInfo(info *ServiceInfo) {
	info.Restarts = s.restarts
	if s.state == stateExited || s.state == stateFailed {
		info.Failure = s.reason
	}
	if s.lastExit.at.IsZero() {
		return
	}
	e := &ExitInfo{Code: s.lastExit.result.Code, Time: s.lastExit.at}
	if sig := s.lastExit.result.Signal; sig != 0 {
		e.Signal = osutil.SignalName(sig)
	}
	info.LastExit = e
}
