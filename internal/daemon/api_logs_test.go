package daemon

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/logs"
	"github.com/pebble-project/pebble/internal/ops"
)

func (f *fakeOps) Logs(ctx context.Context, opts ops.LogsOptions, sink ops.LogSink) error {
	return sink.Idle()
}

func (f *fakeOps) LogTargets() []logs.ForwardStatus { return nil }

// fakeLogsOps answers Logs with fixed entries and, when following, waits for
// the request to end.
type fakeLogsOps struct {
	*fakeOps
	entries  []logs.Entry
	got      chan ops.LogsOptions
	returned chan struct{}
}

func newLogsOps() *fakeLogsOps {
	return &fakeLogsOps{
		fakeOps: &fakeOps{},
		entries: []logs.Entry{
			{Time: time.Date(2026, 1, 20, 2, 11, 9, 361_000_000, time.UTC), Service: "svc1", Message: "Serving on <:5000> & more"},
			{Time: time.Date(2026, 1, 20, 2, 11, 9, 360_000_000, time.UTC), Service: "svc2", Message: "x"},
		},
		got:      make(chan ops.LogsOptions, 10),
		returned: make(chan struct{}, 10),
	}
}

func (l *fakeLogsOps) Logs(ctx context.Context, opts ops.LogsOptions, sink ops.LogSink) error {
	defer func() { l.returned <- struct{}{} }()
	l.got <- opts
	for _, e := range l.entries {
		if err := sink.Entry(e); err != nil {
			return err
		}
	}
	if err := sink.Idle(); err != nil || !opts.Follow {
		return err
	}
	<-ctx.Done()
	return nil
}

func (l *fakeLogsOps) LogTargets() []logs.ForwardStatus {
	return []logs.ForwardStatus{{Name: "t", Type: "loki", Location: "http://x", Services: []string{"a"}, Sent: 3, Dropped: 1,
		LostBytes: 7, Failures: 2, Pending: 4, LastError: "boom", LastErrorTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}
}

func TestLogsErrors(t *testing.T) {
	c := startDaemon(t, newLogsOps())
	for path, msg := range map[string]string{
		"/v1/logs?follow=yes": `follow parameter must be "true" or "false"`,
		"/v1/logs?follow=1":   `follow parameter must be "true" or "false"`,
		"/v1/logs?n=-2":       "n must be -1, 0, or a positive integer",
		"/v1/logs?n=x":        "n must be -1, 0, or a positive integer",
	} {
		status, body := do(t, c, "GET", path, "")
		assert.Equal(t, 400, status, path)
		assert.Equal(t, map[string]any{"message": msg}, body["result"], path)
	}
	status, _ := do(t, c, "POST", "/v1/logs", "")
	assert.Equal(t, 405, status)
}

func TestLogsOutput(t *testing.T) {
	o := newLogsOps()
	c := startDaemon(t, o)
	for path, want := range map[string]ops.LogsOptions{
		"/v1/logs":                 {N: 30},
		"/v1/logs?n=&follow=false": {N: 30},
		"/v1/logs?n=-1":            {N: -1},
		"/v1/logs?n=0&services=a,b&services=+c+,,": {N: 0, Services: []string{"a", "b", "c"}},
	} {
		resp, err := c.Get("http://localhost" + path)
		require.NoError(t, err)
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, "application/x-ndjson", resp.Header.Get("Content-Type"))
		assert.Equal(t, `{"time":"2026-01-20T02:11:09.361Z","service":"svc1","message":"Serving on <:5000> & more"}`+"\n"+
			`{"time":"2026-01-20T02:11:09.36Z","service":"svc2","message":"x"}`+"\n", string(data))
		assert.Equal(t, want, <-o.got, path)
		<-o.returned
	}
}

// TestLogsFollow checks that a following request streams without waiting
// for the handler to end, and that the handler ends when the client goes
// away, and when the daemon stops.
func TestLogsFollow(t *testing.T) {
	o := newLogsOps()
	socket := filepath.Join(t.TempDir(), ".pebble.socket")
	d, err := New(Options{SocketPath: socket, Ops: o, State: &fakeState{}})
	require.NoError(t, err)
	require.NoError(t, d.Listen())
	d.Serve()
	stopped := false
	defer func() {
		if !stopped {
			d.Stop()
		}
	}()
	c := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dialer net.Dialer
			return dialer.DialContext(ctx, "unix", socket)
		},
	}}
	follow := func() (*bufio.Reader, context.CancelFunc) {
		ctx, cancel := context.WithCancel(context.Background())
		req, err := http.NewRequestWithContext(ctx, "GET", "http://localhost/v1/logs?follow=true", nil)
		require.NoError(t, err)
		resp, err := c.Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { resp.Body.Close() })
		r := bufio.NewReader(resp.Body)
		for range o.entries {
			_, err := r.ReadString('\n')
			require.NoError(t, err)
		}
		assert.Equal(t, ops.LogsOptions{Follow: true}, <-o.got)
		return r, cancel
	}

	_, cancel := follow()
	cancel()
	select {
	case <-o.returned:
	case <-time.After(10 * time.Second):
		t.Fatal("Logs still running after the client went away")
	}

	r, cancel := follow()
	defer cancel()
	start := time.Now()
	d.Stop()
	stopped = true
	select {
	case <-o.returned:
	case <-time.After(10 * time.Second):
		t.Fatal("Logs still running after the daemon stopped")
	}
	assert.Less(t, time.Since(start), 900*time.Millisecond, "stop waited for the follow request's grace period")
	_, err = r.ReadString('\n')
	assert.Error(t, err)
}

func TestLogTargets(t *testing.T) {
	c := startDaemon(t, newLogsOps())
	status, body := do(t, c, "GET", "/v1/log-targets", "")
	assert.Equal(t, 200, status)
	assert.Equal(t, []any{map[string]any{
		"name": "t", "type": "loki", "location": "http://x", "services": []any{"a"},
		"sent": 3.0, "dropped": 1.0, "lost-bytes": 7.0, "failures": 2.0, "pending": 4.0,
		"last-error": "boom", "last-error-time": "2026-01-02T03:04:05Z",
	}}, body["result"])
	c2 := startDaemon(t, &fakeOps{})
	_, body = do(t, c2, "GET", "/v1/log-targets", "")
	assert.Equal(t, []any{}, body["result"])
}
