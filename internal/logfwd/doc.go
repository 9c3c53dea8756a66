// Package logfwd forwards service output to the plan's log targets
// (layers.md §5, behaviour.md §9.4): Loki's push API, OpenTelemetry's
// OTLP/HTTP JSON logs endpoint, and syslog (RFC 5424 over TCP or UDP).
//
// Each target has one goroutine. It reads the output of the services it
// forwards straight from their ring buffers (logs.Buffer) through its own
// iterators, gathers up to 100 entries, and sends them when it has 100 or
// when the oldest has waited 1 s. The ring buffers are the queue: while a
// receiver is down the target keeps its one batch, retries it with
// exponential backoff, and reads nothing more, so output waits in the
// services' buffers and nothing that still fits there is lost when the
// receiver comes back. What does not fit is overwritten by the services,
// which never wait for a target; the target counts those bytes as lost.
// Memory per target is bounded by one batch (100 entries of at most
// logs.MaxEntrySize bytes).
//
// Failures are logged as `Cannot flush logs to target "<t>": <err>`. A
// receiver's 429 or 5xx answer, or a network error, is retried; any other
// answer drops the batch (counted). Counters per target are in Status.
//
// The package does not start services or read the plan from disk: the
// daemon feeds it plans (SetPlan) and the start of each service run
// (ServiceStarting), and Close makes a final flush bounded by its context.
package logfwd
