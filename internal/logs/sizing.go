package logs

import (
	"math/bits"
	"time"
)

// A buffer that /v1/logs followers read grows, before a write would
// overwrite what its slowest follower has not read yet, to twice what that
// follower is behind, up to MaxBufferSize: a follower that lags for a
// moment (the CPU went elsewhere, the client paused) loses nothing, and
// the writer still never waits for it. Once nobody follows the buffer, or
// its followers keep up, it shrinks back to its first size, so that an
// idle daemon stays small.

// A buffer holds no memory until its service first writes; it then starts
// at startSize, or its size if smaller, and doubles, as its service
// writes, until it reaches the size it was made with: the buffer of a
// service that writes little costs what it holds, not its whole size (with
// 100 services, 10 MB of an idle daemon's memory), and that of a service
// that writes nothing costs nothing.
const startSize = 4 << 10

// growLocked grows a buffer not yet at its first size before a write of n
// bytes would overwrite its oldest bytes.
func (b *Buffer) growLocked(n int) {
	held := b.end - b.start + uint64(n)
	if held <= uint64(len(b.data)) || len(b.data) >= b.firstSize {
		return
	}
	b.resizeLocked(min(b.firstSize, max(2*len(b.data), 1<<bits.Len64(held))))
}

// allocLocked gives a buffer that has no memory yet, before its first
// write, the memory it starts with.
func (b *Buffer) allocLocked() {
	if b.data == nil {
		b.data = make([]byte, min(b.firstSize, startSize))
	}
}

// MaxBufferSize bounds the growth of a followed buffer: about 250 ms of a
// service writing a million 100-byte lines a second.
const MaxBufferSize = 32 << 20

// shrinkCheck is how often a grown buffer checks whether it may shrink: to
// twice the most its followers were behind since the last check, or its
// first size when nobody follows it. A variable for the tests.
var shrinkCheck = 5 * time.Second

// Follow makes the buffer keep what it overwrites for it until it is read,
// up to MaxBufferSize, until the returned function is called.
func (it *Iterator) Follow() (unfollow func()) {
	b := it.b
	b.mu.Lock()
	b.followers = append(b.followers, it)
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for i, f := range b.followers {
			if f == it {
				b.followers = append(b.followers[:i:i], b.followers[i+1:]...)
				break
			}
		}
	}
}

// Size returns the buffer's size now: what it can hold before it overwrites
// its oldest bytes.
func (b *Buffer) Size() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.data)
}

// reserveLocked is told before a write of about n bytes: a followed buffer
// grows if the write would overwrite what a follower has not read.
func (b *Buffer) reserveLocked(n int) {
	b.allocLocked()
	if len(b.followers) == 0 {
		return
	}
	behind := b.end + uint64(n) - b.slowestLocked()
	b.mostBehind = max(b.mostBehind, behind)
	if behind > uint64(len(b.data)) && len(b.data) < MaxBufferSize {
		b.resizeLocked(min(MaxBufferSize, 1<<bits.Len64(2*behind)))
	}
}

// slowestLocked returns the position of the follower furthest behind.
func (b *Buffer) slowestLocked() uint64 {
	pos := b.end
	for _, it := range b.followers {
		pos = min(pos, max(it.pos, b.start))
	}
	return pos
}

// resizeLocked moves the buffer's data into a buffer of size bytes, keeping
// the positions; shrinking drops (and counts) the oldest bytes that no
// longer fit. A buffer larger than its first size checks every shrinkCheck
// whether it may shrink.
func (b *Buffer) resizeLocked(size int) {
	if held := b.end - b.start; held > uint64(size) {
		start := b.end - uint64(size)
		b.noteDroppedLocked(b.start, start)
		b.moveStartLocked(start, nil)
	}
	data := make([]byte, size)
	old := b.copyLocked(nil, b.start, len(b.data))
	// Position p lives at p % size.
	off := int(b.start % uint64(size))
	c := copy(data[off:], old)
	copy(data, old[c:])
	b.data = data
	if size > b.firstSize && b.shrinkTimer == nil {
		b.shrinkTimer = time.AfterFunc(shrinkCheck, b.shrinkIfCalm)
	}
}

// shrinkIfCalm shrinks a grown buffer to what its followers need now.
func (b *Buffer) shrinkIfCalm() {
	b.mu.Lock()
	defer b.mu.Unlock()
	size := b.firstSize
	if len(b.followers) > 0 {
		// Never less than what a follower has yet to read.
		behind := max(b.mostBehind, b.end-b.slowestLocked())
		size = max(size, min(MaxBufferSize, 1<<bits.Len64(2*behind)))
	}
	b.mostBehind = 0
	if size < len(b.data) {
		b.resizeLocked(size)
	}
	if len(b.data) > b.firstSize {
		b.shrinkTimer.Reset(shrinkCheck)
		return
	}
	b.shrinkTimer = nil
}
