package daemon

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/logfwd"
	"github.com/pebble-project/pebble/internal/logs"
)

func (f *fakeOps) LogBuffers(names []string) []*logs.Buffer { return nil }

// fakeLogsOps answers LogBuffers with two buffers holding an entry each,
// and records the names it was asked for.
type fakeLogsOps struct {
	*fakeOps
	bufs  []*logs.Buffer
	names chan []string
}

// logLines are the lines of fakeLogsOps's buffers, as logs.Writer formats
// them.
var logLines = []string{
	"2026-01-20T02:11:09.361Z [svc1] Serving on <:5000> & more\n",
	"2026-01-20T02:11:09.360Z [svc2] x\n",
}

func newLogsOps() *fakeLogsOps {
	l := &fakeLogsOps{fakeOps: &fakeOps{}, names: make(chan []string, 10)}
	for _, line := range logLines {
		buf := logs.NewBuffer(0)
		io.WriteString(buf, line)
		l.bufs = append(l.bufs, buf)
	}
	return l
}

func (l *fakeLogsOps) LogBuffers(names []string) []*logs.Buffer {
	l.names <- names
	return l.bufs
}

// fakeTargets is a log forwarder with one target.
type fakeTargets struct{}

func (fakeTargets) Status() []logfwd.Status {
	return []logfwd.Status{{Name: "t", Type: "loki", Location: "http://x", Services: []string{"a"}, Sent: 3, Dropped: 1,
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
	// In time order, whatever the order of the buffers.
	both := `{"time":"2026-01-20T02:11:09.36Z","service":"svc2","message":"x"}` + "\n" +
		`{"time":"2026-01-20T02:11:09.361Z","service":"svc1","message":"Serving on <:5000> & more"}` + "\n"
	for path, want := range map[string]struct {
		names []string
		body  string
	}{
		"/v1/logs":                 {nil, both},
		"/v1/logs?n=&follow=false": {nil, both},
		"/v1/logs?n=-1":            {nil, both},
		"/v1/logs?n=1":             {nil, both[strings.Index(both, "\n")+1:]},
		"/v1/logs?n=0&services=a,b&services=+c+,,": {[]string{"a", "b", "c"}, ""},
	} {
		resp, err := c.Get("http://localhost" + path)
		require.NoError(t, err)
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, "application/x-ndjson", resp.Header.Get("Content-Type"))
		assert.Equal(t, want.body, string(data), path)
		assert.Equal(t, want.names, <-o.names, path)
	}
}

// TestLogsFollow checks that a following request streams without waiting
// for the handler to end, and that the handler ends when the client goes
// away, and when the daemon stops: its request log line, written once the
// handler returned, tells.
func TestLogsFollow(t *testing.T) {
	o := newLogsOps()
	socket := filepath.Join(t.TempDir(), ".pebble.socket")
	returned := make(chan string, 10)
	logf := func(format string, args ...any) {
		if line := fmt.Sprintf(format, args...); strings.Contains(line, "/v1/logs?follow=true&n=-1") {
			returned <- line
		}
	}
	d, err := New(withParts(Options{SocketPath: socket, Ops: o, State: &fakeState{}, Logf: logf}))
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
		req, err := http.NewRequestWithContext(ctx, "GET", "http://localhost/v1/logs?follow=true&n=-1", nil)
		require.NoError(t, err)
		resp, err := c.Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { resp.Body.Close() })
		r := bufio.NewReader(resp.Body)
		for range logLines {
			_, err := r.ReadString('\n')
			require.NoError(t, err)
		}
		assert.Nil(t, <-o.names)
		return r, cancel
	}

	_, cancel := follow()
	cancel()
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("Logs still running after the client went away")
	}

	r, cancel := follow()
	defer cancel()
	start := time.Now()
	d.Stop()
	stopped = true
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("Logs still running after the daemon stopped")
	}
	assert.Less(t, time.Since(start), 900*time.Millisecond, "stop waited for the follow request's grace period")
	_, err = r.ReadString('\n')
	assert.Error(t, err)
}

func TestLogTargets(t *testing.T) {
	c := startDaemonWith(t, Options{Ops: &fakeOps{}, LogTargets: fakeTargets{}})
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
