package daemon

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/pebble-project/pebble/internal/changes"
	"github.com/pebble-project/pebble/internal/execs"
	"github.com/pebble-project/pebble/internal/logs"
	"github.com/pebble-project/pebble/internal/servstate"
)

// Ops is the set of verbs the API needs. internal/ops satisfies it; each
// handler makes one call.
type Ops interface {
	Services(names []string) []servstate.ServiceInfo
	// ServiceUsage returns the resource usage of the named services that
	// have been started (all when names is empty).
	ServiceUsage(names []string) []servstate.Usage
	ServiceAction(ctx context.Context, action string, names []string) (changeID string, err error)
	AddLayer(ctx context.Context, label string, layer []byte, combine, inner bool) error
	PlanYAML() ([]byte, error)
	Changes(sel changes.Select, service string) []changes.ChangeInfo
	Change(id string) (changes.ChangeInfo, error)
	WaitChange(ctx context.Context, id string) (changes.ChangeInfo, error)
	AbortChange(ctx context.Context, id string) (changes.ChangeInfo, error)
	SendSignal(signal string, names []string) error
	Healthy(level string, names []string) (bool, error)
	// Sync returns once everything a response is about to report is on disk.
	Sync(ctx context.Context) error

	noticeOps   // api_notices.go
	identityOps // api_identities.go
	checkOps    // api_checks.go

	// Exec creates the change that runs a command (api.md §16.1).
	Exec(ctx context.Context, req execs.Request) (execs.Started, error)
	// ExecSocket reserves a websocket of an exec task (api.md §16.3).
	ExecSocket(taskID, wsID string) (*execs.Socket, error)
	// LogBuffers returns the output buffers of the named services (every
	// service when names is empty) for GET /v1/logs.
	LogBuffers(names []string) []*logs.Buffer
}

// handlerFunc serves one method of one endpoint.
type handlerFunc func(a *api, r *http.Request) response

// endpoint is one row of the route table: a path, its handler per method and
// the access each method needs (api.md §5.2).
type endpoint struct {
	path      string
	get, post handlerFunc
	getAccess accessLevel
	postAcc   accessLevel
	// quiet endpoints are not written to the request log (cli.md §7).
	quiet bool
	// rawBody endpoints get no central body limit: their handlers limit
	// what they decode and stream the rest (file uploads).
	rawBody bool
}

// endpoints is the route table. Every path and access level comes from
// api.md §5.2.
var endpoints = []endpoint{
	{path: "/v1/system-info", get: (*api).getSystemInfo, getAccess: accessOpen, quiet: true},
	{path: "/v1/health", get: (*api).getHealth, getAccess: accessOpen, quiet: true},
	{path: "/v1/services", get: (*api).getServices, getAccess: accessRead, post: (*api).postServices, postAcc: accessAdmin},
	// The spec keeps this path routed but unimplemented (api.md §9.3).
	{path: "/v1/services/{name}", get: (*api).notImplemented, getAccess: accessRead, post: (*api).notImplemented, postAcc: accessAdmin},
	{path: "/v1/plan", get: (*api).getPlan, getAccess: accessAdmin},
	{path: "/v1/layers", post: (*api).postLayers, postAcc: accessAdmin},
	{path: "/v1/changes", get: (*api).getChanges, getAccess: accessRead},
	{path: "/v1/changes/{id}", get: (*api).getChange, getAccess: accessRead, post: (*api).postChange, postAcc: accessAdmin},
	{path: "/v1/changes/{id}/wait", get: (*api).waitChange, getAccess: accessRead},
	{path: "/v1/signals", post: (*api).postSignals, postAcc: accessAdmin},
	{path: "/v1/logs", get: (*api).getLogs, getAccess: accessRead},
	{path: "/v1/log-targets", get: (*api).getLogTargets, getAccess: accessRead},
	{path: "/v1/metrics", get: (*api).getMetrics, getAccess: accessMetrics},
	// Any identified user may add a custom notice (api.md §5.2).
	{path: "/v1/notices", get: (*api).getNotices, getAccess: accessRead, post: (*api).postNotices, postAcc: accessRead},
	{path: "/v1/notices/{id}", get: (*api).getNotice, getAccess: accessRead},
	{path: "/v1/identities", get: (*api).getIdentities, getAccess: accessRead, post: (*api).postIdentities, postAcc: accessAdmin},
	{path: "/v1/checks", get: (*api).getChecks, getAccess: accessRead, post: (*api).postChecks, postAcc: accessAdmin},
	{path: "/v1/checks/refresh", post: (*api).postChecksRefresh, postAcc: accessAdmin},
	{path: "/v1/exec", post: (*api).postExec, postAcc: accessAdmin},
	{path: "/v1/tasks/{task-id}/websocket/{websocket-id}", get: (*api).getTaskWebsocket, getAccess: accessAdmin},
	{path: "/v1/files", get: (*api).getFiles, getAccess: accessAdmin, post: (*api).postFiles, postAcc: accessAdmin, rawBody: true},
}

// newRouter builds the router from the table; it panics on a duplicate path,
// which is a programming error.
func newRouter(a *api) *mux.Router {
	r := mux.NewRouter()
	seen := make(map[string]bool)
	for i := range endpoints {
		e := &endpoints[i]
		if seen[e.path] {
			panic("daemon: duplicate endpoint " + e.path)
		}
		seen[e.path] = true
		r.Handle(e.path, &route{api: a, e: e})
	}
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		a.serve(w, req, nil, func() response { return notFound("invalid API endpoint requested") })
	})
	return r
}

type route struct {
	api *api
	e   *endpoint
}

func (rt *route) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt.api.serve(w, r, rt.e, func() response {
		var h handlerFunc
		var need accessLevel
		switch r.Method {
		case http.MethodGet:
			h, need = rt.e.get, rt.e.getAccess
		case http.MethodPost:
			h, need = rt.e.post, rt.e.postAcc
		}
		if h == nil {
			return errorStatus(http.StatusMethodNotAllowed, "", "method %q not allowed", r.Method)
		}
		r, denied := rt.api.authorize(r, need)
		if denied != nil {
			return denied
		}
		return h(rt.api, r)
	})
}
