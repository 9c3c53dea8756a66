package execs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/testutil"
)

func TestMain(m *testing.M) { testutil.MainWithReaper(m) }

// harness serves a Manager's websockets over HTTP, as the daemon does.
type harness struct {
	t   *testing.T
	m   *Manager
	srv *httptest.Server

	mu   sync.Mutex
	next int
}

func newHarness(t *testing.T, opts Options) *harness {
	h := &harness{t: t, m: New(opts)}
	upgrader := websocket.Upgrader{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(r.URL.Path, "/") // /<task>/<ws>
		sock, err := h.m.Socket(parts[1], parts[2])
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			sock.Abandon()
			return
		}
		sock.Attach(conn)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// add registers cmd and runs its task in the background; the returned
// channel delivers Run's result.
func (h *harness) add(ctx context.Context, cmd Command) (string, <-chan result) {
	h.mu.Lock()
	h.next++
	id := fmt.Sprint(h.next)
	h.mu.Unlock()
	if cmd.Path == "" {
		path, err := exec.LookPath(cmd.Args[0])
		require.NoError(h.t, err)
		cmd.Path = path
	}
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cmd.Dir = "/"
	h.m.Add(cmd, func() string { return id })
	done := make(chan result, 1)
	go func() {
		code, err := h.m.Run(ctx, id)
		done <- result{code, err}
	}()
	return id, done
}

type result struct {
	code int
	err  error
}

func (h *harness) dial(taskID, id string) *websocket.Conn {
	h.t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(h.srv.URL, "http")+"/"+taskID+"/"+id, nil)
	require.NoError(h.t, err)
	h.t.Cleanup(func() { conn.Close() })
	return conn
}

// readAll reads a data websocket until its end message.
func readAll(t *testing.T, conn *websocket.Conn) string {
	t.Helper()
	var b strings.Builder
	for {
		typ, data, err := conn.ReadMessage()
		require.NoError(t, err)
		if typ == websocket.TextMessage {
			require.Equal(t, `{"command":"end"}`, string(data))
			return b.String()
		}
		b.Write(data)
	}
}

func wait(t *testing.T, done <-chan result) result {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return")
		return result{}
	}
}

func TestSplitOutputStdinAndExitCode(t *testing.T) {
	h := newHarness(t, Options{})
	id, done := h.add(t.Context(), Command{
		Args:        []string{"sh", "-c", "cat; echo err >&2; exit 3"},
		SplitStderr: true,
	})
	control := h.dial(id, Control)
	stdio := h.dial(id, Stdio)
	stderr := h.dial(id, Stderr)
	require.NoError(t, stdio.WriteMessage(websocket.BinaryMessage, []byte("in\n")))
	require.NoError(t, stdio.WriteMessage(websocket.TextMessage, []byte(`{"command":"end"}`)))
	assert.Equal(t, "in\n", readAll(t, stdio))
	assert.Equal(t, "err\n", readAll(t, stderr))
	r := wait(t, done)
	assert.NoError(t, r.err)
	assert.Equal(t, 3, r.code)
	// The daemon closes control once the command has exited.
	_, _, err := control.ReadMessage()
	assert.True(t, websocket.IsCloseError(err, websocket.CloseNormalClosure), "%v", err)
}

func TestConnectWindow(t *testing.T) {
	h := newHarness(t, Options{ConnectWindow: 50 * time.Millisecond})
	id, done := h.add(t.Context(), Command{Args: []string{"true"}})
	r := wait(t, done)
	assert.Equal(t, -1, r.code)
	assert.EqualError(t, r.err, "exec "+id+": timeout waiting for websocket connections: context deadline exceeded")
	_, err := h.m.Socket(id, Stdio)
	assert.ErrorIs(t, err, ErrFailed)
}

func TestSocketErrors(t *testing.T) {
	h := newHarness(t, Options{})
	ctx, cancel := context.WithCancel(t.Context())
	id, done := h.add(ctx, Command{Args: []string{"true"}})
	_, err := h.m.Socket(id, Stderr)
	assert.ErrorIs(t, err, ErrNoSocket)
	_, err = h.m.Socket("nope", Stdio)
	assert.ErrorIs(t, err, ErrNoSession)
	sock, err := h.m.Socket(id, Control)
	require.NoError(t, err)
	_, err = h.m.Socket(id, Control)
	assert.ErrorIs(t, err, ErrConnected)
	sock.Abandon()
	_, err = h.m.Socket(id, Control)
	assert.NoError(t, err, "abandoned reservations are free again")
	cancel()
	r := wait(t, done)
	assert.ErrorIs(t, r.err, context.Canceled)
}

// A control websocket that arrives after the command finished is accepted
// and closed cleanly, not refused.
func TestLateControlIsClosedCleanly(t *testing.T) {
	h := newHarness(t, Options{})
	id, done := h.add(t.Context(), Command{Args: []string{"true"}})
	stdio := h.dial(id, Stdio)
	assert.Equal(t, "", readAll(t, stdio))
	r := wait(t, done)
	require.NoError(t, r.err)
	control := h.dial(id, Control)
	_, _, err := control.ReadMessage()
	assert.True(t, websocket.IsCloseError(err, websocket.CloseNormalClosure), "%v", err)
}

func TestTimeoutKillsProcessGroup(t *testing.T) {
	h := newHarness(t, Options{})
	marker := fmt.Sprintf("%d", 5000+os.Getpid()%1000)
	id, done := h.add(t.Context(), Command{
		Args:    []string{"sh", "-c", "sleep " + marker + " & echo $!; wait"},
		Timeout: 200 * time.Millisecond,
	})
	h.dial(id, Control)
	stdio := h.dial(id, Stdio)
	out := readAll(t, stdio)
	r := wait(t, done)
	assert.Equal(t, -1, r.code)
	assert.EqualError(t, r.err, "timed out after 200ms: context deadline exceeded")
	var pid int
	fmt.Sscan(out, &pid)
	require.NotZero(t, pid)
	// The background sleep was in the group: killed (and re-parented to
	// us as the subreaper, then reaped).
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		require.True(t, time.Now().Before(deadline), "sleep %d still running", pid)
		time.Sleep(10 * time.Millisecond)
	}
}

func TestControlDropKills(t *testing.T) {
	h := newHarness(t, Options{})
	id, done := h.add(t.Context(), Command{Args: []string{"sh", "-c", "echo up; exec sleep 1000"}})
	control := h.dial(id, Control)
	stdio := h.dial(id, Stdio)
	_, data, err := stdio.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, "up\n", string(data))
	control.NetConn().Close() // no close frame
	r := wait(t, done)
	assert.NoError(t, r.err)
	assert.Equal(t, 128+int(syscall.SIGKILL), r.code)
}

func TestControlSignalAndResize(t *testing.T) {
	h := newHarness(t, Options{})
	id, done := h.add(t.Context(), Command{
		Args:     []string{"sh", "-c", "trap 'stty size; exit 5' USR1; echo ready; while :; do sleep 0.02; done"},
		Terminal: true, Interactive: true, Width: 80, Height: 24,
	})
	control := h.dial(id, Control)
	stdio := h.dial(id, Stdio)
	var out strings.Builder
	for !strings.Contains(out.String(), "ready") {
		_, data, err := stdio.ReadMessage()
		require.NoError(t, err)
		out.Write(data)
	}
	require.NoError(t, control.WriteMessage(websocket.TextMessage, []byte(`{"command":"bogus"}`)))
	require.NoError(t, control.WriteMessage(websocket.TextMessage, []byte(`{"command":"resize","resize":{"width":132,"height":43}}`)))
	require.NoError(t, control.WriteMessage(websocket.TextMessage, []byte(`{"command":"signal","signal":{"name":"SIGUSR1"}}`)))
	out.WriteString(readAll(t, stdio))
	r := wait(t, done)
	assert.NoError(t, r.err)
	assert.Equal(t, 5, r.code)
	assert.Contains(t, out.String(), "43 132")
}

func TestStartFailure(t *testing.T) {
	h := newHarness(t, Options{})
	id, done := h.add(t.Context(), Command{Path: "/nonexistent/cmd", Args: []string{"cmd"}})
	h.dial(id, Stdio)
	r := wait(t, done)
	assert.Equal(t, -1, r.code)
	require.Error(t, r.err)
	assert.True(t, strings.HasPrefix(r.err.Error(), "cannot start command: "), r.err.Error())
	assert.True(t, errors.Is(r.err, os.ErrNotExist), r.err.Error())
}
