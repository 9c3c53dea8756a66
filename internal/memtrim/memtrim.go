// Package memtrim gives the operating system back the memory a burst of
// work left free in the daemon's heap, once the daemon has been quiet for a
// while.
//
// The Go runtime keeps freed heap pages, and the stacks goroutines shrank
// out of, for reuse, returning them only slowly in the background. After a
// start of a hundred services that is a few megabytes of resident memory an
// idle daemon holds for minutes. A Trimmer, poked at the end of each piece
// of work (a change becoming ready), waits until no poke came for its quiet
// time and then collects garbage and returns every free page at once. It
// holds no goroutine while it waits.
package memtrim

import (
	"runtime/debug"
	"sync"
	"time"
)

// Trimmer returns freed memory to the operating system once the daemon is
// quiet. The zero value is not usable: make one with New.
type Trimmer struct {
	quiet time.Duration
	trim  func()

	mu      sync.Mutex
	timer   *time.Timer // nil until the first Poke
	stopped bool
}

// New makes a Trimmer that trims quiet after the last Poke.
func New(quiet time.Duration) *Trimmer {
	return &Trimmer{quiet: quiet, trim: debug.FreeOSMemory}
}

// Poke notes that a piece of work ended: the memory is trimmed once no other
// Poke comes for the quiet time. Pokes after Stop do nothing.
func (t *Trimmer) Poke() {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.stopped:
	case t.timer == nil:
		t.timer = time.AfterFunc(t.quiet, t.trim)
	default:
		t.timer.Reset(t.quiet)
	}
}

// Stop cancels a trim not yet started; one under way is not waited for.
func (t *Trimmer) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	if t.timer != nil {
		t.timer.Stop()
	}
}
