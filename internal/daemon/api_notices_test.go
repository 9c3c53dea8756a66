package daemon

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/changes"
	"github.com/pebble-project/pebble/internal/checks"
	"github.com/pebble-project/pebble/internal/checks/checker"
	"github.com/pebble-project/pebble/internal/identities"
	"github.com/pebble-project/pebble/internal/metrics"
	"github.com/pebble-project/pebble/internal/notices"
	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/testutil"
)

// backends gives every fakeOps real notice, identity, changes and checks
// managers, created on first use, so the API is tested against the real
// behaviour.
var backends sync.Map // *fakeOps → *backend

type backend struct {
	notices    *notices.Manager
	identities *identities.Manager
	// changes holds change "1", a Done start change, and change "2",
	// pending for ever: the manager is never started.
	changes *changes.Manager
	// checks has no plan, so it has no checks and reads healthy.
	checks *checks.Manager
}

func (f *fakeOps) backend() *backend {
	if b, ok := backends.Load(f); ok {
		return b.(*backend)
	}
	n, _ := notices.New(notices.Options{})
	ids, _ := identities.New(nil)
	spawn := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	chg, _ := changes.New(changes.Options{Now: func() time.Time { return spawn }})
	chg.AddDone(changes.NewChange{Kind: "start", Summary: `Start service "a"`})
	chg.Add(changes.NewChange{Kind: "stop", Summary: "blocked", Tasks: []changes.TaskSpec{{Kind: "stop", Summary: "never runs"}}})
	chk := checks.New(checks.Options{Changes: chg, NewChecker: func(c *plan.Check) checks.Checker { return checker.New(c) }})
	b, _ := backends.LoadOrStore(f, &backend{notices: n, identities: ids, changes: chg, checks: chk})
	return b.(*backend)
}

// emptyPlan is a plan without layers.
type emptyPlan struct{}

func (emptyPlan) Plan() *plan.Plan {
	p, _ := plan.NewPlan(nil)
	return p
}

// withParts gives opts the owners of its fakeOps' backend, where unset.
func withParts(opts Options) Options {
	b := opts.Ops.(interface{ backend() *backend }).backend()
	if opts.Services == nil {
		opts.Services = opts.Ops.(Services)
	}
	if opts.Changes == nil {
		opts.Changes = b.changes
	}
	if opts.Plan == nil {
		opts.Plan = emptyPlan{}
	}
	if opts.Notices == nil {
		opts.Notices = b.notices
	}
	if opts.Identities == nil {
		opts.Identities = b.identities
	}
	if opts.Checks == nil {
		opts.Checks = b.checks
	}
	return opts
}

// fakeMetrics writes one gauge family with the given name.
type fakeMetrics string

func (f fakeMetrics) WriteMetrics(w *metrics.Writer) {
	w.Write(metrics.Family{Name: string(f), Help: "help", Kind: metrics.Gauge, Samples: []metrics.Sample{{Value: 1}}})
}

func TestNoticesAPI(t *testing.T) {
	o := &fakeOps{}
	c := startDaemon(t, o)
	status, body := do(t, c, "POST", "/v1/notices", `{"action":"add","type":"custom","key":"example.com/a","data":{"k":"v"}}`)
	require.Equal(t, 200, status, "%v", body)
	assert.Equal(t, map[string]any{"id": "1"}, body["result"])

	status, body = do(t, c, "GET", "/v1/notices?keys=example.com/a", "")
	require.Equal(t, 200, status)
	list := body["result"].([]any)
	require.Len(t, list, 1)
	n := list[0].(map[string]any)
	assert.Equal(t, "custom", n["type"])
	assert.Equal(t, 0.0, n["user-id"], "the caller's UID (root)")
	assert.Equal(t, map[string]any{"k": "v"}, n["last-data"])
	assert.Equal(t, "168h0m0s", n["expire-after"])

	tests := []struct {
		method, path, body string
		status             int
		msg                string
	}{
		{"POST", "/v1/notices", `{"action":"remove"}`, 400, `invalid action "remove"`},
		{"POST", "/v1/notices", `{"action":"add","type":"warning","key":"x"}`, 400, `invalid type "warning" (can only add "custom" notices)`},
		{"POST", "/v1/notices", `{"action":"add","type":"custom","key":"foo"}`, 400, `invalid key "foo" (must be in "example.com/path" format)`},
		{"POST", "/v1/notices", `{"action":"add","type":"custom","key":"a.b/c","repeat-after":"x"}`, 400, `invalid repeat-after: time: invalid duration "x"`},
		{"POST", "/v1/notices", `{"action":"add","type":"custom","key":"a.b/c","data":{"k":1}}`, 400, "cannot decode notice data: json: cannot unmarshal number into Go value of type string"},
		{"POST", "/v1/notices", `{"action":`, 400, "cannot decode request body: unexpected EOF"},
		{"GET", "/v1/notices/99", "", 404, `cannot find notice with ID "99"`},
		{"GET", "/v1/notices?user-id=1,2", "", 400, `invalid "user-id" filter: must only include one "user-id"`},
		{"GET", "/v1/notices?user-id=x", "", 400, `invalid "user-id" filter: strconv.ParseUint: parsing "x": invalid syntax`},
		{"GET", "/v1/notices?users=some", "", 400, `invalid "users" filter: must be "all"`},
		{"GET", "/v1/notices?users=all&user-id=1", "", 400, `cannot use both "users" and "user-id" parameters`},
		{"GET", "/v1/notices?after=yesterday", "", 400, `invalid "after" timestamp: parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"`},
		{"GET", "/v1/notices?timeout=soon", "", 400, `invalid timeout: time: invalid duration "soon"`},
	}
	for _, tt := range tests {
		status, body := do(t, c, tt.method, tt.path, tt.body)
		assert.Equal(t, tt.status, status, "%s %s", tt.method, tt.path)
		assert.Equal(t, map[string]any{"message": tt.msg}, body["result"], "%s %s", tt.method, tt.path)
	}

	// The data limit (the test daemon's body limit is smaller).
	big := startDaemonAt(t, filepath.Join(t.TempDir(), ".pebble.socket"), &fakeOps{})
	status, body = do(t, big, "POST", "/v1/notices", `{"action":"add","type":"custom","key":"a.b/c","data":{"k":"`+strings.Repeat("x", 4096)+`"}}`)
	assert.Equal(t, 400, status)
	assert.Equal(t, map[string]any{"message": "total size of data must be 4096 bytes or less"}, body["result"])
	status, _ = do(t, big, "POST", "/v1/notices", `{"action":"add","type":"custom","key":"a.b/c","data":{"k":"`+strings.Repeat("x", 4000)+`"}}`)
	assert.Equal(t, 200, status)

	// Unknown types only: nothing, at once.
	_, body = do(t, c, "GET", "/v1/notices?types=bogus&timeout=1m", "")
	assert.Equal(t, []any{}, body["result"])
	// A timeout with nothing matching returns an empty list, not an error.
	status, body = do(t, c, "GET", "/v1/notices?keys=example.com/none&timeout=20ms", "")
	assert.Equal(t, 200, status)
	assert.Equal(t, []any{}, body["result"])
}

// TestNoticesLongPoll checks that a waiting request returns promptly when a
// matching notice arrives, and that clients hanging up leave no goroutine
// behind.
func TestNoticesLongPoll(t *testing.T) {
	o := &fakeOps{}
	c := startDaemon(t, o)
	// Warm up the connection pool, so that its connection is not counted as
	// a leak; the check runs before the daemon stops.
	do(t, c, "GET", "/v1/notices", "")
	testutil.CheckLeaks(t)

	type polled struct {
		body string
		at   time.Time
	}
	got := make(chan polled, 1)
	go func() {
		var p polled
		resp, err := c.Get("http://localhost/v1/notices?types=custom&timeout=30s")
		if err == nil {
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			p.body = string(data)
		}
		p.at = time.Now()
		got <- p
	}()
	// The request is waiting before the notice exists.
	testutil.WaitBlockedIn(t, 10*time.Second, 1, noticesWait)
	added := time.Now()
	root := uint32(0)
	o.backend().notices.Add(&root, notices.Custom, "example.com/x", notices.AddOptions{})
	select {
	case p := <-got:
		t.Logf("long-poll returned %v after the notice", p.at.Sub(added))
		assert.Contains(t, p.body, `"key":"example.com/x"`)
		assert.Less(t, p.at.Sub(added), time.Second)
	case <-time.After(10 * time.Second):
		t.Fatal("long-poll did not return")
	}

	// Clients that hang up while waiting leave nothing behind.
	ctx, hangUp := context.WithCancel(context.Background())
	var clients sync.WaitGroup
	for range 20 {
		clients.Add(1)
		go func() {
			defer clients.Done()
			req, _ := http.NewRequestWithContext(ctx, "GET", "http://localhost/v1/notices?keys=example.com/never&timeout=1h", nil)
			if resp, err := c.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	testutil.WaitBlockedIn(t, 10*time.Second, 20, noticesWait)
	hangUp()
	clients.Wait()
	c.CloseIdleConnections()
}

// noticesWait is the notices manager's Wait as a stack trace names it.
const noticesWait = "internal/notices.(*Manager).Wait"

func TestLatestWarning(t *testing.T) {
	o := &fakeOps{}
	c := startDaemon(t, o)
	_, body := do(t, c, "GET", "/v1/system-info", "")
	assert.NotContains(t, body, "latest-warning")
	o.backend().notices.AddWarning("something is off")
	_, body = do(t, c, "GET", "/v1/system-info", "")
	assert.Contains(t, body, "latest-warning")
	_, body = do(t, c, "POST", "/v1/services", `{"action":"start","services":["a"]}`)
	assert.Contains(t, body, "latest-warning", "async responses carry it too")
	_, body = do(t, c, "GET", "/v1/nope", "")
	assert.NotContains(t, body, "latest-warning", "error responses do not")
}

const aliceHash = "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1" // "Hello world!"

func TestIdentitiesAPI(t *testing.T) {
	o := &fakeOps{}
	c := startDaemon(t, o)
	status, body := do(t, c, "POST", "/v1/identities", `{"action":"add","identities":{"alice":{"access":"metrics","basic":{"password":"`+aliceHash+`"}},"bob":{"access":"read","local":{"user-id":42}}}}`)
	require.Equal(t, 200, status, "%v", body)
	assert.Equal(t, map[string]any{"type": "sync", "status-code": 200.0, "status": "OK"}, body, "no result key")
	_, body = do(t, c, "GET", "/v1/identities", "")
	assert.Equal(t, map[string]any{
		"alice": map[string]any{"access": "metrics", "basic": map[string]any{"password": "*****"}},
		"bob":   map[string]any{"access": "read", "local": map[string]any{"user-id": 42.0}},
	}, body["result"])
	status, body = do(t, c, "POST", "/v1/identities", `{"action":"add","identities":{"alice":{"access":"read","local":{"user-id":1}}}}`)
	assert.Equal(t, 400, status)
	assert.Equal(t, map[string]any{"message": "identities already exist: alice"}, body["result"])
	status, body = do(t, c, "POST", "/v1/identities", `{"action":"nuke"}`)
	assert.Equal(t, 400, status)
	assert.Equal(t, map[string]any{"message": `invalid action "nuke", must be "add", "update", "replace", or "remove"`}, body["result"])
}

// TestHTTPTransport checks the plain-HTTP rules of api.md §5.3 over a real
// TCP listener: open endpoints for everyone, metrics only for a basic
// identity whose access is exactly "metrics", nothing else at all.
func TestHTTPTransport(t *testing.T) {
	o := &fakeOps{}
	_, err := o.backend().identities.Apply(identities.Add, map[string]*identities.Identity{
		"alice": {Access: identities.MetricsAccess, Basic: &identities.Basic{Password: aliceHash}},
		"root":  {Access: identities.AdminAccess, Basic: &identities.Basic{Password: aliceHash}},
	})
	require.NoError(t, err)
	var events []string
	var mu sync.Mutex
	d, err := New(withParts(Options{
		SocketPath: filepath.Join(t.TempDir(), ".pebble.socket"), HTTPAddress: "127.0.0.1:0", Ops: o,
		State:   &fakeState{},
		Metrics: []MetricsSource{fakeMetrics("x")},
		SecurityEvent: func(level, event, desc string) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, level+" "+event)
		},
	}))
	require.NoError(t, err)
	require.NoError(t, d.Listen())
	d.Serve()
	t.Cleanup(d.Stop)
	addr := d.listeners[1].Addr().String()
	get := func(path, user, pass string) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(data)
	}
	status, _ := get("/v1/system-info", "", "")
	assert.Equal(t, 200, status)
	status, _ = get("/v1/metrics", "", "")
	assert.Equal(t, 401, status)
	status, _ = get("/v1/metrics", "alice", "wrong")
	assert.Equal(t, 401, status)
	status, text := get("/v1/metrics", "alice", "Hello world!")
	assert.Equal(t, 200, status)
	assert.True(t, strings.HasPrefix(text, "# HELP"), text)
	status, _ = get("/v1/metrics", "root", "Hello world!")
	assert.Equal(t, 401, status, "over plain HTTP only metrics identities get metrics")
	status, _ = get("/v1/services", "root", "Hello world!")
	assert.Equal(t, 401, status, "never read or admin endpoints over plain HTTP")
	mu.Lock()
	assert.Equal(t, []string{"CRITICAL authz_fail:root,/v1/metrics", "CRITICAL authz_fail:root,/v1/services"}, events,
		"only identified callers are logged")
	mu.Unlock()
	_ = bytes.MinRead
	_ = net.IPv4len
}
