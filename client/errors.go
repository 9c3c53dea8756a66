package client

import "fmt"

// Error is an error reported by the daemon in an error envelope (api.md §3).
type Error struct {
	// Kind classifies the error; see the ErrorKind constants. Often empty.
	Kind string `json:"kind"`
	// Value is extra data some errors carry; usually nil.
	Value any `json:"value"`
	// Message is the daemon's message, never empty.
	Message string `json:"message"`

	// StatusCode is the HTTP status of the response (0 inside Maintenance).
	StatusCode int `json:"-"`
}

// Error returns the daemon's message.
func (e *Error) Error() string {
	return e.Message
}

// The values of Error.Kind the daemon uses.
const (
	ErrorKindLoginRequired     = "login-required"
	ErrorKindNoDefaultServices = "no-default-services"
	ErrorKindNotFound          = "not-found"
	ErrorKindPermissionDenied  = "permission-denied"
	ErrorKindGenericFileError  = "generic-file-error"
	ErrorKindSystemRestart     = "system-restart"
	ErrorKindDaemonRestart     = "daemon-restart"
)

// ConnectionError is returned when the daemon cannot be reached or the
// connection fails before a response arrives.
type ConnectionError struct {
	// Err is the cause, often a *url.Error wrapping a SocketNotFoundError.
	Err error
}

// Error returns "cannot communicate with server: " and the cause.
func (e ConnectionError) Error() string {
	return fmt.Sprintf("cannot communicate with server: %v", e.Err)
}

// Unwrap returns the cause.
func (e ConnectionError) Unwrap() error {
	return e.Err
}

// SocketNotFoundError is the cause of a ConnectionError when the socket file
// does not exist.
type SocketNotFoundError struct {
	// Err is the error from looking up the socket file.
	Err error
	// Path is the socket path that was looked up.
	Path string
}

// Error returns `socket "<path>" not found`.
func (e SocketNotFoundError) Error() string {
	if e.Path == "" && e.Err != nil {
		return e.Err.Error()
	}
	return fmt.Sprintf("socket %q not found", e.Path)
}

// Unwrap returns the lookup error.
func (e SocketNotFoundError) Unwrap() error {
	return e.Err
}

// RequestError is returned when a request cannot be built, for example
// because its body cannot be encoded.
type RequestError struct {
	// Err is the cause.
	Err error
}

// Error returns "cannot build request: " and the cause.
func (e RequestError) Error() string {
	return fmt.Sprintf("cannot build request: %v", e.Err)
}

// Unwrap returns the cause.
func (e RequestError) Unwrap() error {
	return e.Err
}
