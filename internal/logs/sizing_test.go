package logs

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/testutil"
)

// TestBufferGrowsForFollowers: a followed buffer grows with a burst of
// output, so that a follower reading only after the burst misses nothing;
// once nobody follows it, it shrinks back to its first size, and a reader
// behind is told exactly how many lines that cost.
func TestBufferGrowsForFollowers(t *testing.T) {
	buf := NewBuffer(0)
	w := fixedWriter("svc", buf, nil)
	it := buf.NewIterator(0)
	unfollow := it.Follow()
	var chunk strings.Builder
	const lines = 20000 // about 2.4 MB formatted, 24 times the first size
	for i := 1; i <= lines; i++ {
		fmt.Fprintf(&chunk, "%d %s\n", i, strings.Repeat("x", 80))
		if chunk.Len() > 60000 || i == lines {
			w.Write([]byte(chunk.String()))
			chunk.Reset()
		}
	}
	assert.Greater(t, buf.Size(), 2<<20)
	next := 1
	for e, ok := it.Next(); ok; e, ok = it.Next() {
		lost, _ := it.Truncated()
		require.Zero(t, lost)
		require.True(t, strings.HasPrefix(e.Message, strconv.Itoa(next)+" "), "%.20q, want line %d", e.Message, next)
		next++
	}
	assert.Equal(t, lines+1, next)

	// A reader behind when the buffer shrinks.
	behind := buf.NewIterator(-1)
	e, ok := behind.Next()
	require.True(t, ok)
	number := regexp.MustCompile(`^(\d+) `)
	m := number.FindStringSubmatch(e.Message)
	require.NotNil(t, m, "%.20q", e.Message)
	read, _ := strconv.Atoi(m[1])
	unfollow()
	buf.shrinkIfCalm() // what its timer does
	assert.Equal(t, DefaultBufferSize, buf.Size())
	e, ok = behind.Next()
	require.True(t, ok)
	n, bytes := behind.Truncated()
	m = number.FindStringSubmatch(e.Message)
	require.NotNil(t, m, "%.20q", e.Message)
	first, _ := strconv.Atoi(m[1])
	assert.Equal(t, first-read-1, int(n), "lines reported lost")
	assert.NotZero(t, bytes)
}

// TestBufferShrinksWhenUnfollowed: a grown buffer shrinks back on its own
// once nobody follows it.
func TestBufferShrinksWhenUnfollowed(t *testing.T) {
	defer func(d time.Duration) { shrinkCheck = d }(shrinkCheck)
	shrinkCheck = 10 * time.Millisecond
	buf := NewBuffer(0)
	w := fixedWriter("svc", buf, nil)
	unfollow := buf.NewIterator(0).Follow()
	w.Write([]byte(strings.Repeat("x", 1<<20)))
	assert.Greater(t, buf.Size(), 1<<20)
	unfollow()
	testutil.WaitFor(t, 10*time.Second, func() error {
		buf.mu.Lock()
		defer buf.mu.Unlock()
		if len(buf.data) != DefaultBufferSize || buf.shrinkTimer != nil {
			return fmt.Errorf("size %d", len(buf.data))
		}
		return nil
	})
}

// TestBufferGrowsAsWritten: a buffer holds nothing until written, then
// starts small, so a quiet service's costs little, and grows as its
// service writes, losing nothing until it holds its full size; from then
// on it keeps that size and overwrites.
func TestBufferGrowsAsWritten(t *testing.T) {
	buf := NewBuffer(0)
	assert.Zero(t, buf.Size())
	lines, cut := buf.LastLines(-1)
	assert.Empty(t, lines)
	assert.False(t, cut)
	w := fixedWriter("svc", buf, nil)
	w.Write([]byte("first\n"))
	assert.Equal(t, startSize, buf.Size())
	line := strings.Repeat("x", 90) + "\n"
	written := len(line) // counts "first\n" as one line
	for written+len(line) < DefaultBufferSize/4 {
		w.Write([]byte(line))
		written += len(line)
	}
	assert.Less(t, buf.Size(), DefaultBufferSize)
	lines, cut = buf.LastLines(-1)
	assert.False(t, cut)
	assert.Len(t, lines, written/len(line), "lines kept while growing")
	for range DefaultBufferSize / len(line) {
		w.Write([]byte(line))
	}
	assert.Equal(t, DefaultBufferSize, buf.Size())
	_, cut = buf.LastLines(-1)
	assert.True(t, cut, "a full buffer overwrites its oldest lines")
}
