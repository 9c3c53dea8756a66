package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/pebble-project/pebble/internal/checks"
	"github.com/pebble-project/pebble/internal/plan"
)

// Checks runs the plan's health checks (api.md §7 and §12);
// internal/checks' Manager satisfies it. Its errors for unknown names match
// checks.ErrNotFound.
type Checks interface {
	// Checks lists the checks whose level is level ("" for all) and whose
	// name is in names (all when empty).
	Checks(level plan.CheckLevel, names []string) []checks.Info
	// Healthy is false when a participating check is down; it only reads
	// the checks' current status, so it never waits for a check to run.
	Healthy(level plan.CheckLevel, names []string) bool
	// StartChecks and StopChecks return the names actually started or
	// stopped, sorted; an unknown name changes nothing.
	StartChecks(names []string) ([]string, error)
	StopChecks(names []string) ([]string, error)
	// Refresh runs a check now and waits for its result.
	Refresh(ctx context.Context, name string) (checks.RefreshResult, error)
}

// checkJSON is a check entry of api.md §12.1.
type checkJSON struct {
	Name         string `json:"name"`
	Level        string `json:"level,omitempty"`
	Startup      string `json:"startup"`
	Status       string `json:"status"`
	Successes    int    `json:"successes"`
	Failures     int    `json:"failures,omitempty"`
	Threshold    int    `json:"threshold"`
	ChangeID     string `json:"change-id,omitempty"`
	PrevChangeID string `json:"prev-change-id,omitempty"`
}

func checkToJSON(c checks.Info) checkJSON {
	return checkJSON{
		Name:         c.Name,
		Level:        string(c.Level),
		Startup:      string(c.Startup),
		Status:       string(c.Status),
		Successes:    c.Successes,
		Failures:     c.Failures,
		Threshold:    c.Threshold,
		ChangeID:     c.ChangeID,
		PrevChangeID: c.PrevChangeID,
	}
}

// getChecks serves GET /v1/checks (api.md §12.1).
func (a *api) getChecks(r *http.Request, cl *caller) response {
	level := r.URL.Query().Get("level")
	if level != "" && level != "alive" && level != "ready" {
		return badRequest(`level must be "alive" or "ready"`)
	}
	infos := a.checks.Checks(plan.CheckLevel(level), multiValue(r, "names"))
	out := make([]checkJSON, 0, len(infos))
	for _, c := range infos {
		out = append(out, checkToJSON(c))
	}
	return syncResponse(out)
}

// postChecks serves POST /v1/checks (api.md §12.2): it starts or stops
// checks and answers with the names actually started or stopped, sorted
// (never null). A stop writes the security event sys_monitor_disabled for
// every name requested, with the caller's user (behaviour.md §12).
func (a *api) postChecks(r *http.Request, cl *caller) response {
	var req struct {
		Action string   `json:"action"`
		Checks []string `json:"checks"`
	}
	if resp := decodeJSON(r, decodeDataBody, &req); resp != nil {
		return resp
	}
	if len(req.Checks) == 0 {
		return badRequest("must specify checks for %s action", req.Action)
	}
	var changed []string
	var err error
	switch req.Action {
	case "start":
		changed, err = a.checks.StartChecks(req.Checks)
	case "stop":
		user := cl.user()
		for _, name := range req.Checks {
			a.securityEvent("WARN", fmt.Sprintf("sys_monitor_disabled:%s,%s", user, name), "Stopping check "+name)
		}
		changed, err = a.checks.StopChecks(req.Checks)
	default:
		return badRequest("invalid action %q", req.Action)
	}
	if errors.Is(err, checks.ErrNotFound) {
		return badRequest("cannot %s checks: %v", req.Action, err)
	}
	if err != nil {
		return internalError("cannot %s checks: %v", req.Action, err)
	}
	if changed == nil {
		changed = []string{}
	}
	return syncResponse(map[string][]string{"changed": changed})
}

// postChecksRefresh serves POST /v1/checks/refresh (api.md §12.3,
// behaviour.md §7.7): it runs a check now, waits for it and answers with
// the check after the run and the run's error text (absent on success).
func (a *api) postChecksRefresh(r *http.Request, cl *caller) response {
	var req struct {
		Name string `json:"name"`
	}
	if resp := decodeJSON(r, decodeDataBody, &req); resp != nil {
		return resp
	}
	if req.Name == "" {
		return badRequest("must specify check name")
	}
	res, err := a.checks.Refresh(r.Context(), req.Name)
	if errors.Is(err, checks.ErrNotFound) {
		return notFound("cannot find check with name %q", req.Name)
	}
	if err != nil {
		return errorResponse(err)
	}
	var checkErr string
	if res.Err != nil {
		checkErr = checks.ErrorText(res.Err)
	}
	return syncResponse(struct {
		Info  checkJSON `json:"info"`
		Error string    `json:"error,omitempty"`
	}{checkToJSON(res.Info), checkErr})
}
