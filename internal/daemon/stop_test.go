package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/testutil"
)

const changesWait = "internal/changes.(*Manager).Wait"

// TestStopAnswersWaiters checks that Stop wakes a pending change wait and a
// notices long-poll, lets each write its answer (the change wait an error
// saying the daemon is stopping, the long-poll the notices so far: none)
// and returns without waiting out its grace period.
func TestStopAnswersWaiters(t *testing.T) {
	socket := filepath.Join(t.TempDir(), ".pebble.socket")
	const grace = 20 * time.Second
	d, err := New(withParts(Options{SocketPath: socket, Ops: &fakeOps{}, State: &fakeState{}, ShutdownGrace: grace}))
	require.NoError(t, err)
	require.NoError(t, d.Listen())
	d.Serve()
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return net.Dial("unix", socket)
	}}}
	defer c.CloseIdleConnections()

	type answer struct {
		status int
		body   string
		err    error
	}
	get := func(path string) <-chan answer {
		ch := make(chan answer, 1)
		go func() {
			resp, err := c.Get("http://localhost" + path)
			if err != nil {
				ch <- answer{err: err}
				return
			}
			defer resp.Body.Close()
			data, err := io.ReadAll(resp.Body)
			ch <- answer{resp.StatusCode, string(data), err}
		}()
		return ch
	}
	changeWait := get("/v1/changes/2/wait")
	noticesPoll := get("/v1/notices?types=custom&timeout=1h")
	testutil.WaitBlockedIn(t, 10*time.Second, 1, changesWait)
	testutil.WaitBlockedIn(t, 10*time.Second, 1, noticesWait)

	start := time.Now()
	d.Stop()
	took := time.Since(start)
	assert.Less(t, took, grace/2, "Stop waited out its grace")
	assert.NoFileExists(t, socket)

	a := <-changeWait
	require.NoError(t, a.err)
	assert.Equal(t, 500, a.status)
	assert.JSONEq(t, `{"type":"error","status-code":500,"status":"Internal Server Error","result":{"message":"daemon is stopping"}}`, a.body)
	a = <-noticesPoll
	require.NoError(t, a.err)
	assert.Equal(t, 200, a.status)
	var env struct{ Result json.RawMessage }
	require.NoError(t, json.Unmarshal([]byte(a.body), &env))
	assert.JSONEq(t, `[]`, string(env.Result))
}

// TestStopAnswersLateRequest checks that a request on a connection accepted
// before Stop but read only after it began is still answered, where
// http.Server.Shutdown would close the connection unanswered.
func TestStopAnswersLateRequest(t *testing.T) {
	socket := filepath.Join(t.TempDir(), ".pebble.socket")
	d, err := New(withParts(Options{SocketPath: socket, Ops: &fakeOps{}, State: &fakeState{}, ShutdownGrace: 20 * time.Second}))
	require.NoError(t, err)
	require.NoError(t, d.Listen())
	d.Serve()
	conn, err := net.Dial("unix", socket)
	require.NoError(t, err)
	defer conn.Close()
	waitAccepted(t, d)
	stopped := make(chan struct{})
	go func() {
		d.Stop()
		close(stopped)
	}()
	testutil.WaitFor(t, 10*time.Second, func() error {
		if d.api.stopping.Err() == nil {
			return errors.New("Stop has not begun")
		}
		return nil
	})
	_, err = io.WriteString(conn, "GET /v1/changes/2/wait HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, 500, resp.StatusCode)
	assert.True(t, resp.Close, "the answer closes the connection")
	<-stopped
}

// TestStopClosesSilentConnection checks that a connection that sends no
// request holds Stop up for the grace period only, and is reported.
func TestStopClosesSilentConnection(t *testing.T) {
	socket := filepath.Join(t.TempDir(), ".pebble.socket")
	logged := make(chan string, 1)
	const grace = 100 * time.Millisecond
	d, err := New(withParts(Options{SocketPath: socket, Ops: &fakeOps{}, State: &fakeState{}, ShutdownGrace: grace,
		Logf: func(format string, args ...any) { logged <- fmt.Sprintf(format, args...) }}))
	require.NoError(t, err)
	require.NoError(t, d.Listen())
	d.Serve()
	conn, err := net.Dial("unix", socket)
	require.NoError(t, err)
	defer conn.Close()
	waitAccepted(t, d)
	start := time.Now()
	d.Stop()
	assert.GreaterOrEqual(t, time.Since(start), grace)
	assert.Equal(t, "Cannot answer every request before stopping: closing 1 connections.", <-logged)
	_, err = conn.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF, "the connection is closed")
}

// waitAccepted waits until d's server has accepted a connection.
func waitAccepted(t *testing.T, d *Daemon) {
	testutil.WaitFor(t, 10*time.Second, func() error {
		if d.conns.count() == 0 {
			return errors.New("no connection accepted")
		}
		return nil
	})
}
