package servstate

import "github.com/pebble-project/pebble/internal/reaper"

// Event is one transition of a service, as Options.OnEvent receives it
// (docs/service-events.md).
type Event struct {
	// Service is the service's name.
	Service string
	// Kind names what happened: "exited" when the main process of the
	// current run ended, otherwise the state the service entered
	// ("starting", "started", "stopping", "killing", "stopped", "backoff",
	// and any state added to the machine, by its name).
	Kind string
	// Exit is how the main process ended, when an exit caused the
	// transition; nil otherwise.
	Exit *reaper.ExitResult
	// ExitReason is ExitOOMKilled on an "exited" event when the kernel's
	// OOM killer ended the main process at the service's memory limit
	// (limits.go); "" otherwise.
	ExitReason string
}

// Event kinds whose name is not that of a state.
const (
	EventExited   = "exited"
	EventStarted  = "started"
	EventStopping = "stopping"
	// EventReady is the readiness of a service with a readiness field
	// being met: it enters (or, after a restart, stays) running.
	EventReady = "ready"
)

// entered names the event of entering s: the state's own name but where
// the API's vocabulary differs.
func entered(s state) string {
	switch s {
	case stateRunning:
		return EventStarted
	case stateTerminating:
		return EventStopping
	}
	return s.String()
}

// liveRun reports whether s has a main process that can exit.
func liveRun(s state) bool {
	switch s {
	case stateStarting, stateRunning, stateTerminating, stateKilling:
		return true
	}
	return false
}

// events lists the events of one transition from prev to cur caused by ev:
// the exit of a live run's main process, then the state entered, if it
// changed, or "ready" when the run's readiness was met (docs/readiness.md).
// Both carry the exit status, so a client that sees only the later one
// (notices coalesce by service) still learns how the process ended. This
// is the one place transitions become events: every change of the
// machine, whatever its cause, goes through handle and here.
func events(name string, prev, cur machine, ev event) []Event {
	var out []Event
	var exit *reaper.ExitResult
	if ev.kind == evExit && liveRun(prev.state) {
		res := ev.exit
		exit = &res
		out = append(out, Event{Service: name, Kind: EventExited, Exit: exit})
	}
	kind := ""
	switch {
	case cur.ready.done && !prev.ready.done:
		kind = EventReady
	case cur.state != prev.state && (exit == nil || entered(cur.state) != EventExited):
		kind = entered(cur.state)
	}
	if kind != "" {
		out = append(out, Event{Service: name, Kind: kind, Exit: exit})
	}
	return out
}
