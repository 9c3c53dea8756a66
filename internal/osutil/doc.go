// Package osutil holds small operating-system helpers shared by the daemon's
// packages: user and group resolution (layers.md §3.3), signal names, and
// reading process facts from /proc.
//
// It holds no domain logic: it does not know about services, plans or the
// API, and it never starts or signals processes itself.
package osutil
