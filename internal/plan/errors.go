package plan

import "fmt"

// FormatError reports a layer or plan that breaks the rules of layers.md: a
// bad field value, a missing "override", an unknown service, a loop. Its
// Message is the whole error text. Callers match it with errors.As to tell
// bad input from I/O failures.
type FormatError struct {
	Message string
}

// Error returns the message.
func (e *FormatError) Error() string {
	return e.Message
}

// formatErrorf builds a *FormatError from a format string.
func formatErrorf(format string, args ...any) *FormatError {
	return &FormatError{Message: fmt.Sprintf(format, args...)}
}
