package logs

import (
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sinkRecorder collects entries and signals each Idle.
type sinkRecorder struct {
	mu      sync.Mutex
	entries []Entry
	idle    chan struct{}
}

func newSink() *sinkRecorder { return &sinkRecorder{idle: make(chan struct{}, 1000)} }

func (s *sinkRecorder) Entry(e Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries = append(s.entries, e)
	return nil
}

func (s *sinkRecorder) Idle() error {
	s.idle <- struct{}{}
	return nil
}

func (s *sinkRecorder) messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return messages(s.entries)
}

func readStream(t *testing.T, bufs []*Buffer, opts StreamOptions) []string {
	t.Helper()
	s := newSink()
	require.NoError(t, Stream(context.Background(), bufs, opts, s))
	return s.messages()
}

// TestStream: the buffers' entries come merged in time order, the latest
// N of them, or all.
func TestStream(t *testing.T) {
	a, b := NewBuffer(0), NewBuffer(0)
	wa := fixedWriter("a", a, nil) // a's clock advances a second per call
	wb := NewWriter("b", b, nil)
	wb.now = func() time.Time { return t0.Add(39*time.Second + time.Millisecond) }
	for i := range 40 {
		fmt.Fprintf(wa, "a%d\n", i+1)
	}
	io.WriteString(wa, "a-late\n")
	// b1 is written after a's first 40 lines and before a-late.
	io.WriteString(wb, "b1\n")

	all := readStream(t, []*Buffer{a, b}, StreamOptions{N: -1})
	require.Len(t, all, 42)
	assert.Equal(t, "b:b1", all[40], "buffers merged in time order: %q", all)
	assert.Equal(t, "a:a-late", all[41])
	for i := range 40 {
		assert.Equal(t, fmt.Sprintf("a:a%d", i+1), all[i])
	}
	assert.Equal(t, all, readStream(t, []*Buffer{a, b}, StreamOptions{N: -5}), "below -1 means all")
	assert.Equal(t, all[12:], readStream(t, []*Buffer{a, b}, StreamOptions{N: 30}))
	assert.Equal(t, all[39:], readStream(t, []*Buffer{a, b}, StreamOptions{N: 3}))
	assert.Empty(t, readStream(t, []*Buffer{a, b}, StreamOptions{N: 0}))
	assert.Equal(t, []string{"b:b1"}, readStream(t, []*Buffer{b}, StreamOptions{N: -1}))
	assert.Equal(t, []string{"a:a-late"}, readStream(t, []*Buffer{a}, StreamOptions{N: 1}))
	assert.Empty(t, readStream(t, nil, StreamOptions{N: -1}))
}

// TestStreamFollow: a follower gets the backlog, then new output as it is
// written, and returns nil once its context ends.
func TestStreamFollow(t *testing.T) {
	b := NewBuffer(0)
	w := NewWriter("b", b, nil)
	io.WriteString(w, "b1\n")
	ctx, cancel := context.WithCancel(context.Background())
	s := newSink()
	done := make(chan error, 1)
	go func() { done <- Stream(ctx, []*Buffer{b}, StreamOptions{N: 5, Follow: true}, s) }()
	<-s.idle
	assert.Equal(t, []string{"b:b1"}, s.messages())

	io.WriteString(w, "more\n")
	for len(s.messages()) < 2 {
		select {
		case <-s.idle:
		case <-time.After(10 * time.Second):
			t.Fatalf("follower got %q", s.messages())
		}
	}
	assert.Equal(t, []string{"b:b1", "b:more"}, s.messages())
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Stream did not return after its context ended")
	}
}
