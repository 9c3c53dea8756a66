package logs

import "time"

// ForwardStatus is a snapshot of the counters of one log target. The
// forwarding itself is in internal/logfwd; this type is here so the API
// layer can report it without depending on the forwarders' network code.
type ForwardStatus struct {
	// Name, Type and Location are the target's, from the plan.
	Name     string
	Type     string
	Location string
	// Services are the services whose output the target is forwarding now.
	Services []string
	// Sent counts entries the receiver accepted.
	Sent uint64
	// Dropped counts entries given up on: refused by the receiver (an
	// answer other than 429 or 5xx), or still unsent when the target was
	// removed or the daemon stopped.
	Dropped uint64
	// LostBytes counts bytes of output that the services' buffers dropped
	// before the target could read them (the receiver was down or slow for
	// longer than the buffers hold).
	LostBytes uint64
	// Failures counts failed send attempts.
	Failures uint64
	// Pending is the number of entries read and not yet sent.
	Pending int
	// LastError is the latest failure, and LastErrorTime when it happened.
	LastError     string
	LastErrorTime time.Time
}
