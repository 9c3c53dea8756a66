// Package client is the Go client of the pebble daemon's HTTP API (/v1).
//
// A Client talks HTTP over the daemon's UNIX socket, or to a base URL when one
// is configured. Every method takes a context.Context first; cancelling it
// abandons the request. Apart from that, names, option structs and result
// types follow Canonical Pebble v1.32's Go client, so code written against it
// ports by adding a ctx argument to each call.
//
// Errors reported by the daemon are returned as *Error, whose Kind and
// StatusCode callers may inspect. Failures to reach the daemon are returned as
// ConnectionError, which wraps the underlying cause (for example a
// SocketNotFoundError).
//
// The package does not locate the daemon: it does not read $PEBBLE or
// $PEBBLE_SOCKET. The caller passes the socket path (or base URL) in Config.
// It imports only the standard library and shares no types with the daemon:
// its wire types are its own on purpose.
package client
