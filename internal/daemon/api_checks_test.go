package daemon

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/changes"
	"github.com/pebble-project/pebble/internal/checks"
	"github.com/pebble-project/pebble/internal/checks/checker"
	"github.com/pebble-project/pebble/internal/plan"
)

// checksLayer has an alive check that passes, a ready check that fails
// at once (threshold 1) and a disabled one, all HTTP checks of srv, so no
// process runs.
func checksLayer(srv *httptest.Server) string {
	return `
checks:
    up:
        override: replace
        level: alive
        period: 1h
        http:
            url: ` + srv.URL + `/ok
    down:
        override: replace
        level: ready
        period: 1h
        threshold: 1
        http:
            url: ` + srv.URL + `/fail
    off:
        override: replace
        startup: disabled
        http:
            url: ` + srv.URL + `/fail
`
}

// newChecks runs the checks of checksLayer on a real checks manager,
// driven by its own started changes manager, and serves them; the client
// keeps the security events the daemon writes.
func newChecks(t *testing.T) *checksClient {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ok" {
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte("oops"))
		}
	}))
	t.Cleanup(srv.Close)
	chg, err := changes.New(changes.Options{})
	require.NoError(t, err)
	chk := checks.New(checks.Options{Changes: chg, Logf: t.Logf,
		NewChecker: func(pc *plan.Check) checks.Checker { return checker.New(pc) }})
	chg.Start()
	t.Cleanup(func() {
		chk.Close()
		chg.Close()
	})
	l, err := plan.ParseLayer(1, "base", []byte(checksLayer(srv)))
	require.NoError(t, err)
	p, err := plan.NewPlan([]*plan.Layer{l})
	require.NoError(t, err)
	chk.SetPlan(p)
	c := &checksClient{}
	c.Client = startDaemonWith(t, Options{Ops: &fakeOps{}, Checks: chk,
		SecurityEvent: func(level, event, description string) {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.events = append(c.events, level+" "+event+" "+description)
		}})
	return c
}

// checksClient talks to a daemon serving real checks and keeps the
// security events it wrote.
type checksClient struct {
	*http.Client
	mu     sync.Mutex
	events []string
}

func (c *checksClient) securityEvents() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.events...)
}

func TestChecksEndpoints(t *testing.T) {
	c := newChecks(t)
	down := map[string]any{"name": "down", "level": "ready", "startup": "enabled", "status": "up", "successes": 0.0, "threshold": 1.0, "change-id": "1"}
	off := map[string]any{"name": "off", "startup": "disabled", "status": "inactive", "successes": 0.0, "threshold": 3.0}
	up := map[string]any{"name": "up", "level": "alive", "startup": "enabled", "status": "up", "successes": 0.0, "threshold": 3.0, "change-id": "2"}
	tests := []struct {
		name, method, path, body string
		status                   int
		result                   any
	}{
		{"all", "GET", "/v1/checks", "", 200, []any{down, off, up}},
		{"level", "GET", "/v1/checks?level=alive", "", 200, []any{up}},
		{"names", "GET", "/v1/checks?names=down,off", "", 200, []any{down, off}},
		{"none", "GET", "/v1/checks?level=alive&names=down", "", 200, []any{}},
		{"bad level", "GET", "/v1/checks?level=up", "", 400, map[string]any{"message": `level must be "alive" or "ready"`}},
		{"bad body", "POST", "/v1/checks", `{"action":`, 400, map[string]any{"message": "cannot decode data from request body: unexpected EOF"}},
		{"refresh unknown", "POST", "/v1/checks/refresh", `{"name":"nope"}`, 404, map[string]any{"message": `cannot find check with name "nope"`}},
		{"refresh no name", "POST", "/v1/checks/refresh", `{}`, 400, map[string]any{"message": "must specify check name"}},
		{"refresh bad body", "POST", "/v1/checks/refresh", `[]`, 400, map[string]any{
			"message": "cannot decode data from request body: json: cannot unmarshal array into Go value of type struct { Name string \"json:\\\"name\\\"\" }"}},
		{"refresh get", "GET", "/v1/checks/refresh", "", 405, map[string]any{"message": `method "GET" not allowed`}},
		{"refresh up", "POST", "/v1/checks/refresh", `{"name":"up"}`, 200, map[string]any{
			"info": map[string]any{"name": "up", "level": "alive", "startup": "enabled", "status": "up", "successes": 1.0, "threshold": 3.0, "change-id": "2"}}},
		{"refresh down", "POST", "/v1/checks/refresh", `{"name":"down"}`, 200, map[string]any{
			"info":  map[string]any{"name": "down", "level": "ready", "startup": "enabled", "status": "down", "successes": 0.0, "failures": 1.0, "threshold": 1.0, "change-id": "3", "prev-change-id": "1"},
			"error": "non-2xx status code 500; oops"}},
		{"stop", "POST", "/v1/checks", `{"action":"stop","checks":["off","up"]}`, 200, map[string]any{"changed": []any{"up"}}},
		{"stop again", "POST", "/v1/checks", `{"action":"stop","checks":["up"]}`, 200, map[string]any{"changed": []any{}}},
		{"stopped", "GET", "/v1/checks?names=up", "", 200, []any{
			map[string]any{"name": "up", "level": "alive", "startup": "enabled", "status": "inactive", "successes": 1.0, "threshold": 3.0}}},
		{"start", "POST", "/v1/checks", `{"action":"start","checks":["off"]}`, 200, map[string]any{"changed": []any{"off"}}},
	}
	for _, tt := range tests {
		status, body := do(t, c.Client, tt.method, tt.path, tt.body)
		assert.Equal(t, tt.status, status, tt.name)
		assert.Equal(t, tt.result, body["result"], tt.name)
	}
	uid := strconv.Itoa(os.Getuid())
	assert.Equal(t, []string{
		"WARN sys_monitor_disabled:" + uid + ",off Stopping check off",
		"WARN sys_monitor_disabled:" + uid + ",up Stopping check up",
		"WARN sys_monitor_disabled:" + uid + ",up Stopping check up",
	}, c.securityEvents())
}

func TestChecksActionErrors(t *testing.T) {
	c := newChecks(t)
	tests := []struct {
		body string
		msg  string
	}{
		{`{"action":"start"}`, "must specify checks for start action"},
		{`{"action":"bogus","checks":[]}`, "must specify checks for bogus action"},
		{`{"action":"bogus","checks":["up"]}`, `invalid action "bogus"`},
		{`{"action":"start","checks":["zz","up","aa"]}`, "cannot start checks: cannot find checks in plan: aa, zz"},
		{`{"action":"stop","checks":["nope"]}`, "cannot stop checks: cannot find checks in plan: nope"},
	}
	for _, tt := range tests {
		status, body := do(t, c.Client, "POST", "/v1/checks", tt.body)
		assert.Equal(t, 400, status, tt.body)
		assert.Equal(t, map[string]any{"message": tt.msg}, body["result"], tt.body)
	}
	status, body := do(t, c.Client, "GET", "/v1/checks?names=up", "")
	require.Equal(t, 200, status)
	assert.Equal(t, "up", body["result"].([]any)[0].(map[string]any)["status"], "a failed action changes nothing")
}

// TestChecksSecurityEvents: a stop writes sys_monitor_disabled for every
// name asked for, known or not, as Pebble does.
func TestChecksSecurityEvents(t *testing.T) {
	c := newChecks(t)
	status, _ := do(t, c.Client, "POST", "/v1/checks", `{"action":"stop","checks":["up","nope"]}`)
	assert.Equal(t, 400, status)
	uid := strconv.Itoa(os.Getuid())
	assert.Equal(t, []string{
		"WARN sys_monitor_disabled:" + uid + ",up Stopping check up",
		"WARN sys_monitor_disabled:" + uid + ",nope Stopping check nope",
	}, c.securityEvents())
}

func TestHealthFromChecks(t *testing.T) {
	c := newChecks(t)
	health := func(query string) (int, any) {
		status, body := do(t, c.Client, "GET", "/v1/health"+query, "")
		return status, body["result"]
	}
	status, result := health("")
	assert.Equal(t, 200, status)
	assert.Equal(t, map[string]any{"healthy": true}, result, "no check has failed yet")

	status, _ = do(t, c.Client, "POST", "/v1/checks/refresh", `{"name":"down"}`)
	require.Equal(t, 200, status)
	for _, tt := range []struct {
		query   string
		healthy bool
	}{
		{"", false},
		{"?level=alive", true},
		{"?level=ready", false},
		{"?names=up", true},
		{"?names=down", false},
	} {
		status, result := health(tt.query)
		want := 200
		if !tt.healthy {
			want = 502
		}
		assert.Equal(t, want, status, tt.query)
		assert.Equal(t, map[string]any{"healthy": tt.healthy}, result, tt.query)
	}
}

func TestChecksAccess(t *testing.T) {
	want := map[string][2]accessLevel{
		"/v1/checks":         {accessRead, accessAdmin},
		"/v1/checks/refresh": {accessUndeclared, accessAdmin},
		"/v1/health":         {accessOpen, accessUndeclared},
	}
	for _, e := range endpoints {
		if w, ok := want[e.path]; ok {
			var got [2]accessLevel
			if e.get != nil {
				got[0] = e.get.access
			}
			if e.post != nil {
				got[1] = e.post.access
			}
			assert.Equal(t, w, got, e.path)
			delete(want, e.path)
		}
	}
	assert.Empty(t, want, "missing endpoints")
}
