// Package logs owns service output (behaviour.md §9): per-service ring
// buffers, the writer that formats every line as
//
//	<UTC YYYY-MM-DDTHH:MM:SS.mmmZ> [<service>] <text>
//
// iterators that read the buffered entries back, and the mirror that copies
// formatted output to the daemon's stdout in verbose mode.
//
// A Pipe reads a service's output into its Writer. Writing never blocks
// on a reader: a Buffer overwrites its oldest bytes, and readers
// (iterators, LastLines) copy out under a short lock and notice when they
// fell behind; they are told exactly how many lines (and bytes) they
// missed, and read on from the oldest data held, also inside a line. A
// buffer read by followers grows rather than overwrite what they have yet
// to read, up to MaxBufferSize, and shrinks back when they are gone
// (sizing.go). The Mirror alone pushes back: it queues a bounded amount of
// each service's output, and the service's Pipe reads on only as the
// daemon's stdout takes it, so stdout gets every line. A line is never
// held in memory whole: lines over MaxLineSize are split and marked. A
// line left without its newline is returned once the writer has been idle
// for PartialLineWait, and Writer.EndLine ends it when the service exits
// (docs/logs.md).
//
// The package does not start processes, know about service states, or speak
// HTTP. Log forwarding and the /v1/logs follow mode are built on Iterator,
// Iterator.Follow and Buffer.Watch.
package logs
