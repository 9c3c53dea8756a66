package daemon

import (
	"context"
	"net/http"

	"github.com/pebble-project/pebble/internal/checks"
)

// checkOps are the verbs of the checks endpoints (api.md §12).
type checkOps interface {
	Checks(level string, names []string) []checks.Info
	// ChecksAction starts or stops checks; user names the caller in
	// security log lines.
	ChecksAction(user, action string, names []string) (changed []string, err error)
	RefreshCheck(ctx context.Context, name string) (info checks.Info, checkErr string, err error)
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
func (a *api) getChecks(r *http.Request) response {
	level := r.URL.Query().Get("level")
	if level != "" && level != "alive" && level != "ready" {
		return badRequest(`level must be "alive" or "ready"`)
	}
	infos := a.ops.Checks(level, multiValue(r, "names"))
	out := make([]checkJSON, 0, len(infos))
	for _, c := range infos {
		out = append(out, checkToJSON(c))
	}
	return syncResponse(out)
}

// postChecks serves POST /v1/checks (api.md §12.2).
func (a *api) postChecks(r *http.Request) response {
	var req struct {
		Action string   `json:"action"`
		Checks []string `json:"checks"`
	}
	if resp := decodeJSON(r, decodeDataBody, &req); resp != nil {
		return resp
	}
	changed, err := a.ops.ChecksAction(callerOf(r).user(), req.Action, req.Checks)
	if err != nil {
		return errorResponse(err)
	}
	return syncResponse(map[string][]string{"changed": changed})
}

// postChecksRefresh serves POST /v1/checks/refresh (api.md §12.3).
func (a *api) postChecksRefresh(r *http.Request) response {
	var req struct {
		Name string `json:"name"`
	}
	if resp := decodeJSON(r, decodeDataBody, &req); resp != nil {
		return resp
	}
	info, checkErr, err := a.ops.RefreshCheck(r.Context(), req.Name)
	if err != nil {
		return errorResponse(err)
	}
	return syncResponse(struct {
		Info  checkJSON `json:"info"`
		Error string    `json:"error,omitempty"`
	}{checkToJSON(info), checkErr})
}
