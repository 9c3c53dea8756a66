// Package daemon serves the HTTP API (api.md) on the UNIX socket and,
// optionally, on a TCP address.
//
// It owns the listeners (with the stale-socket check), the caller's peer
// credentials and access level, the route table, request body limits, the
// JSON envelopes and the single mapping from errors to HTTP statuses. Each
// handler decodes its request, makes one call on an owner's narrow
// interface (services, changes, plan, notices, identities, checks, log targets,
// files) or, for a verb that spans several owners, on Ops, and encodes the
// result. The package starts no processes, holds no service or change
// state and writes no state files.
package daemon
