package logs

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/testutil"
)

// TestHandOverTakeOver hands a writer in the middle of a line, whose buffer
// has wrapped, to a fresh one, and writes on: the buffer reads as if one
// writer had done it all, and the open line gets no second prefix.
func TestHandOverTakeOver(t *testing.T) {
	old := NewWriter("svc", NewBuffer(4096), nil)
	for i := 0; i < 500; i++ {
		old.Write([]byte("line\n"))
	}
	old.Write([]byte("open "))
	st := old.HandOver()

	w := NewWriter("svc", NewBuffer(4096), nil)
	w.TakeOver(st)
	w.Write([]byte("line ends\n"))
	old.Write([]byte("line ends\n"))

	assert.Equal(t, old.HandOver().End, w.HandOver().End)
	assert.Equal(t, old.HandOver().Data[len(old.HandOver().Data)-100:], w.HandOver().Data[len(w.HandOver().Data)-100:])
	lines, _ := w.buf.LastLines(1)
	assert.Equal(t, []string{"open line ends"}, lines, "one line, one prefix")
}

// TestDetachKeepsUnread detaches a pipe between reads: what is written
// afterwards is read by the pipe that adopts the read end, none of it by
// the detached one.
func TestDetachKeepsUnread(t *testing.T) {
	w := NewWriter("svc", NewBuffer(0), nil)
	p, child, err := w.NewPipe()
	require.NoError(t, err)
	p.Start()
	child.Write([]byte("before\n"))
	testutil.WaitFor(t, 5*time.Second, func() error {
		if lines, _ := w.buf.LastLines(1); len(lines) == 0 {
			return errors.New("before not read yet")
		}
		return nil
	})
	r := p.Detach()
	require.NotNil(t, r)
	child.Write([]byte("after\n"))
	child.Close()

	w2 := NewWriter("svc", NewBuffer(0), nil)
	p2 := w2.AdoptPipe(r)
	p2.Finish(PartialLineWait)
	lines, _ := w2.buf.LastLines(10)
	assert.Equal(t, []string{"after"}, lines)
	lines, _ = w.buf.LastLines(10)
	assert.Equal(t, []string{"before"}, lines)
}

// TestTakeOverGrownBuffer hands over a buffer grown for a follower, in the
// middle of a long line, to one of the first size: the new buffer counts
// the lines it drops, and keeps the time of the line it starts in.
func TestTakeOverGrownBuffer(t *testing.T) {
	old := fixedWriter("svc", NewBuffer(4096), nil)
	it := old.buf.NewIterator(0)
	unfollow := it.Follow()
	defer unfollow()
	for range 300 {
		old.Write([]byte("a line\n"))
	}
	old.Write([]byte(strings.Repeat("x", 2*MaxLineSize)))
	st := old.HandOver()
	require.Greater(t, len(st.Data), 2*MaxLineSize)
	require.True(t, st.StartTime.IsZero(), "the grown buffer starts at a line")

	w := fixedWriter("svc", NewBuffer(4096), nil)
	w.TakeOver(st)
	got := w.HandOver()
	dropped := st.Data[:len(st.Data)-4096]
	assert.Equal(t, st.LostNL+uint64(bytes.Count(dropped, []byte("\n"))), got.LostNL)
	assert.Equal(t, t0.Truncate(time.Millisecond).Add(300*time.Second), got.StartTime)
}
