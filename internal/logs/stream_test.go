package logs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sinkRecorder collects the entries of the JSON lines it is given and
// signals Flush.
type sinkRecorder struct {
	mu      sync.Mutex
	entries []Entry
	idle    chan struct{}
}

func newSink() *sinkRecorder { return &sinkRecorder{idle: make(chan struct{}, 1)} }

func (s *sinkRecorder) Write(p []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	dec := json.NewDecoder(bytes.NewReader(p))
	for dec.More() {
		var e struct {
			Time    time.Time `json:"time"`
			Service string    `json:"service"`
			Message string    `json:"message"`
		}
		if err := dec.Decode(&e); err != nil {
			return err
		}
		s.entries = append(s.entries, Entry{Time: e.Time, Service: e.Service, Message: e.Message})
	}
	if len(p) > 0 && p[len(p)-1] != '\n' {
		return fmt.Errorf("write not ending a line: %q", p)
	}
	return nil
}

// Flush signals idle, without waiting: flushes not waited for coalesce.
func (s *sinkRecorder) Flush() error {
	select {
	case s.idle <- struct{}{}:
	default:
	}
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

// TestStreamFollowTimeOrder: a follower of several services gets their
// entries in exactly the order a later read of the same buffers returns
// them (time order, ties to the service given first), although one service
// writes each line in two parts with pauses between them, so that lines of
// the others complete while its line, which is older, is still unfinished.
func TestStreamFollowTimeOrder(t *testing.T) {
	const lines = 600
	names := []string{"slow", "b", "c"}
	var bufs []*Buffer
	var writers []*Writer
	for _, name := range names {
		buf := NewBuffer(1 << 20)
		bufs = append(bufs, buf)
		writers = append(writers, NewWriter(name, buf, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newSink()
	done := make(chan error, 1)
	go func() { done <- Stream(ctx, bufs, StreamOptions{N: 0, Follow: true}, s) }()
	<-s.idle // following from here

	var wg sync.WaitGroup
	for i, w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range lines {
				if i == 0 {
					// The line's time is taken at its first part.
					fmt.Fprintf(w, "%s%d-", names[i], n)
					time.Sleep(time.Duration(n%3) * 700 * time.Microsecond)
					io.WriteString(w, "end\n")
					continue
				}
				fmt.Fprintf(w, "%s%d\n", names[i], n)
				if n%4 == 0 {
					time.Sleep(300 * time.Microsecond)
				}
			}
		}()
	}
	wg.Wait()
	deadline := time.After(20 * time.Second)
	for len(s.messages()) < len(names)*lines {
		select {
		case <-s.idle:
		case <-deadline:
			t.Fatalf("follower got %d of %d entries", len(s.messages()), len(names)*lines)
		}
	}
	cancel()
	require.NoError(t, <-done)

	s.mu.Lock()
	followed := s.entries
	s.mu.Unlock()
	for i := 1; i < len(followed); i++ {
		require.False(t, followed[i].Time.Before(followed[i-1].Time), "entry %d (%v) before the one ahead of it (%v)", i, followed[i], followed[i-1])
	}
	assert.Equal(t, readStream(t, bufs, StreamOptions{N: -1}), s.messages(), "the follower's order is the buffers' time order")
}

// TestStreamFollowHoldsAtMost: a line that a service leaves unfinished,
// while it goes on writing to it, holds back later entries of the other
// services for MaxHold at most.
func TestStreamFollowHoldsAtMost(t *testing.T) {
	hold := maxHold
	maxHold = 50 * time.Millisecond
	defer func() { maxHold = hold }()
	open, other := NewBuffer(0), NewBuffer(0)
	wo, wb := NewWriter("open", open, nil), NewWriter("other", other, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newSink()
	done := make(chan error, 1)
	go func() { done <- Stream(ctx, []*Buffer{open, other}, StreamOptions{Follow: true}, s) }()
	<-s.idle

	io.WriteString(wo, "progress: ")
	io.WriteString(wb, "later\n")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		// Never idle for PartialLineWait: the open line is not due.
		defer wg.Done()
		tick := time.NewTicker(PartialLineWait / 4)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				io.WriteString(wo, ".")
			}
		}
	}()
	deadline := time.After(10 * time.Second)
	for len(s.messages()) == 0 {
		select {
		case <-s.idle:
		case <-deadline:
			t.Fatal("the entry after the open line was held back for good")
		}
	}
	close(stop)
	wg.Wait()
	assert.Equal(t, []string{"other:later"}, s.messages())
	cancel()
	require.NoError(t, <-done)
}
