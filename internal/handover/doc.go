// Package handover is the versioned document a daemon hands to the binary it
// re-executes itself from during an in-place upgrade (docs/upgrade.md): the
// state that lives only in memory and the file descriptors that must outlive
// the exec (listeners, the directory lock, services' output pipes).
//
// The document is JSON with a format number and one part per owner, which
// each owner package encodes and decodes itself (Put, Get); this package
// knows none of their contents. The old daemon writes it to a memfd (Write)
// and names that descriptor in $PEBBLE_HANDOVER; the new daemon reads it at
// start-up (FromEnv), which also removes the variable so that services never
// inherit it. A document of a newer format than the reader's is refused.
//
// A descriptor crosses the exec because Pass clears its close-on-exec flag
// and records its number; the new daemon takes it back with Take. Passed
// files stay referenced by the document until the exec, so no finalizer
// closes them meanwhile.
//
// Before the old daemon gives up its code, it runs the new binary in check
// mode ($PEBBLE_HANDOVER_CHECK names the document's descriptor): the binary
// reads the document and answers with Answer, and the old daemon reads that
// answer with ParseAnswer.
package handover
