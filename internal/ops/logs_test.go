package ops

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/logs"
)

// sinkRecorder collects entries and signals each Idle.
type sinkRecorder struct {
	mu      sync.Mutex
	entries []logs.Entry
	idle    chan struct{}
}

func newSink() *sinkRecorder { return &sinkRecorder{idle: make(chan struct{}, 1000)} }

func (s *sinkRecorder) Entry(e logs.Entry) error {
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
	out := make([]string, len(s.entries))
	for i, e := range s.entries {
		out[i] = e.Service + ":" + e.Message
	}
	return out
}

const logsLayer = `
services:
    a:
        override: replace
        command: /bin/sh -c 'for i in $(seq 1 40); do echo a$i; done; sleep 0.6; echo a-late; exec sleep 300'
    b:
        override: replace
        command: /bin/sh -c 'sleep 0.3; echo b1; exec sleep 300'
    never:
        override: replace
        command: sleep 300
`

func readLogs(t *testing.T, o *Ops, opts LogsOptions) []string {
	t.Helper()
	s := newSink()
	require.NoError(t, o.Logs(context.Background(), opts, s))
	return s.messages()
}

func TestLogs(t *testing.T) {
	o := newOps(t, logsLayer)
	run(t, o, "start", "a", "b")
	buf := o.services.Buffer("a")
	require.NotNil(t, buf)
	deadline := time.Now().Add(10 * time.Second)
	for {
		lines, _ := buf.LastLines(1)
		if len(lines) == 1 && lines[0] == "a-late" {
			break
		}
		require.True(t, time.Now().Before(deadline), "service a did not write its output")
		time.Sleep(10 * time.Millisecond)
	}

	all := readLogs(t, o, LogsOptions{N: -1})
	require.Len(t, all, 42)
	// b1 was written after a's first burst and before a-late.
	assert.Equal(t, "b:b1", all[40], "services merged in time order: %q", all)
	assert.Equal(t, "a:a-late", all[41])
	for i := range 40 {
		assert.Equal(t, fmt.Sprintf("a:a%d", i+1), all[i])
	}

	assert.Equal(t, all[12:], readLogs(t, o, LogsOptions{N: 30}))
	assert.Equal(t, all[39:], readLogs(t, o, LogsOptions{N: 3}))
	assert.Empty(t, readLogs(t, o, LogsOptions{N: 0}))
	assert.Equal(t, []string{"b:b1"}, readLogs(t, o, LogsOptions{Services: []string{"b", "never", "nope"}, N: -1}))
	assert.Equal(t, []string{"a:a-late"}, readLogs(t, o, LogsOptions{Services: []string{"a", "a"}, N: 1}))
}

func TestLogsFollow(t *testing.T) {
	o := newOps(t, logsLayer)
	run(t, o, "start", "b")
	buf := o.services.Buffer("b")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if lines, _ := buf.LastLines(1); len(lines) == 1 {
			break
		}
		require.True(t, time.Now().Before(deadline), "service b did not write its output")
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := newSink()
	done := make(chan error, 1)
	go func() { done <- o.Logs(ctx, LogsOptions{N: 5, Follow: true}, s) }()
	<-s.idle
	assert.Equal(t, []string{"b:b1"}, s.messages())

	// New output reaches the follower: write into b's buffer as its
	// service would.
	w := logs.NewWriter("b", buf, nil)
	fmt.Fprintf(w, "more\n")
	waitIdle := func(n int) {
		t.Helper()
		for len(s.messages()) < n {
			select {
			case <-s.idle:
			case <-time.After(10 * time.Second):
				t.Fatalf("follower got %q", s.messages())
			}
		}
	}
	waitIdle(2)
	assert.Equal(t, []string{"b:b1", "b:more"}, s.messages())
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Logs did not return after its context ended")
	}
}
