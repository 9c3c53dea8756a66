// Package notices records notices (api.md §13): change-update notices for
// every change status transition, custom notices from clients, warnings,
// and (beyond Pebble) service-update notices for every service transition.
//
// A notice is identified by (user, type, key); a new occurrence of an
// existing notice updates it in place. The package owns:
//
//   - IDs: decimal strings from a counter that keeps increasing across
//     daemon restarts.
//   - Occurrences, repeat-after and expiry (7 days after the last repeat).
//   - Ordering without loss: every occurrence that updates last-repeated
//     gets a time strictly later than any earlier one, taken under the lock,
//     so a client that passes the last-repeated time of the newest notice it
//     saw as `after` never misses one and never sees one twice.
//   - Waiting: a long-poll (Wait) blocks on a channel that is closed and
//     replaced whenever a notice is recorded. It is event-driven, starts no
//     goroutine and leaves nothing behind when its context ends.
//   - The "notices" section of the state file, through statefile.Store, and
//     pruning (behaviour.md §10.3). An occurrence of a type that is not
//     Durable (service-update) asks for no write of its own and is saved
//     with the next one, or at Close.
//
// It does not know who a caller is or what a change is: the API layer turns
// callers into user IDs and decides which filters they may use, and the
// daemon's wiring records a change-update notice when a change's status
// changes and a service-update notice when a service's state changes.
package notices
