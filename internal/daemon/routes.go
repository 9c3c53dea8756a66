package daemon

import (
	"context"
	"net/http"
	"path"
	"strings"

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

// handlerFunc serves one method of one endpoint to cl, the caller that
// authorize resolved.
type handlerFunc func(a *api, r *http.Request, cl *caller) response

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

// router dispatches requests to the endpoints of a route table. Clients
// see it answer as Pebble's router (gorilla/mux with its defaults) does:
//   - a path that is not clean ("//v1/plan", "/v1/./plan") is answered 301
//     to its clean form, a trailing slash kept, with no body and no line in
//     the request log;
//   - paths match as decoded (r.URL.Path) and exactly: a trailing slash is
//     neither added nor taken away;
//   - a "{name}" segment matches one non-empty segment, which the handler
//     reads with r.PathValue(name);
//   - every method reaches its endpoint, which answers 405 for the methods
//     it lacks; any other path is answered 404.
//
// The fixed paths are one map look-up and the few patterned ones a walk
// over their segments; no request is copied on the way.
type router struct {
	api   *api
	exact map[string]*endpoint
	// patterned are the endpoints with variables, in table order: the
	// first that matches is the one.
	patterned []pattern
}

// pattern is a path with variables, split into its segments.
type pattern struct {
	e *endpoint
	// segments are the path's segments after its leading "/"; a
	// variable's is its name between braces.
	segments []string
}

// newRouter builds the router from a route table. It panics on a duplicate
// path, a method without a declared access or durability, or a brace that
// is not a whole segment: programming errors that every test of the
// package would hit at once.
func newRouter(a *api, table []endpoint) *router {
	rt := &router{api: a, exact: make(map[string]*endpoint)}
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
		if !strings.ContainsAny(e.path, "{}") {
			// A pattern earlier in the table would take the path first.
			if shadow := rt.match(e.path, nil); shadow != nil {
				panic("daemon: endpoint " + e.path + " is shadowed by " + shadow.path)
			}
			rt.exact[e.path] = e
			continue
		}
		p := pattern{e: e, segments: strings.Split(strings.TrimPrefix(e.path, "/"), "/")}
		for _, seg := range p.segments {
			if strings.ContainsAny(seg, "{}") && !isVariable(seg) {
				panic("daemon: endpoint " + e.path + " has a variable that is not a whole segment")
			}
		}
		rt.patterned = append(rt.patterned, p)
	}
	return rt
}

// isVariable reports whether a pattern's segment is a variable, "{name}".
func isVariable(segment string) bool {
	return len(segment) > 2 && segment[0] == '{' && segment[len(segment)-1] == '}' &&
		!strings.ContainsAny(segment[1:len(segment)-1], "{}")
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := r.URL.Path; !isClean(p) {
		if clean := cleanPath(p); clean != p {
			u := *r.URL
			u.Path = clean
			w.Header().Set("Location", u.String())
			w.WriteHeader(http.StatusMovedPermanently)
			return
		}
	}
	e := rt.exact[r.URL.Path]
	if e == nil {
		e = rt.match(r.URL.Path, r)
	}
	if e == nil {
		rt.api.serve(w, r, nil, func() response { return notFound("invalid API endpoint requested") })
		return
	}
	rt.api.serve(w, r, e, func() response { return rt.api.dispatch(r, e) })
}

// match returns the first patterned endpoint that path matches, and sets
// its variables on r unless r is nil; nil when none matches.
func (rt *router) match(path string, r *http.Request) *endpoint {
	for i := range rt.patterned {
		p := &rt.patterned[i]
		if p.walk(path, nil) {
			if r != nil {
				p.walk(path, r)
			}
			return p.e
		}
	}
	return nil
}

// walk reports whether path matches the pattern, and sets the variables
// on r as it goes unless r is nil.
func (p *pattern) walk(path string, r *http.Request) bool {
	rest := path
	for _, seg := range p.segments {
		if rest == "" || rest[0] != '/' {
			return false
		}
		rest = rest[1:]
		n := strings.IndexByte(rest, '/')
		if n < 0 {
			n = len(rest)
		}
		part := rest[:n]
		rest = rest[n:]
		switch {
		case !isVariable(seg):
			if part != seg {
				return false
			}
		case part == "":
			return false
		case r != nil:
			r.SetPathValue(seg[1:len(seg)-1], part)
		}
	}
	return rest == ""
}

// isClean reports whether cleanPath leaves p as it is, the common case,
// at a fraction of its cost: p is rooted and has no empty, "." or ".."
// segment but for a trailing slash.
func isClean(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	for i := 0; i < len(p); {
		j := i + 1
		for j < len(p) && p[j] != '/' {
			j++
		}
		if seg := p[i+1 : j]; seg == "." || seg == ".." || seg == "" && j < len(p) {
			return false
		}
		i = j
	}
	return true
}

// cleanPath is the form of a request path that the router serves: rooted,
// cleaned as by path.Clean, with its trailing slash if it had one.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	clean := path.Clean(p)
	if p[len(p)-1] == '/' && clean != "/" {
		clean += "/"
	}
	return clean
}

// dispatch answers a request to endpoint e: 405 for a method e lacks, 401
// to a caller without the access the method needs, else the method's
// answer once the state file holds what it reports.
func (a *api) dispatch(r *http.Request, e *endpoint) response {
	m := e.method(r.Method)
	if m == nil {
		return errorStatus(http.StatusMethodNotAllowed, "", "method %q not allowed", r.Method)
	}
	cl, denied := a.authorize(r, m.access)
	if denied != nil {
		return denied
	}
	write := r.Method != http.MethodGet
	if m.durability == durable && write {
		if err := a.state.Writable(r.Context()); err != nil {
			return internalError("cannot save state, so nothing was changed: %v", err)
		}
	}
	resp := m.handle(a, r, cl)
	if v, ok := resp.(unsavedResponse); ok {
		return v.response
	}
	if m.durability == durable || isAsync(resp) {
		return a.onDisk(r.Context(), resp, write)
	}
	return resp
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
