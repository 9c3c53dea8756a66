package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/pebble-project/pebble/internal/changes"
	"github.com/pebble-project/pebble/internal/limits"
	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/plan/planyaml"
	"github.com/pebble-project/pebble/internal/servstate"
)

func (a *api) notImplemented(r *http.Request, cl *caller) response {
	return badRequest("not implemented")
}

// getSystemInfo serves GET /v1/system-info (api.md §6).
func (a *api) getSystemInfo(r *http.Request, cl *caller) response {
	result := map[string]string{"boot-id": a.bootID, "version": a.version}
	if a.httpAddr != "" {
		result["http-address"] = a.httpAddr
	}
	return syncResponse(result)
}

// getHealth serves GET /v1/health (api.md §7).
func (a *api) getHealth(r *http.Request, cl *caller) response {
	level := queryOf(r).Get("level")
	if level != "" && level != "alive" && level != "ready" {
		return badRequest(`level must be "alive" or "ready"`)
	}
	healthy := a.checks.Healthy(plan.CheckLevel(level), multiValue(r, "names"))
	status := http.StatusOK
	if !healthy {
		status = http.StatusBadGateway
	}
	return syncStatus(status, map[string]bool{"healthy": healthy})
}

type serviceJSON struct {
	Name         string     `json:"name"`
	Startup      string     `json:"startup"`
	Current      string     `json:"current"`
	CurrentSince *time.Time `json:"current-since,omitempty"`
	// Stats is our extension (absent in Pebble, ignored by its clients).
	Stats *serviceStatsJSON `json:"stats,omitempty"`
	// The schedule of a scheduled service (our extension,
	// docs/schedules.md): its schedule: field, next due time and how many
	// due times were skipped because the last run was still going.
	Schedule    string     `json:"schedule,omitempty"`
	NextRun     *time.Time `json:"next-run,omitempty"`
	SkippedRuns int        `json:"skipped-runs,omitempty"`
	// LimitsNotEnforced and ExitReason are our extensions too
	// (docs/resource-limits.md).
	LimitsNotEnforced []limits.NotEnforced `json:"limits-not-enforced,omitempty"`
	ExitReason        string               `json:"exit-reason,omitempty"`
	// Readiness, StatusText and Oneshot are ours too (docs/readiness.md,
	// docs/oneshot.md).
	Readiness  string       `json:"readiness,omitempty"`
	StatusText string       `json:"status-text,omitempty"`
	Oneshot    *oneshotJSON `json:"oneshot,omitempty"`
	serviceExitJSON
}

// appendJSON appends the entry as encoding/json encodes it, in the order
// of its fields, the embedded exit fields last.
func (s *serviceJSON) appendJSON(b []byte) ([]byte, error) {
	o := beginJSONObject(b)
	o.str("name", s.Name)
	o.str("startup", s.Startup)
	o.str("current", s.Current)
	o.optTime("current-since", s.CurrentSince)
	if s.Stats != nil {
		o.value("stats", s.Stats)
	}
	o.optStr("schedule", s.Schedule)
	o.optTime("next-run", s.NextRun)
	o.optInt("skipped-runs", s.SkippedRuns)
	if len(s.LimitsNotEnforced) > 0 {
		o.value("limits-not-enforced", s.LimitsNotEnforced)
	}
	o.optStr("exit-reason", s.ExitReason)
	o.optStr("readiness", s.Readiness)
	o.optStr("status-text", s.StatusText)
	if s.Oneshot != nil {
		o.value("oneshot", s.Oneshot)
	}
	o.optInt("restart-count", s.RestartCount)
	o.optIntPtr("last-exit-code", s.LastExitCode)
	o.optStr("last-exit-signal", s.LastExitSignal)
	o.optTime("last-exit-time", s.LastExitTime)
	o.optStr("failure", s.Failure)
	return o.end()
}

type oneshotJSON struct {
	ExitCode int       `json:"exit-code"`
	Exited   time.Time `json:"exited"`
	Output   string    `json:"output"`
}

// getServices serves GET /v1/services (api.md §9.1). With stats=true (our
// extension) each started service also gets its resource usage, which
// costs reading /proc or cgroup files, so it is never read otherwise.
func (a *api) getServices(r *http.Request, cl *caller) response {
	withStats := queryOf(r).Get("stats")
	if withStats != "" && withStats != "true" && withStats != "false" {
		return badRequest(`stats parameter must be "true" or "false"`)
	}
	names := multiValue(r, "names")
	pooled := serviceInfos.Get().(*[]servstate.ServiceInfo)
	infos := a.services.AppendServices((*pooled)[:0], names)
	var usage map[string]*serviceStatsJSON
	if withStats == "true" {
		usage = a.serviceStats(names)
	}
	return syncResponse(servicesResult{a: a, infos: infos, pooled: pooled, usage: usage,
		admin: cl.allowed(accessAdmin), plan: a.plan.Plan()})
}

// serviceInfos hold the snapshots of GET /v1/services between requests:
// with 100 services they are 20 KB, most of what a request allocated.
var serviceInfos = sync.Pool{New: func() any { return new([]servstate.ServiceInfo) }}

// maxPooledServices is the most snapshots kept for reuse.
const maxPooledServices = 4096

// servicesResult is the result of GET /v1/services. Its entries are made
// one at a time as they are encoded, so a request allocates its services'
// snapshots and nothing per entry.
type servicesResult struct {
	a     *api
	infos []servstate.ServiceInfo
	// pooled is where infos goes back to serviceInfos (recycle); nil
	// when it came from elsewhere.
	pooled *[]servstate.ServiceInfo
	// usage holds the stats asked for, by service; nil when not asked.
	usage map[string]*serviceStatsJSON
	// admin is whether the caller may see restricted logs.
	admin bool
	plan  *plan.Plan
}

// fill sets s to the entry of a service. The entry is made in place, and
// points into info, so encoding it copies and allocates nothing.
func (sr servicesResult) fill(s *serviceJSON, info *servstate.ServiceInfo) {
	*s = serviceJSON{}
	s.Name, s.Startup, s.Current, s.Stats = info.Name, info.Startup, info.Current, sr.usage[info.Name]
	s.LimitsNotEnforced, s.ExitReason = info.NotEnforced, info.ExitReason
	s.Readiness, s.StatusText = info.Readiness, info.StatusText
	if r := info.Oneshot; r != nil {
		s.Oneshot = &oneshotJSON{ExitCode: r.ExitCode, Exited: r.Exited, Output: r.Output}
		if !sr.admin && logsRestricted(sr.plan, info.Name) {
			s.Oneshot.Output = "" // its output is its logs (docs/privacy.md)
		}
	}
	if !info.CurrentSince.IsZero() {
		s.CurrentSince = &info.CurrentSince
	}
	s.serviceExitJSON = serviceExitOf(info)
	sr.a.addSchedule(s)
}

// recycle gives the snapshots back to serviceInfos, once the response is
// written.
func (sr servicesResult) recycle() {
	if sr.pooled == nil || cap(sr.infos) > maxPooledServices {
		return
	}
	clear(sr.infos) // hold no exits and outputs of the past
	*sr.pooled = sr.infos[:0]
	serviceInfos.Put(sr.pooled)
}

func (sr servicesResult) appendJSON(b []byte) ([]byte, error) {
	b = append(b, '[')
	var s serviceJSON
	for i := range sr.infos {
		if i > 0 {
			b = append(b, ',')
		}
		sr.fill(&s, &sr.infos[i])
		var err error
		if b, err = s.appendJSON(b); err != nil {
			return b, err
		}
	}
	return append(b, ']'), nil
}

// addSchedule fills in the schedule fields of a scheduled service.
func (a *api) addSchedule(s *serviceJSON) {
	if a.schedules == nil {
		return
	}
	info, ok := a.schedules.Info(s.Name)
	if !ok {
		return
	}
	next := info.NextRun
	s.Schedule, s.NextRun, s.SkippedRuns = info.Schedule, &next, info.Skipped
}

// postServices serves POST /v1/services (api.md §9.2).
func (a *api) postServices(r *http.Request, cl *caller) response {
	var req struct {
		Action   string   `json:"action"`
		Services []string `json:"services"`
	}
	if resp := decodeJSON(r, decodeDataBody, &req); resp != nil {
		return resp
	}
	id, err := a.ops.ServiceAction(req.Action, req.Services)
	if err != nil {
		return errorResponse(err)
	}
	return asyncResponse(id, nil)
}

// getPlan serves GET /v1/plan (api.md §11).
func (a *api) getPlan(r *http.Request, cl *caller) response {
	if f := r.URL.Query().Get("format"); f != "yaml" {
		return badRequest("invalid format %q", f)
	}
	data, err := planyaml.Plan(a.plan.Plan())
	if err != nil {
		return errorResponse(err)
	}
	return syncResponse(string(data))
}

// postLayers serves POST /v1/layers (api.md §11).
func (a *api) postLayers(r *http.Request, cl *caller) response {
	var req struct {
		Action  string `json:"action"`
		Combine bool   `json:"combine"`
		Inner   bool   `json:"inner"`
		Label   string `json:"label"`
		Format  string `json:"format"`
		Layer   string `json:"layer"`
	}
	if resp := decodeJSON(r, decodeBody, &req); resp != nil {
		return resp
	}
	if req.Action != "add" {
		return badRequest("invalid action %q", req.Action)
	}
	if req.Label == "" {
		return badRequest("label must be set")
	}
	if req.Format != "yaml" {
		return badRequest("invalid format %q", req.Format)
	}
	layer, err := plan.ParseLayer(0, req.Label, []byte(req.Layer))
	if err != nil {
		return badRequest("cannot parse layer YAML: %v", err)
	}
	// As in Pebble, only a layer that parsed is an admin action; one the
	// plan then refuses (a label in use, a missing command) still is.
	a.securityAdmin(cl.user(), "add_layer", "Adding layer "+req.Label)
	if err := a.ops.AddLayer(layer, req.Combine, req.Inner); err != nil {
		return errorResponse(err)
	}
	return syncResponse(true)
}

type changeJSON struct {
	ID        string         `json:"id"`
	Kind      string         `json:"kind"`
	Summary   string         `json:"summary"`
	Status    string         `json:"status"`
	Tasks     []taskJSON     `json:"tasks,omitempty"`
	Ready     bool           `json:"ready"`
	Err       string         `json:"err,omitempty"`
	SpawnTime time.Time      `json:"spawn-time"`
	ReadyTime *time.Time     `json:"ready-time,omitempty"`
	Data      map[string]any `json:"data,omitempty"`
}

type taskJSON struct {
	ID        string          `json:"id"`
	Kind      string          `json:"kind"`
	Summary   string          `json:"summary"`
	Status    string          `json:"status"`
	Log       []string        `json:"log,omitempty"`
	Progress  progressJSON    `json:"progress"`
	SpawnTime time.Time       `json:"spawn-time"`
	ReadyTime *time.Time      `json:"ready-time,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
}

type progressJSON struct {
	Label string `json:"label"`
	Done  int    `json:"done"`
	Total int    `json:"total"`
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func changeToJSON(c changes.ChangeInfo) changeJSON {
	out := changeJSON{
		ID: c.ID, Kind: c.Kind, Summary: c.Summary, Status: c.Status.String(),
		Ready: c.Ready, Err: c.Err, SpawnTime: c.SpawnTime, ReadyTime: optionalTime(c.ReadyTime),
		Data: c.Data,
	}
	for _, t := range c.Tasks {
		tj := taskJSON{
			ID: t.ID, Kind: t.Kind, Summary: t.Summary, Status: t.Status.String(), Log: t.Log,
			Progress:  progressJSON{Done: t.ProgressDone, Total: t.ProgressTotal},
			SpawnTime: t.SpawnTime, ReadyTime: optionalTime(t.ReadyTime),
		}
		if len(t.Data) > 0 && string(t.Data) != "null" {
			tj.Data = t.Data
		}
		out.Tasks = append(out.Tasks, tj)
	}
	return out
}

// getChanges serves GET /v1/changes (api.md §10.2).
func (a *api) getChanges(r *http.Request, cl *caller) response {
	q := r.URL.Query()
	var sel changes.Select
	switch q.Get("select") {
	case "", "in-progress":
		sel = changes.SelectInProgress
	case "ready":
		sel = changes.SelectReady
	case "all":
		sel = changes.SelectAll
	default:
		return badRequest("select should be one of: all,in-progress,ready")
	}
	infos := a.changes.Changes(sel, q.Get("for"))
	sort.Slice(infos, func(i, j int) bool { return infos[i].SpawnTime.Before(infos[j].SpawnTime) })
	out := make([]changeJSON, 0, len(infos))
	for _, c := range infos {
		out = append(out, changeToJSON(c))
	}
	return syncResponse(out)
}

// getChange serves GET /v1/changes/{id}.
func (a *api) getChange(r *http.Request, cl *caller) response {
	c, err := a.changes.Change(r.PathValue("id"))
	if err != nil {
		return errorResponse(err)
	}
	return syncResponse(changeToJSON(c))
}

// postChange serves POST /v1/changes/{id} (abort).
func (a *api) postChange(r *http.Request, cl *caller) response {
	var req struct {
		Action string `json:"action"`
	}
	if resp := decodeJSON(r, decodeDataBody, &req); resp != nil {
		return resp
	}
	id := r.PathValue("id")
	if _, err := a.changes.Change(id); err != nil {
		return errorResponse(err)
	}
	if req.Action != "abort" {
		return badRequest("invalid action %q", req.Action)
	}
	c, err := a.changes.Abort(id)
	if err != nil {
		return errorResponse(err)
	}
	return syncResponse(changeToJSON(c))
}

// waitChange serves GET /v1/changes/{id}/wait.
func (a *api) waitChange(r *http.Request, cl *caller) response {
	id := r.PathValue("id")
	var timeout time.Duration
	if s := r.URL.Query().Get("timeout"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return badRequest("invalid timeout: %v", err)
		}
		timeout = d
	}
	ctx, stop := a.untilStopping(r.Context())
	defer stop()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	c, err := a.changes.Wait(ctx, id)
	switch {
	case err == nil:
	case r.Context().Err() != nil:
		return internalError("request cancelled")
	case errors.Is(err, context.DeadlineExceeded):
		return errorStatus(http.StatusGatewayTimeout, "", "timed out waiting for change after %s", timeout)
	case errors.Is(context.Cause(ctx), errStopping):
		// Not the change as it is: a client would take a 200 for a
		// change that is ready.
		return internalError("daemon is stopping")
	case errors.Is(context.Cause(ctx), errUpgrading):
		return errorStatus(http.StatusServiceUnavailable, "", "daemon is upgrading; retry the request")
	default:
		return errorResponse(err)
	}
	return syncResponse(changeToJSON(c))
}

// postSignals serves POST /v1/signals (api.md §15).
func (a *api) postSignals(r *http.Request, cl *caller) response {
	var req struct {
		Signal   string   `json:"signal"`
		Services []string `json:"services"`
	}
	if resp := decodeJSON(r, decodeBody, &req); resp != nil {
		return resp
	}
	if len(req.Services) == 0 {
		return badRequest("must specify one or more services")
	}
	if err := a.services.SendSignal(req.Services, req.Signal); err != nil {
		return internalError("%s", err)
	}
	return syncResponse(true)
}
