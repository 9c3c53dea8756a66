// Package logs owns service output (behaviour.md §9): per-service ring
// buffers, the writer that formats every line as
//
//	<UTC YYYY-MM-DDTHH:MM:SS.mmmZ> [<service>] <text>
//
// iterators that read the buffered entries back, and the mirror that copies
// formatted output to the daemon's stdout in verbose mode.
//
// A Pipe reads a service's output into its Writer. Writing never blocks
// on a reader: a Buffer has a fixed size and overwrites its oldest bytes,
// readers (iterators, LastLines) copy out under a short lock and notice
// when they fell behind. The Mirror alone pushes back: it queues a bounded
// amount of each service's output, and the service's Pipe reads on only
// as the daemon's stdout takes it, so stdout gets every line. A line
// is never held in memory whole, so a megabyte line without a newline costs
// no more than the buffer. A reader that falls behind is told how many
// bytes it missed and reads on from the oldest data held, also inside a
// line; a line left without its newline is returned once the writer has
// been idle for PartialLineWait, and Writer.EndLine ends it when the
// service exits (docs/logs.md).
//
// The package does not start processes, know about service states, or speak
// HTTP. Log forwarding and the /v1/logs follow mode are built on Iterator and
// Buffer.Watch.
package logs
