package daemon

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/apierr"
	"github.com/pebble-project/pebble/internal/execs"
)

// The fake verbs of the exec API; the real ones are tested in internal/ops,
// internal/execs and end to end in tests/. The files API works on real
// files.

func (f *fakeOps) Exec(ctx context.Context, req execs.Request) (execs.Started, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actions = append(f.actions, "exec")
	if f.err != nil {
		return execs.Started{}, f.err
	}
	if len(req.Command) == 0 {
		// As ops does: a started exec always has a command.
		return execs.Started{}, apierr.Errorf(apierr.BadRequest, "must specify command")
	}
	return execs.Started{ChangeID: "1", TaskID: "2", Environment: map[string]string{"PATH": "/bin"}, WorkingDir: "/"}, nil
}

func (f *fakeOps) ExecSocket(taskID, wsID string) (*execs.Socket, error) {
	return nil, &apierr.Error{Class: apierr.NotFound, Message: `cannot find task "` + taskID + `"`}
}

// startDaemonWithLog is startDaemon that also collects security events.
func startDaemonWithLog(t *testing.T, o Ops) (*http.Client, func() []string) {
	t.Helper()
	socket := filepath.Join(t.TempDir(), ".pebble.socket")
	var mu sync.Mutex
	var events []string
	d, err := New(withParts(Options{SocketPath: socket, Ops: o, State: &fakeState{}, BodyLimit: 1024,
		SecurityEvent: func(level, event, description string) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, level+" "+event+" "+description)
		}}))
	require.NoError(t, err)
	require.NoError(t, d.Listen())
	d.Serve()
	t.Cleanup(d.Stop)
	c := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dialer net.Dialer
			return dialer.DialContext(ctx, "unix", socket)
		},
	}}
	return c, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), events...)
	}
}

func TestPostExec(t *testing.T) {
	o := &fakeOps{}
	c, events := startDaemonWithLog(t, o)
	status, body := do(t, c, "POST", "/v1/exec", `{"command":["true"],"timeout":"soon"}`)
	assert.Equal(t, 400, status)
	assert.Equal(t, `invalid timeout: time: invalid duration "soon"`, body["result"].(map[string]any)["message"])

	status, body = do(t, c, "POST", "/v1/exec", `{"command":["true"],"timeout":null,"working-dir":null,"user-id":null}`)
	assert.Equal(t, 202, status)
	assert.Equal(t, map[string]any{
		"type": "async", "status-code": 202.0, "status": "Accepted", "change": "1",
		"result": map[string]any{"task-id": "2", "environment": map[string]any{"PATH": "/bin"}, "working-dir": "/"},
	}, body)
	require.Len(t, events(), 1)
	assert.Regexp(t, `^WARN authz_admin:\d+,exec Executing command true$`, events()[0])

	status, body = do(t, c, "GET", "/v1/tasks/5/websocket/control", "")
	assert.Equal(t, 404, status)
	assert.Equal(t, `cannot find task "5"`, body["result"].(map[string]any)["message"])
}

func TestPostFilesDispatch(t *testing.T) {
	o := &fakeOps{}
	c, events := startDaemonWithLog(t, o)
	post := func(contentType, body string) (int, map[string]any) {
		req, err := http.NewRequest("POST", "http://localhost/v1/files", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", contentType)
		resp, err := c.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var out map[string]any
		require.NoError(t, jsonDecode(resp.Body, &out))
		return resp.StatusCode, out
	}
	message := func(body map[string]any) string {
		return body["result"].(map[string]any)["message"].(string)
	}
	status, body := post("application/json; charset=utf-8", `{"action":"nope"}`)
	assert.Equal(t, 400, status)
	assert.Equal(t, `invalid action "nope"`, message(body))
	status, body = post("bad/type/x", "")
	assert.Equal(t, 400, status)
	assert.Equal(t, `invalid Content-Type "bad/type/x"`, message(body))

	// JSON bodies keep the body limit ...
	status, _ = post("application/json", `{"action":"remove","paths":[{"path":"`+strings.Repeat("x", 2000)+`"}]}`)
	assert.Equal(t, 413, status)

	// ... while a multipart write streams past it.
	boundary := strings.Repeat("0123456789abcdef", 2)
	content := strings.Repeat("y", 100000)
	target := filepath.Join(t.TempDir(), "a", "b")
	mp := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"request\"\r\n\r\n" +
		`{"action":"write","files":[{"path":"` + target + `","make-dirs":true}]}` + "\r\n--" + boundary +
		"\r\nContent-Disposition: form-data; name=\"files\"; filename=\"" + target + "\"\r\n\r\n" + content +
		"\r\n--" + boundary + "--\r\n"
	status, body = post("multipart/form-data; boundary="+boundary, mp)
	assert.Equal(t, 200, status, "%v", body)
	assert.Equal(t, []any{map[string]any{"path": target}}, body["result"])
	got, err := os.ReadFile(target)
	require.NoError(t, err, "written to the full path, not its base name")
	assert.Equal(t, content, string(got))
	assert.Regexp(t, `^WARN authz_admin:\d+,push_file Pushing file `+regexp.QuoteMeta(target)+`$`, events()[len(events())-1])
}

func jsonDecode(r io.Reader, v any) error {
	return json.NewDecoder(r).Decode(v)
}
