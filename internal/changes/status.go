package changes

// Status is the state of a task or of a change. The integer values are those
// of Pebble's state file (behaviour.md §10.1) and are what the "changes"
// section stores.
type Status int

// The statuses. Default is never shown by the API; this package never moves a
// task to Undo, Undoing, Undone or Wait, but a change's status derivation
// handles them.
const (
	Default Status = iota
	Hold
	Do
	Doing
	Done
	Abort
	Undo
	Undoing
	Undone
	Error
	Wait

	nStatus
)

var statusNames = [nStatus]string{
	Default: "Default",
	Hold:    "Hold",
	Do:      "Do",
	Doing:   "Doing",
	Done:    "Done",
	Abort:   "Abort",
	Undo:    "Undo",
	Undoing: "Undoing",
	Undone:  "Undone",
	Error:   "Error",
	Wait:    "Wait",
}

// String returns the status name the API shows: "Do", "Doing", "Done", ...
func (s Status) String() string {
	if s < 0 || s >= nStatus {
		return "Unknown"
	}
	return statusNames[s]
}

// Ready reports whether s is final: Done, Undone, Hold or Error.
func (s Status) Ready() bool {
	switch s {
	case Done, Undone, Hold, Error:
		return true
	}
	return false
}

// priority is the order in which a change takes its status from the statuses
// of its tasks (api.md §10.3): the first one present wins.
var priority = [...]Status{Abort, Undoing, Undo, Doing, Do, Wait, Error, Undone, Done, Hold}

// deriveStatus computes a change's status from the number of its tasks in
// each status. blockedByWait is consulted only when some task is in Wait; it
// reports whether every task that is not ready is either waiting (Wait) or
// blocked behind a waiting task.
func deriveStatus(counts *[nStatus]int, blockedByWait func() bool) Status {
	total := 0
	for _, n := range counts {
		total += n
	}
	if total == 0 {
		return Hold
	}
	if counts[Wait] > 0 && blockedByWait() {
		return Wait
	}
	for _, s := range priority {
		if counts[s] > 0 {
			return s
		}
	}
	return Hold
}

// isFlip reports whether a change moving from a to b is one of the flips the
// OnStatus hook is not told about: Do<->Doing and Undo<->Undoing.
func isFlip(a, b Status) bool {
	doing := func(s Status) bool { return s == Do || s == Doing }
	undoing := func(s Status) bool { return s == Undo || s == Undoing }
	return doing(a) && doing(b) || undoing(a) && undoing(b)
}
