package daemon

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// echo answers with the endpoint's path and the values of the variables
// named, as the handler sees them.
func echo(path string, names ...string) *method {
	return &method{func(_ *api, r *http.Request, _ *caller) response {
		got := []string{path}
		for _, name := range names {
			got = append(got, name+"="+r.PathValue(name))
		}
		return syncResponse(strings.Join(got, " "))
	}, accessOpen, volatile}
}

// TestRouting checks the router against what Pebble's router answers
// (gorilla/mux with its defaults, which our router replaced): redirects of
// unclean paths, exact matching of decoded paths, one non-empty segment
// per variable, and 404 and 405 envelopes.
func TestRouting(t *testing.T) {
	table := []endpoint{
		{path: "/v1/services", get: echo("/v1/services")},
		{path: "/v1/notices/{id}", get: echo("/v1/notices/{id}", "id")},
		{path: "/v1/notices/{id}/wait", get: echo("/v1/notices/{id}/wait", "id")},
		{path: "/v1/checks/refresh", post: echo("/v1/checks/refresh")},
		{path: "/v1/tasks/{task-id}/websocket/{websocket-id}", get: echo("/v1/tasks", "task-id", "websocket-id")},
	}
	var logged []string
	o := &fakeOps{}
	a := &api{ops: o, notices: o.backend().notices, logf: func(string, ...any) {}, bodyLimit: 1024,
		logLine: func(line []byte) { logged = append(logged, string(line)) }}
	rt := newRouter(a, table)
	for _, c := range []struct {
		method, target string
		status         int
		// result is the answer's result, or its error message; Location
		// for a redirect.
		result string
	}{
		{"GET", "/v1/services", 200, "/v1/services"},
		{"GET", "/v1/services?names=a", 200, "/v1/services"},
		{"GET", "/v1/%73ervices", 200, "/v1/services"},
		{"GET", "/v1/services/", 404, "invalid API endpoint requested"},
		{"GET", "/V1/services", 404, "invalid API endpoint requested"},
		{"GET", "/", 404, "invalid API endpoint requested"},
		{"DELETE", "/v1/services", 405, `method "DELETE" not allowed`},
		{"GET", "/v1/checks/refresh", 405, `method "GET" not allowed`},
		{"POST", "/v1/checks/refresh", 200, "/v1/checks/refresh"},
		{"GET", "/v1/checks/refresh/", 404, "invalid API endpoint requested"},
		{"GET", "/v1/notices/12", 200, "/v1/notices/{id} id=12"},
		{"GET", "/v1/notices/a%20b", 200, "/v1/notices/{id} id=a b"},
		{"GET", "/v1/notices/a%252F", 200, "/v1/notices/{id} id=a%2F"},
		{"GET", "/v1/notices/a%3Fb?timeout=1s", 200, "/v1/notices/{id} id=a?b"},
		{"GET", "/v1/notices/a%2Fb", 404, "invalid API endpoint requested"},
		{"GET", "/v1/notices/", 404, "invalid API endpoint requested"},
		{"GET", "/v1/notices/12/wait", 200, "/v1/notices/{id}/wait id=12"},
		{"GET", "/v1/notices/12/wait/", 404, "invalid API endpoint requested"},
		{"GET", "/v1/notices/12/other", 404, "invalid API endpoint requested"},
		{"GET", "/v1/tasks/3/websocket/control", 200, "/v1/tasks task-id=3 websocket-id=control"},
		{"GET", "/v1/tasks/3/websocket/", 404, "invalid API endpoint requested"},
		{"GET", "//v1/services", 301, "http://localhost/v1/services"},
		{"POST", "/v1//services?names=a", 301, "http://localhost/v1/services?names=a"},
		{"GET", "/v1/./services/", 301, "http://localhost/v1/services/"},
		{"GET", "/v1/changes/..", 301, "http://localhost/v1"},
		{"GET", "/v1/changes/%2e%2e/services", 301, "http://localhost/v1/services"},
		{"GET", "/v1/%2Fservices", 301, "http://localhost/v1/services"},
	} {
		logged = nil
		rec := httptest.NewRecorder()
		rt.ServeHTTP(rec, httptest.NewRequest(c.method, "http://localhost"+c.target, nil))
		if !assert.Equal(t, c.status, rec.Code, "%s %s", c.method, c.target) {
			continue
		}
		if c.status == http.StatusMovedPermanently {
			assert.Equal(t, c.result, rec.Header().Get("Location"), "%s %s", c.method, c.target)
			assert.Empty(t, rec.Body.String(), "%s %s", c.method, c.target)
			assert.Empty(t, logged, "%s %s: a redirect is not logged", c.method, c.target)
			continue
		}
		assert.Len(t, logged, 1, "%s %s", c.method, c.target)
		var body struct {
			Result any `json:"result"`
		}
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
		if m, ok := body.Result.(map[string]any); ok {
			assert.Equal(t, c.result, m["message"], "%s %s", c.method, c.target)
		} else {
			assert.Equal(t, c.result, body.Result, "%s %s", c.method, c.target)
		}
	}
}

// TestRouteTableRefused checks that newRouter refuses a table it could
// not serve as written.
func TestRouteTableRefused(t *testing.T) {
	get := echo("")
	assert.PanicsWithValue(t, "daemon: endpoint /v1/notices/new is shadowed by /v1/notices/{id}", func() {
		newRouter(&api{}, []endpoint{{path: "/v1/notices/{id}", get: get}, {path: "/v1/notices/new", get: get}})
	})
	assert.NotPanics(t, func() {
		newRouter(&api{}, []endpoint{{path: "/v1/notices/new", get: get}, {path: "/v1/notices/{id}", get: get}})
	})
	assert.PanicsWithValue(t, "daemon: endpoint /v1/notices/id{id} has a variable that is not a whole segment", func() {
		newRouter(&api{}, []endpoint{{path: "/v1/notices/id{id}", get: get}})
	})
}

// TestIsClean checks the router's shortcut against cleanPath itself.
func TestIsClean(t *testing.T) {
	for _, p := range []string{"", "/", "//", "/v1", "/v1/", "/v1//", "v1/services", "/v1/services", "/v1/services/", "/v1/./services",
		"/v1/../services", "/v1/.", "/v1/..", "/v1/.services", "/v1/..services/", "/v1/services./", "/.", "/..", "/./", "/...", "/v1/a b/c"} {
		assert.Equal(t, cleanPath(p) == p, isClean(p), "%q", p)
	}
}

// TestAppendRequestURL checks the request log's URL against URL.String.
func TestAppendRequestURL(t *testing.T) {
	for _, target := range []string{"/v1/services", "/v1/services?names=a,b&stats=true", "/v1/services?", "/v1/a%2Fb?x=%20",
		"/v1/caf%C3%A9", "/v1/a b", "http://host:4000/v1/services?x", "*", "/v1/x#frag", "/v1/a:b"} {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			u, err = url.Parse(target)
		}
		require.NoError(t, err, target)
		assert.Equal(t, u.String(), string(appendRequestURL([]byte("x "), u))[2:], target)
	}
	u := &url.URL{Path: "v1:x/services"}
	assert.Equal(t, u.String(), string(appendRequestURL(nil, u)))
}
