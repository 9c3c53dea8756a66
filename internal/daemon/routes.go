package daemon

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/pebble-project/pebble/internal/changes"
	"github.com/pebble-project/pebble/internal/execs"
	"github.com/pebble-project/pebble/internal/logs"
	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/scheduler"
	"github.com/pebble-project/pebble/internal/servstate"
)

// Ops is the set of verbs the API needs. internal/ops satisfies it; each
// handler makes one call.
type Ops interface {
	ServiceAction(action string, names []string) (changeID string, err error)
	AddLayer(layer *plan.Layer, combine, inner bool) error

	// Exec creates the change that runs a command (api.md §16.1); it refuses
	// a request without a command.
	Exec(ctx context.Context, req execs.Request) (execs.Started, error)
	// ExecSocket reserves a websocket of an exec task (api.md §16.3).
	ExecSocket(taskID, wsID string) (*execs.Socket, error)
	// LogBuffers returns the output buffers of the named services (every
	// service when names is empty) for GET /v1/logs.
	LogBuffers(names []string) []*logs.Buffer
}

// Services reports on and signals the services (api.md §9.1, §15);
// internal/servstate's Manager satisfies it.
type Services interface {
	// AppendServices appends the snapshots of the named services (all
	// when names is empty), sorted by name, to infos.
	AppendServices(infos []servstate.ServiceInfo, names []string) []servstate.ServiceInfo
	// Usage returns the resource usage of the named services that have
	// been started (all when names is empty). It reads /proc or cgroup
	// files, so the API asks for it only on request.
	Usage(names []string) []servstate.Usage
	// SendSignal sends a signal, named like "SIGHUP", to the main process
	// of each named service; failures are joined in one error.
	SendSignal(names []string, signal string) error
}

// Schedules reports scheduled services (docs/schedules.md);
// internal/scheduler's Scheduler satisfies it.
type Schedules interface {
	Info(service string) (scheduler.Info, bool)
}

// Changes is what the API reads and does of changes (api.md §10);
// internal/changes' Manager satisfies it. Its errors match
// changes.ErrNotFound and changes.ErrNothingPending, with the spec's texts.
type Changes interface {
	Changes(sel changes.Select, service string) []changes.ChangeInfo
	Change(id string) (changes.ChangeInfo, error)
	// Wait returns once the change is ready, or ctx's error.
	Wait(ctx context.Context, id string) (changes.ChangeInfo, error)
	Abort(id string) (changes.ChangeInfo, error)
}

// Plan gives the current plan (api.md §11); internal/planstate's State
// satisfies it.
type Plan interface {
	Plan() *plan.Plan
}

// handlerFunc serves one method of one endpoint.
type handlerFunc func(a *api, r *http.Request) response

// durability says whether a response must wait for the state file. What a
// client is told about changes, tasks, notices and identities (what the
// state file keeps, behaviour.md §10.2) is on disk before the client hears
// it, so a crash never takes back what a client was told. Every method in
// the route table declares its durability; newRouter refuses one that does
// not.
type durability int

const (
	undeclared durability = iota
	// volatile responses report nothing the state file keeps.
	volatile
	// durable responses are written only after the state file is synced.
	// Async responses are always durable: they name a new change.
	durable
)

// unsavedResponse is the answer of a durable method that reports only what
// the state file does not promise to keep (service-update notices,
// notices.Type.Durable), so it does not wait for the state file.
type unsavedResponse struct{ response }

// method is one HTTP method of an endpoint: its handler, the access it
// needs (api.md §5.2) and its durability. Both must be declared: newRouter
// refuses a method without either, so leaving one out can neither open an
// endpoint to everyone nor skip the state file.
type method struct {
	handle     handlerFunc
	access     accessLevel
	durability durability
}

// endpoint is one row of the route table.
type endpoint struct {
	path      string
	get, post *method
	// quiet endpoints are not written to the request log (cli.md §7).
	quiet bool
	// rawBody endpoints get no central body limit: their handlers limit
	// what they decode and stream the rest (file uploads).
	rawBody bool
}

// method returns the endpoint's method named name; nil if it has none.
func (e *endpoint) method(name string) *method {
	switch name {
	case http.MethodGet:
		return e.get
	case http.MethodPost:
		return e.post
	}
	return nil
}

// endpoints is the route table. Every path and access level comes from
// api.md §5.2.
var endpoints = []endpoint{
	{path: "/v1/system-info", get: &method{(*api).getSystemInfo, accessOpen, volatile}, quiet: true},
	{path: "/v1/health", get: &method{(*api).getHealth, accessOpen, volatile}, quiet: true},
	{path: "/v1/services", get: &method{(*api).getServices, accessRead, volatile}, post: &method{(*api).postServices, accessAdmin, durable}},
	// The spec keeps this path routed but unimplemented (api.md §9.3).
	{path: "/v1/services/{name}", get: &method{(*api).notImplemented, accessRead, volatile}, post: &method{(*api).notImplemented, accessAdmin, volatile}},
	{path: "/v1/plan", get: &method{(*api).getPlan, accessAdmin, volatile}},
	// API layers are not kept across restarts (behaviour.md §10.2).
	{path: "/v1/layers", post: &method{(*api).postLayers, accessAdmin, volatile}},
	{path: "/v1/changes", get: &method{(*api).getChanges, accessRead, durable}},
	{path: "/v1/changes/{id}", get: &method{(*api).getChange, accessRead, durable}, post: &method{(*api).postChange, accessAdmin, durable}},
	{path: "/v1/changes/{id}/wait", get: &method{(*api).waitChange, accessRead, durable}},
	{path: "/v1/signals", post: &method{(*api).postSignals, accessAdmin, volatile}},
	{path: "/v1/logs", get: &method{(*api).getLogs, accessRead, volatile}},
	{path: "/v1/log-targets", get: &method{(*api).getLogTargets, accessRead, volatile}},
	// An addition beyond Pebble (docs/workflows.md): the list reports
	// last runs, which are changes; a run answers with its change.
	{path: "/v1/workflows", get: &method{(*api).getWorkflows, accessRead, durable}, post: &method{(*api).postWorkflows, accessAdmin, durable}},
	{path: "/v1/metrics", get: &method{(*api).getMetrics, accessMetrics, volatile}},
	// Any identified user may add a custom notice (api.md §5.2).
	{path: "/v1/notices", get: &method{(*api).getNotices, accessRead, durable}, post: &method{(*api).postNotices, accessRead, durable}},
	{path: "/v1/notices/{id}", get: &method{(*api).getNotice, accessRead, durable}},
	{path: "/v1/identities", get: &method{(*api).getIdentities, accessRead, durable}, post: &method{(*api).postIdentities, accessAdmin, durable}},
	// Checks report and make check changes.
	{path: "/v1/checks", get: &method{(*api).getChecks, accessRead, durable}, post: &method{(*api).postChecks, accessAdmin, durable}},
	{path: "/v1/checks/refresh", post: &method{(*api).postChecksRefresh, accessAdmin, durable}},
	{path: "/v1/exec", post: &method{(*api).postExec, accessAdmin, durable}},
	{path: "/v1/tasks/{task-id}/websocket/{websocket-id}", get: &method{(*api).getTaskWebsocket, accessAdmin, volatile}},
	// Not in Pebble: an in-place upgrade (docs/upgrade.md).
	{path: "/v1/daemon", post: &method{(*api).postDaemon, accessAdmin, durable}},
	{path: "/v1/files", get: &method{(*api).getFiles, accessAdmin, volatile}, post: &method{(*api).postFiles, accessAdmin, volatile}, rawBody: true},
}

// newRouter builds the router from a route table. It panics on a duplicate
// path or a method without a declared access or durability: programming
// errors that every test of the package would hit at once.
func newRouter(a *api, table []endpoint) *mux.Router {
	r := mux.NewRouter()
	seen := make(map[string]bool)
	for i := range table {
		e := &table[i]
		if seen[e.path] {
			panic("daemon: duplicate endpoint " + e.path)
		}
		seen[e.path] = true
		for _, name := range []string{http.MethodGet, http.MethodPost} {
			m := e.method(name)
			switch {
			case m == nil:
			case m.access == accessUndeclared:
				panic("daemon: " + name + " " + e.path + " declares no access")
			case m.durability == undeclared:
				panic("daemon: " + name + " " + e.path + " declares no durability")
			}
		}
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
		m := rt.e.method(r.Method)
		if m == nil {
			return errorStatus(http.StatusMethodNotAllowed, "", "method %q not allowed", r.Method)
		}
		r, denied := rt.api.authorize(r, m.access)
		if denied != nil {
			return denied
		}
		write := r.Method != http.MethodGet
		if m.durability == durable && write {
			if err := rt.api.state.Writable(r.Context()); err != nil {
				return internalError("cannot save state, so nothing was changed: %v", err)
			}
		}
		resp := m.handle(rt.api, r)
		if v, ok := resp.(unsavedResponse); ok {
			return v.response
		}
		if m.durability == durable || isAsync(resp) {
			return rt.api.onDisk(r.Context(), resp, write)
		}
		return resp
	})
}

// onDisk returns resp once the state file holds everything resp reports.
// It is the one place where the API waits for the state file, and the
// rule for a state file that cannot be written (a full disk):
//   - a request that changed something (write) was first checked with
//     Writable, so an error answer means nothing changed; if the write
//     fails all the same, the answer waits, through the flusher's retries,
//     until the change is on disk or the client gives up;
//   - a read is answered even when what it reports cannot be saved yet,
//     so reads keep working while the disk is full.
func (a *api) onDisk(ctx context.Context, resp response, write bool) response {
	if !write {
		if err := a.state.Sync(ctx); err != nil {
			a.logf("Answering a read before its state is saved: %v", err)
		}
		return resp
	}
	if err := a.state.Durable(ctx); err != nil {
		return internalError("cannot save state: %v", err)
	}
	return resp
}
