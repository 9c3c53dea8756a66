package ops

import "fmt"

// Class says what kind of failure an Error is, so the API can pick a status.
type Class int

// The error classes.
const (
	Internal Class = iota
	BadRequest
	NotFound
	Forbidden
	Timeout
)

// Error is a failure of a verb with the exact message the spec gives.
type Error struct {
	Class Class
	// Kind is the API error kind (api.md §3), if any.
	Kind    string
	Message string
}

func (e *Error) Error() string { return e.Message }

func errorf(class Class, format string, args ...any) *Error {
	return &Error{Class: class, Message: fmt.Sprintf(format, args...)}
}
