package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/apierr"
	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/servstate"
	"github.com/pebble-project/pebble/internal/testutil"
)

// fakeOps records calls and returns canned answers, as Ops and as
// Services; the real verbs are tested in internal/ops and internal/servstate
// and end to end in tests/.
type fakeOps struct {
	mu      sync.Mutex
	actions []string
	err     error
}

func (f *fakeOps) AppendServices(infos []servstate.ServiceInfo, names []string) []servstate.ServiceInfo {
	return append(infos, []servstate.ServiceInfo{
		{Name: "a", Startup: "enabled", Current: "active", CurrentSince: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		{Name: "b", Startup: "disabled", Current: "inactive"},
	}...)
}

// Usage has figures for "a" only, as if "b" had never started.
func (f *fakeOps) Usage(names []string) []servstate.Usage {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actions = append(f.actions, "usage")
	return []servstate.Usage{{Name: "a", Measures: servstate.Measures{CPU: 1500 * time.Millisecond, Memory: 4096, Processes: 2}}}
}

func (f *fakeOps) ServiceAction(action string, names []string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actions = append(f.actions, action+" "+strings.Join(names, ","))
	if f.err != nil {
		return "", f.err
	}
	return "42", nil
}

func (f *fakeOps) AddLayer(layer *plan.Layer, combine, inner bool) error {
	return f.err
}

func (f *fakeOps) SendSignal(names []string, signal string) error { return f.err }

// fakeState counts the syncs of the state file (Sync and Durable) and
// fails them, and Writable, with err.
type fakeState struct {
	mu    sync.Mutex
	syncs int
	err   error
}

func (s *fakeState) Writable(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *fakeState) Sync(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncs++
	return s.err
}

func (s *fakeState) Durable(ctx context.Context) error { return s.Sync(ctx) }

func (s *fakeState) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.syncs
}

func startDaemon(t *testing.T, o Ops) *http.Client {
	t.Helper()
	return startDaemonWith(t, Options{Ops: o})
}

// startDaemonWith serves opts, with a fresh socket when it names none,
// version "v-test", boot ID "boot" and a body limit of 1024 bytes unless
// set.
func startDaemonWith(t *testing.T, opts Options) *http.Client {
	t.Helper()
	if opts.SocketPath == "" {
		opts.SocketPath = filepath.Join(t.TempDir(), ".pebble.socket")
	}
	if opts.Version == "" {
		opts.Version, opts.BootID = "v-test", "boot"
	}
	if opts.BodyLimit == 0 {
		opts.BodyLimit = 1024
	}
	if opts.State == nil {
		opts.State = &fakeState{}
	}
	d, err := New(withParts(opts))
	require.NoError(t, err)
	require.NoError(t, d.Listen())
	d.Serve()
	t.Cleanup(d.Stop)
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dialer net.Dialer
			return dialer.DialContext(ctx, "unix", opts.SocketPath)
		},
	}}
}

func do(t *testing.T, c *http.Client, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, "http://localhost"+path, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var out map[string]any
	require.NoError(t, json.Unmarshal(data, &out), "body %q", data)
	return resp.StatusCode, out
}

func TestEnvelopes(t *testing.T) {
	c := startDaemon(t, &fakeOps{})
	tests := []struct {
		name, method, path, body string
		status                   int
		want                     map[string]any
	}{
		{"system-info", "GET", "/v1/system-info", "", 200, map[string]any{
			"type": "sync", "status-code": 200.0, "status": "OK",
			"result": map[string]any{"boot-id": "boot", "version": "v-test"}}},
		{"async", "POST", "/v1/services", `{"action":"start","services":["a"]}`, 202, map[string]any{
			"type": "async", "status-code": 202.0, "status": "Accepted", "change": "42", "result": nil}},
		{"unknown path", "GET", "/v1/nope", "", 404, map[string]any{
			"type": "error", "status-code": 404.0, "status": "Not Found",
			"result": map[string]any{"message": "invalid API endpoint requested"}}},
		{"bad method", "DELETE", "/v1/services", "", 405, map[string]any{
			"type": "error", "status-code": 405.0, "status": "Method Not Allowed",
			"result": map[string]any{"message": `method "DELETE" not allowed`}}},
		{"post on get-only", "POST", "/v1/plan", "", 405, map[string]any{
			"type": "error", "status-code": 405.0, "status": "Method Not Allowed",
			"result": map[string]any{"message": `method "POST" not allowed`}}},
		{"bad json", "POST", "/v1/services", `{"action":`, 400, map[string]any{
			"type": "error", "status-code": 400.0, "status": "Bad Request",
			"result": map[string]any{"message": "cannot decode data from request body: unexpected EOF"}}},
		{"empty body", "POST", "/v1/services", ``, 400, map[string]any{
			"type": "error", "status-code": 400.0, "status": "Bad Request",
			"result": map[string]any{"message": "cannot decode data from request body: EOF"}}},
		{"two values", "POST", "/v1/services", `{"action":"start","services":["a"]} {}`, 400, map[string]any{
			"type": "error", "status-code": 400.0, "status": "Bad Request",
			"result": map[string]any{"message": "cannot decode data from request body: unexpected data after JSON value"}}},
		{"services by name", "GET", "/v1/services/a", "", 400, map[string]any{
			"type": "error", "status-code": 400.0, "status": "Bad Request",
			"result": map[string]any{"message": "not implemented"}}},
		{"change not found", "GET", "/v1/changes/9", "", 404, map[string]any{
			"type": "error", "status-code": 404.0, "status": "Not Found",
			"result": map[string]any{"message": `cannot find change with id "9"`}}},
		{"plan format", "GET", "/v1/plan", "", 400, map[string]any{
			"type": "error", "status-code": 400.0, "status": "Bad Request",
			"result": map[string]any{"message": `invalid format ""`}}},
		{"plan", "GET", "/v1/plan?format=yaml", "", 200, map[string]any{
			"type": "sync", "status-code": 200.0, "status": "OK", "result": "{}\n"}},
		{"health", "GET", "/v1/health?level=ready", "", 200, map[string]any{
			"type": "sync", "status-code": 200.0, "status": "OK", "result": map[string]any{"healthy": true}}},
		{"health level", "GET", "/v1/health?level=up", "", 400, map[string]any{
			"type": "error", "status-code": 400.0, "status": "Bad Request",
			"result": map[string]any{"message": `level must be "alive" or "ready"`}}},
		{"select", "GET", "/v1/changes?select=some", "", 400, map[string]any{
			"type": "error", "status-code": 400.0, "status": "Bad Request",
			"result": map[string]any{"message": "select should be one of: all,in-progress,ready"}}},
		{"no changes", "GET", "/v1/changes?select=all&for=nobody", "", 200, map[string]any{
			"type": "sync", "status-code": 200.0, "status": "OK", "result": []any{}}},
		{"signals without services", "POST", "/v1/signals", `{"signal":"SIGHUP"}`, 400, map[string]any{
			"type": "error", "status-code": 400.0, "status": "Bad Request",
			"result": map[string]any{"message": "must specify one or more services"}}},
		{"layer label", "POST", "/v1/layers", `{"action":"add","format":"yaml"}`, 400, map[string]any{
			"type": "error", "status-code": 400.0, "status": "Bad Request",
			"result": map[string]any{"message": "label must be set"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := do(t, c, tt.method, tt.path, tt.body)
			assert.Equal(t, tt.status, status)
			assert.Equal(t, tt.want, body)
		})
	}
}

func TestServicesJSON(t *testing.T) {
	o := &fakeOps{}
	c := startDaemon(t, o)
	want := []any{
		map[string]any{"name": "a", "startup": "enabled", "current": "active", "current-since": "2026-01-02T03:04:05Z"},
		map[string]any{"name": "b", "startup": "disabled", "current": "inactive"},
	}
	for _, query := range []string{"", "&stats=false"} {
		_, body := do(t, c, "GET", "/v1/services?names=a,b"+query, "")
		assert.Equal(t, want, body["result"])
	}
	assert.Empty(t, o.actions, "usage is read only on request")

	_, body := do(t, c, "GET", "/v1/services?names=a,b&stats=true", "")
	want[0].(map[string]any)["stats"] = map[string]any{"cpu-seconds": 1.5, "cpu-user-seconds": 0.0, "cpu-system-seconds": 0.0, "memory-bytes": 4096.0, "processes": 2.0, "starts": 0.0, "oom-kills": 0.0}
	assert.Equal(t, want, body["result"])
	assert.Equal(t, []string{"usage"}, o.actions)

	status, body := do(t, c, "GET", "/v1/services?stats=yes", "")
	assert.Equal(t, 400, status)
	assert.Equal(t, `stats parameter must be "true" or "false"`, body["result"].(map[string]any)["message"])
}

// TestMetricsConcatenated checks that GET /v1/metrics serves the sources'
// families in order, and fails as api.md §8 says when a family would be
// written twice (Prometheus rejects a second "# HELP" for a name).
func TestMetricsConcatenated(t *testing.T) {
	get := func(sources ...MetricsSource) (int, string) {
		socket := filepath.Join(t.TempDir(), ".pebble.socket")
		d, err := New(withParts(Options{SocketPath: socket, Ops: &fakeOps{}, State: &fakeState{}, Metrics: sources}))
		require.NoError(t, err)
		require.NoError(t, d.Listen())
		d.Serve()
		defer d.Stop()
		c := &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return net.Dial("unix", socket)
			},
		}}
		resp, err := c.Get("http://localhost/v1/metrics")
		require.NoError(t, err)
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(data)
	}
	status, text := get(fakeMetrics("b"), fakeMetrics("a"))
	assert.Equal(t, 200, status)
	assert.Equal(t, "# HELP b help\n# TYPE b gauge\nb 1\n\n# HELP a help\n# TYPE a gauge\na 1\n\n", text)
	status, text = get(fakeMetrics("a"), fakeMetrics("a"))
	assert.Equal(t, 500, status)
	assert.Equal(t, "# internal server error\n", text)
}

func TestChangeJSON(t *testing.T) {
	c := startDaemon(t, &fakeOps{})
	_, body := do(t, c, "GET", "/v1/changes/1/wait?timeout=1s", "")
	assert.Equal(t, map[string]any{
		"id": "1", "kind": "start", "summary": `Start service "a"`, "status": "Done", "ready": true,
		"spawn-time": "2026-01-02T03:04:05Z", "ready-time": "2026-01-02T03:04:05Z",
	}, body["result"])
}

// TestAbortChange: the changes manager's errors get their statuses and
// texts; an abort answers with the change as it is right after.
func TestAbortChange(t *testing.T) {
	c := startDaemon(t, &fakeOps{})
	status, body := do(t, c, "POST", "/v1/changes/99", `{"action":"abort"}`)
	assert.Equal(t, 404, status)
	assert.Equal(t, map[string]any{"message": `cannot find change with id "99"`}, body["result"])
	status, body = do(t, c, "POST", "/v1/changes/1", `{"action":"abort"}`)
	assert.Equal(t, 400, status)
	assert.Equal(t, map[string]any{"message": "cannot abort change 1 with nothing pending"}, body["result"])
	status, body = do(t, c, "POST", "/v1/changes/2", `{"action":"abort"}`)
	assert.Equal(t, 200, status)
	assert.Equal(t, "Hold", body["result"].(map[string]any)["status"])
	assert.Equal(t, true, body["result"].(map[string]any)["ready"])
}

func TestWaitTimeout(t *testing.T) {
	c := startDaemon(t, &fakeOps{})
	status, body := do(t, c, "GET", "/v1/changes/2/wait?timeout=50ms", "")
	assert.Equal(t, 504, status)
	assert.Equal(t, map[string]any{"message": "timed out waiting for change after 50ms"}, body["result"])
	status, body = do(t, c, "GET", "/v1/changes/1/wait?timeout=x", "")
	assert.Equal(t, 400, status)
	assert.Equal(t, map[string]any{"message": `invalid timeout: time: invalid duration "x"`}, body["result"])
}

func TestOpsErrorKinds(t *testing.T) {
	o := &fakeOps{err: &apierr.Error{Class: apierr.BadRequest, Kind: "no-default-services", Message: "no default services"}}
	c := startDaemon(t, o)
	status, body := do(t, c, "POST", "/v1/services", `{"action":"autostart"}`)
	assert.Equal(t, 400, status)
	assert.Equal(t, map[string]any{"message": "no default services", "kind": "no-default-services"}, body["result"])
}

func TestBodyTooLarge(t *testing.T) {
	o := &fakeOps{}
	c := startDaemon(t, o)
	big := `{"action":"add","label":"x","format":"yaml","layer":"` + strings.Repeat("a", 4096) + `"}`
	status, body := do(t, c, "POST", "/v1/layers", big)
	assert.Equal(t, 413, status)
	assert.Equal(t, "error", body["type"])
	assert.Equal(t, map[string]any{"message": "request body too large: limit is 1024 bytes"}, body["result"])
	// A chunked body, with no Content-Length to refuse it by, gets the
	// same answer once 1024 bytes are read.
	req, err := http.NewRequest("POST", "http://localhost/v1/layers", strings.NewReader(big))
	require.NoError(t, err)
	req.ContentLength = -1
	resp, err := c.Do(req)
	require.NoError(t, err)
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, 413, resp.StatusCode)
	assert.Contains(t, string(data), `"message":"request body too large: limit is 1024 bytes"`)
	assert.Empty(t, o.actions)
}

// TestReadBody reads bodies around the block size in small reads and
// gets each whole, and passes on an error in the middle.
func TestReadBody(t *testing.T) {
	for _, size := range []int{0, 1, bodyBlock - 1, bodyBlock, bodyBlock + 1, 3*bodyBlock + 7} {
		want := make([]byte, size)
		for i := range want {
			want[i] = byte(i % 251)
		}
		got, err := readBody(iotest.HalfReader(bytes.NewReader(want)))
		require.NoError(t, err, "size %d", size)
		assert.True(t, bytes.Equal(want, got), "size %d: got %d bytes", size, len(got))
	}
	broken := io.MultiReader(strings.NewReader(strings.Repeat("a", bodyBlock+5)), iotest.ErrReader(io.ErrUnexpectedEOF))
	_, err := readBody(broken)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

func TestSocketInUse(t *testing.T) {
	socket := filepath.Join(t.TempDir(), ".pebble.socket")
	d, err := New(withParts(Options{SocketPath: socket, Ops: &fakeOps{}, State: &fakeState{}}))
	require.NoError(t, err)
	require.NoError(t, d.Listen())
	d.Serve()
	defer d.Stop()
	d2, err := New(withParts(Options{SocketPath: socket, Ops: &fakeOps{}, State: &fakeState{}}))
	require.NoError(t, err)
	err = d2.Listen()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "already in use")
}

func TestStaleSocketReplaced(t *testing.T) {
	socket := filepath.Join(t.TempDir(), ".pebble.socket")
	l, err := net.Listen("unix", socket)
	require.NoError(t, err)
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	c := startDaemonAt(t, socket, &fakeOps{})
	status, _ := do(t, c, "GET", "/v1/system-info", "")
	assert.Equal(t, 200, status)
}

func startDaemonAt(t *testing.T, socket string, o Ops) *http.Client {
	d, err := New(withParts(Options{SocketPath: socket, Ops: o, State: &fakeState{}}))
	require.NoError(t, err)
	require.NoError(t, d.Listen())
	d.Serve()
	t.Cleanup(d.Stop)
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return net.Dial("unix", socket)
		},
	}}
}

func TestAccessTable(t *testing.T) {
	uid := func(u uint32) *uint32 { return &u }
	tests := []struct {
		cl   caller
		need accessLevel
		want bool
	}{
		{caller{transport: transportUnix, peerUID: uid(0)}, accessAdmin, true},
		{caller{transport: transportUnix, peerUID: uid(12345)}, accessRead, true},
		{caller{transport: transportUnix, peerUID: uid(12345)}, accessAdmin, false},
		{caller{transport: transportUnix}, accessRead, false},
		{caller{transport: transportUnix}, accessOpen, true},
		{caller{transport: transportHTTP}, accessOpen, true},
		{caller{transport: transportHTTP}, accessRead, false},
		{caller{transport: transportHTTP}, accessMetrics, false},
	}
	for _, tt := range tests {
		// No identity matched: the default level of the transport applies.
		tt.cl.level = tt.cl.defaultLevel()
		assert.Equal(t, tt.want, tt.cl.allowed(tt.need), "%+v needs %d", tt.cl, tt.need)
	}
}

func TestEveryEndpointHasAccess(t *testing.T) {
	for _, e := range endpoints {
		assert.True(t, e.get != nil || e.post != nil, e.path)
		assert.True(t, strings.HasPrefix(e.path, "/v1/"), e.path)
	}
}

// TestUndeclaredAccessRefused checks that a route method that leaves out
// its access level cannot be built, so it is never open to everyone by
// default, and that the zero level lets no caller through.
func TestUndeclaredAccessRefused(t *testing.T) {
	table := []endpoint{{path: "/v1/new-verb", get: &method{handle: (*api).getPlan, durability: volatile}}}
	assert.PanicsWithValue(t, "daemon: GET /v1/new-verb declares no access", func() { newRouter(&api{}, table) })
	table[0].get.access = accessAdmin
	assert.NotPanics(t, func() { newRouter(&api{}, table) })

	root := uint32(0)
	admin := &caller{transport: transportUnix, peerUID: &root, level: accessAdmin}
	assert.False(t, admin.allowed(accessUndeclared))
	assert.True(t, admin.allowed(accessAdmin))
}

// TestUndeclaredDurabilityRefused checks that a route table with a method
// that does not say whether its response waits for the state file cannot
// be built: forgetting is a panic at start-up, not a silent loss.
func TestUndeclaredDurabilityRefused(t *testing.T) {
	table := []endpoint{{path: "/v1/new-verb", post: &method{handle: (*api).postSignals, access: accessAdmin}}}
	assert.PanicsWithValue(t, "daemon: POST /v1/new-verb declares no durability", func() { newRouter(&api{}, table) })
	table[0].post.durability = volatile
	assert.NotPanics(t, func() { newRouter(&api{}, table) })

	// An async response names a new change: it waits for the state file
	// even where its method was declared volatile.
	state := &fakeState{}
	o := &fakeOps{}
	a := &api{ops: o, notices: o.backend().notices, state: state, logf: func(string, ...any) {}, logLine: func([]byte) {}, bodyLimit: 1024}
	table[0].post = &method{func(*api, *http.Request, *caller) response { return asyncResponse("7", nil) }, accessOpen, volatile}
	rec := httptest.NewRecorder()
	newRouter(a, table).ServeHTTP(rec, httptest.NewRequest("POST", "/v1/new-verb", nil))
	assert.Equal(t, 202, rec.Code)
	assert.Equal(t, 1, state.count())
}

// TestDurabilityGate checks that the server syncs the state file once
// before a durable or async response, never for a volatile one; that a
// write is refused with a 500, before anything is changed, when the state
// cannot be saved; and that reads are still answered then.
func TestDurabilityGate(t *testing.T) {
	state := &fakeState{}
	socket := filepath.Join(t.TempDir(), ".pebble.socket")
	d, err := New(withParts(Options{SocketPath: socket, Ops: &fakeOps{}, State: state}))
	require.NoError(t, err)
	require.NoError(t, d.Listen())
	d.Serve()
	t.Cleanup(d.Stop)
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return net.Dial("unix", socket)
	}}}
	tests := []struct {
		method, path, body string
		syncs              int
	}{
		{"GET", "/v1/services", "", 0},
		{"GET", "/v1/system-info", "", 0},
		{"GET", "/v1/plan?format=yaml", "", 0},
		{"POST", "/v1/services", `{"action":"start","services":["a"]}`, 1}, // async
		{"GET", "/v1/changes/1", "", 1},
		{"GET", "/v1/changes/1/wait?timeout=1s", "", 1},
		{"GET", "/v1/changes", "", 1},
		{"POST", "/v1/exec", `{"command":["true"]}`, 1}, // async
	}
	for _, tt := range tests {
		before := state.count()
		status, body := do(t, c, tt.method, tt.path, tt.body)
		require.Less(t, status, 300, "%s %s: %v", tt.method, tt.path, body)
		assert.Equal(t, tt.syncs, state.count()-before, "syncs for %s %s", tt.method, tt.path)
	}

	state.mu.Lock()
	state.err = errors.New("disk full")
	state.mu.Unlock()
	ops := d.opts.Ops.(*fakeOps)
	ops.mu.Lock()
	actions := len(ops.actions)
	ops.mu.Unlock()
	status, body := do(t, c, "POST", "/v1/services", `{"action":"start","services":["a"]}`)
	assert.Equal(t, 500, status)
	assert.Equal(t, map[string]any{"message": "cannot save state, so nothing was changed: disk full"}, body["result"])
	ops.mu.Lock()
	assert.Equal(t, actions, len(ops.actions), "a refused write reaches no verb")
	ops.mu.Unlock()
	status, _ = do(t, c, "GET", "/v1/services", "")
	assert.Equal(t, 200, status, "volatile responses do not wait for the state file")
	status, body = do(t, c, "GET", "/v1/changes/1", "")
	assert.Equal(t, 200, status, "a durable read is answered while the state cannot be saved: %v", body)
}

// TestMain lets the test binary act as an API client running as another
// user, so access levels are checked against real peer credentials.
func TestMain(m *testing.M) {
	if socket := os.Getenv("DAEMON_TEST_CLIENT_SOCKET"); socket != "" {
		c := &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return net.Dial("unix", socket)
			},
		}}
		req, _ := http.NewRequest(os.Getenv("DAEMON_TEST_CLIENT_METHOD"), "http://localhost"+os.Getenv("DAEMON_TEST_CLIENT_PATH"), strings.NewReader(`{"action":"start","services":["a"]}`))
		resp, err := c.Do(req)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(2)
		}
		body, _ := io.ReadAll(resp.Body)
		fmt.Printf("%d %s", resp.StatusCode, body)
		os.Exit(0)
	}
	testutil.Main(m)
}

func TestNonRootPeerIsRead(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a client as another user")
	}
	// The client runs as nobody, so its binary and the socket must be in a
	// directory nobody can reach (Go's temporary directories are 0700).
	dir, err := os.MkdirTemp("", "daemon-access-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	self, err := os.ReadFile(os.Args[0])
	require.NoError(t, err)
	clientBin := filepath.Join(dir, "client")
	require.NoError(t, os.WriteFile(clientBin, self, 0o755))
	socket := filepath.Join(dir, ".pebble.socket")
	o := &fakeOps{}
	startDaemonAt(t, socket, o)
	run := func(method, path string) string {
		cmd := exec.Command(clientBin)
		cmd.Env = append(os.Environ(), "DAEMON_TEST_CLIENT_SOCKET="+socket,
			"DAEMON_TEST_CLIENT_METHOD="+method, "DAEMON_TEST_CLIENT_PATH="+path)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	assert.Equal(t, "200 ", run("GET", "/v1/services")[:4])
	assert.Equal(t, `401 {"type":"error","status-code":401,"status":"Unauthorized","result":{"message":"access denied","kind":"login-required"}}`+"\n",
		run("POST", "/v1/services"))
	assert.Equal(t, "401 ", run("GET", "/v1/plan?format=yaml")[:4])
	assert.Equal(t, "200 ", run("GET", "/v1/system-info")[:4])
	assert.Empty(t, o.actions, "a read-level caller must not reach the verb")
}

func TestBodyInvalidUTF8(t *testing.T) {
	o := &fakeOps{}
	c := startDaemon(t, o)
	status, body := do(t, c, "POST", "/v1/services", "{\"action\":\"start\",\"services\":[\"a\xff\"]}")
	assert.Equal(t, 400, status)
	assert.Equal(t, map[string]any{"message": "cannot decode data from request body: invalid UTF-8"}, body["result"])
	assert.Empty(t, o.actions)
}

// TestAddLayerSecurityEvent: as in Pebble, adding a layer is an authz_admin
// event only once the layer parsed; a layer the plan then refuses still is.
func TestAddLayerSecurityEvent(t *testing.T) {
	o := &fakeOps{}
	c, events := startDaemonWithLog(t, o)
	status, body := do(t, c, "POST", "/v1/layers", `{"action":"add","label":"bad","format":"yaml","layer":"services: ["}`)
	assert.Equal(t, 400, status)
	assert.Contains(t, body["result"].(map[string]any)["message"], "cannot parse layer YAML: ")
	assert.Empty(t, events(), "a layer that does not parse is not logged")

	layer := `"services:\n  a:\n    override: replace\n    command: sleep 1\n"`
	status, _ = do(t, c, "POST", "/v1/layers", `{"action":"add","label":"good","format":"yaml","layer":`+layer+`}`)
	assert.Equal(t, 200, status)
	require.Len(t, events(), 1)
	assert.Regexp(t, `^WARN authz_admin:\d+,add_layer Adding layer good$`, events()[0])

	o.err = apierr.Errorf(apierr.BadRequest, `layer "good" already exists`)
	status, _ = do(t, c, "POST", "/v1/layers", `{"action":"add","label":"good","format":"yaml","layer":`+layer+`}`)
	assert.Equal(t, 400, status)
	require.Len(t, events(), 2)
	assert.Regexp(t, `^WARN authz_admin:\d+,add_layer Adding layer good$`, events()[1])
}

// TestSignalsErrors: what the service manager refuses is a 500 naming
// every service it could not signal, and why.
func TestSignalsErrors(t *testing.T) {
	svc, err := servstate.New(servstate.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(svc.Close)
	c := startDaemonWith(t, Options{Ops: &fakeOps{}, Services: svc})
	for _, tt := range []struct{ body, msg string }{
		{`{"signal":"SIGHUP","services":["a","b"]}`, `cannot send signal to "a": service is not running; cannot send signal to "b": service is not running`},
		{`{"signal":"SIGNOPE","services":["a"]}`, `cannot send signal to "a": invalid signal name "SIGNOPE"`},
	} {
		status, body := do(t, c, "POST", "/v1/signals", tt.body)
		assert.Equal(t, 500, status, tt.body)
		assert.Equal(t, map[string]any{"message": tt.msg}, body["result"], tt.body)
	}
}
