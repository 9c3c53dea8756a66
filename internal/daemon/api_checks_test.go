package daemon

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/pebble-project/pebble/internal/apierr"
	"github.com/pebble-project/pebble/internal/checks"
	"github.com/pebble-project/pebble/internal/plan"
)

func (f *fakeOps) Checks(level string, names []string) []checks.Info {
	all := []checks.Info{
		{Name: "chk1", Level: plan.AliveLevel, Startup: plan.CheckStartupEnabled, Status: checks.StatusUp, Successes: 5, Threshold: 3, ChangeID: "10"},
		{Name: "chk2", Startup: plan.CheckStartupDisabled, Status: checks.StatusInactive, Threshold: 3, PrevChangeID: "7"},
		{Name: "chk3", Level: plan.ReadyLevel, Startup: plan.CheckStartupEnabled, Status: checks.StatusDown, Failures: 4, Threshold: 3, ChangeID: "13", PrevChangeID: "12"},
	}
	var out []checks.Info
	for _, c := range all {
		if level == "" || string(c.Level) == level {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeOps) ChecksAction(user, action string, names []string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actions = append(f.actions, "checks "+user+" "+action+" "+strings.Join(names, ","))
	if f.err != nil {
		return nil, f.err
	}
	return []string{}, nil
}

func (f *fakeOps) RefreshCheck(ctx context.Context, name string) (checks.Info, string, error) {
	if name != "chk1" {
		return checks.Info{}, "", &apierr.Error{Class: apierr.NotFound, Message: `cannot find check with name "` + name + `"`}
	}
	return checks.Info{Name: "chk1", Startup: plan.CheckStartupEnabled, Status: checks.StatusUp, Successes: 5, Failures: 1, Threshold: 3, ChangeID: "10"},
		"non-2xx status code 500; oops", nil
}

func TestChecksEndpoints(t *testing.T) {
	o := &fakeOps{}
	c := startDaemon(t, o)
	tests := []struct {
		name, method, path, body string
		status                   int
		result                   any
	}{
		{"all", "GET", "/v1/checks", "", 200, []any{
			map[string]any{"name": "chk1", "level": "alive", "startup": "enabled", "status": "up", "successes": 5.0, "threshold": 3.0, "change-id": "10"},
			map[string]any{"name": "chk2", "startup": "disabled", "status": "inactive", "successes": 0.0, "threshold": 3.0, "prev-change-id": "7"},
			map[string]any{"name": "chk3", "level": "ready", "startup": "enabled", "status": "down", "successes": 0.0, "failures": 4.0, "threshold": 3.0, "change-id": "13", "prev-change-id": "12"},
		}},
		{"none", "GET", "/v1/checks?level=alive&names=x", "", 200, []any{
			map[string]any{"name": "chk1", "level": "alive", "startup": "enabled", "status": "up", "successes": 5.0, "threshold": 3.0, "change-id": "10"},
		}},
		{"bad level", "GET", "/v1/checks?level=up", "", 400, map[string]any{"message": `level must be "alive" or "ready"`}},
		{"bad body", "POST", "/v1/checks", `{"action":`, 400, map[string]any{"message": "cannot decode data from request body: unexpected EOF"}},
		{"action", "POST", "/v1/checks", `{"action":"stop","checks":["chk1"]}`, 200, map[string]any{"changed": []any{}}},
		{"refresh", "POST", "/v1/checks/refresh", `{"name":"chk1"}`, 200, map[string]any{
			"info":  map[string]any{"name": "chk1", "startup": "enabled", "status": "up", "successes": 5.0, "failures": 1.0, "threshold": 3.0, "change-id": "10"},
			"error": "non-2xx status code 500; oops"}},
		{"refresh unknown", "POST", "/v1/checks/refresh", `{"name":"x"}`, 404, map[string]any{"message": `cannot find check with name "x"`}},
		{"refresh bad body", "POST", "/v1/checks/refresh", `[]`, 400, map[string]any{
			"message": "cannot decode data from request body: json: cannot unmarshal array into Go value of type struct { Name string \"json:\\\"name\\\"\" }"}},
		{"refresh get", "GET", "/v1/checks/refresh", "", 405, map[string]any{"message": `method "GET" not allowed`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := do(t, c, tt.method, tt.path, tt.body)
			assert.Equal(t, tt.status, status)
			assert.Equal(t, tt.result, body["result"])
		})
	}
	assert.Equal(t, []string{"checks " + strconv.Itoa(os.Getuid()) + " stop chk1"}, o.actions)
}

func TestChecksActionError(t *testing.T) {
	o := &fakeOps{err: &apierr.Error{Class: apierr.BadRequest, Message: "must specify checks for start action"}}
	c := startDaemon(t, o)
	status, body := do(t, c, "POST", "/v1/checks", `{"action":"start"}`)
	assert.Equal(t, 400, status)
	assert.Equal(t, map[string]any{"message": "must specify checks for start action"}, body["result"])
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
