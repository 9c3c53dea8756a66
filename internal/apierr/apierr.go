// Package apierr is the error a verb returns when the API must answer with
// a given kind of failure and the spec's exact message. The daemon maps its
// Class to an HTTP status in one place; the verbs themselves speak no HTTP.
package apierr

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

// Errorf returns an Error of class with a formatted message.
func Errorf(class Class, format string, args ...any) *Error {
	return &Error{Class: class, Message: fmt.Sprintf(format, args...)}
}
