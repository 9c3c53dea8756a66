package daemon

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/pebble-project/pebble/internal/logfwd"
	"github.com/pebble-project/pebble/internal/logs"
	"github.com/pebble-project/pebble/internal/plan"
)

// LogTargets reports the counters of the log targets for GET
// /v1/log-targets; internal/logfwd's Manager satisfies it.
type LogTargets interface {
	Status() []logfwd.Status
}

// defaultLogLines is how many entries GET /v1/logs returns without n when
// not following (api.md §14).
const defaultLogLines = 30

// getLogs serves GET /v1/logs (api.md §14): JSON lines, not an envelope.
func (a *api) getLogs(r *http.Request, cl *caller) response {
	q := r.URL.Query()
	follow := false
	switch q.Get("follow") {
	case "", "false":
	case "true":
		follow = true
	default:
		return badRequest(`follow parameter must be "true" or "false"`)
	}
	n := defaultLogLines
	if follow {
		n = 0
	}
	if s := q.Get("n"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < -1 {
			return badRequest("n must be -1, 0, or a positive integer")
		}
		n = v
	}
	services, none, err := a.readableLogs(cl, multiValue(r, "services"))
	if err != nil {
		return err
	}
	return &logsResponse{api: a, services: services, none: none, opts: logs.StreamOptions{N: n, Follow: follow}}
}

// readableLogs returns the services whose logs the caller asked for and may
// read (empty: every service), or none when that leaves no service. A
// service with log-access: admin is for admins only: naming it without
// admin access is refused, and "every service" leaves it out.
func (a *api) readableLogs(cl *caller, names []string) (_ []string, none bool, _ response) {
	if cl.allowed(accessAdmin) {
		return names, false, nil
	}
	p := a.plan.Plan()
	if len(names) == 0 {
		for name, svc := range p.Services {
			if !svc.LogsRestricted() {
				names = append(names, name)
			}
		}
		return names, len(names) == 0, nil
	}
	for _, name := range names {
		if logsRestricted(p, name) {
			return nil, false, errorStatus(http.StatusForbidden, "", "cannot read logs of service %q: its log-access is admin", name)
		}
	}
	return names, false, nil
}

// logsRestricted reports whether the plan's service of that name keeps its
// logs for admins (log-access: admin).
func logsRestricted(p *plan.Plan, name string) bool {
	svc := p.Services[name]
	return svc != nil && svc.LogsRestricted()
}

// forwardsRestricted reports whether the log target forwards the logs of a
// service whose log-access is admin.
func forwardsRestricted(p *plan.Plan, target string) bool {
	t := p.LogTargets[target]
	if t == nil {
		return false
	}
	for name, svc := range p.Services {
		if svc.LogsRestricted() && t.Forwards(name) {
			return true
		}
	}
	return false
}

type logsResponse struct {
	api      *api
	services []string // empty: every service
	none     bool     // no service: the caller may read none of them
	opts     logs.StreamOptions
}

func (l *logsResponse) write(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	// A following request ends when the client goes away or the daemon
	// stops.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(l.api.stopping, cancel)
	defer stop()
	stopQuiet := context.AfterFunc(l.api.quietCtx(), cancel)
	defer stopQuiet()
	sink := &jsonLinesSink{w: w, rc: http.NewResponseController(w)}
	var bufs []*logs.Buffer
	if !l.none {
		bufs = l.api.ops.LogBuffers(l.services)
	}
	if err := logs.Stream(ctx, bufs, l.opts, sink); err != nil && ctx.Err() == nil {
		l.api.logf("Cannot write logs: %v", err)
	}
}

// jsonLinesSink writes the JSON lines of logs.Stream to the client, and
// flushes them whenever the stream catches up.
type jsonLinesSink struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

// sinkWriteTimeout bounds one write to a client that stopped reading.
const sinkWriteTimeout = 30 * time.Second

func (s *jsonLinesSink) Write(p []byte) error {
	s.rc.SetWriteDeadline(time.Now().Add(sinkWriteTimeout))
	_, err := s.w.Write(p)
	return err
}

func (s *jsonLinesSink) Flush() error { return s.rc.Flush() }

type logTargetJSON struct {
	Name          string     `json:"name"`
	Type          string     `json:"type"`
	Location      string     `json:"location"`
	Services      []string   `json:"services"`
	Sent          uint64     `json:"sent"`
	Dropped       uint64     `json:"dropped"`
	LostBytes     uint64     `json:"lost-bytes"`
	Failures      uint64     `json:"failures"`
	Pending       int        `json:"pending"`
	LastError     string     `json:"last-error,omitempty"`
	LastErrorTime *time.Time `json:"last-error-time,omitempty"`
}

// getLogTargets serves GET /v1/log-targets, an addition to Pebble's API:
// the forwarding counters of each log target.
// Targets that forward a service whose log-access is admin are shown to
// admins only: their counters and errors are about those logs.
func (a *api) getLogTargets(r *http.Request, cl *caller) response {
	var targets []logfwd.Status
	if a.logTargets != nil {
		targets = a.logTargets.Status()
	}
	admin, p := cl.allowed(accessAdmin), a.plan.Plan()
	out := make([]logTargetJSON, 0, len(targets))
	for _, t := range targets {
		if !admin && forwardsRestricted(p, t.Name) {
			continue
		}
		services := t.Services
		if services == nil {
			services = []string{}
		}
		out = append(out, logTargetJSON{
			Name: t.Name, Type: t.Type, Location: t.Location, Services: services,
			Sent: t.Sent, Dropped: t.Dropped, LostBytes: t.LostBytes, Failures: t.Failures,
			Pending: t.Pending, LastError: t.LastError, LastErrorTime: optionalTime(t.LastErrorTime),
		})
	}
	return syncResponse(out)
}
