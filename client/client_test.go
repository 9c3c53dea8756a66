package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/client"
)

func TestNewNeedsAnAddress(t *testing.T) {
	_, err := client.New(nil)
	require.Error(t, err)
	_, err = client.New(&client.Config{BaseURL: "ftp://x"})
	require.Error(t, err)
}

func TestSysInfo(t *testing.T) {
	d, c := newFakeDaemon(t, map[string]reply{"GET /v1/system-info": {200, sysInfoJSON}})
	info, err := c.SysInfo(context.Background())
	require.NoError(t, err)
	assert.Equal(t, &client.SysInfo{
		Version:     "v1.32.1",
		BootID:      "e14ed96e-5a98-4402-80f7-d19dd949eac3",
		HTTPAddress: ":4000",
	}, info)
	assert.Equal(t, []recorded{{Method: "GET", Path: "/v1/system-info"}}, d.Requests())
}

func TestSysInfoError(t *testing.T) {
	_, c := newFakeDaemon(t, map[string]reply{"GET /v1/system-info": errorJSON(500, "Internal Server Error", `{"message":"boom"}`)})
	_, err := c.SysInfo(context.Background())
	assert.EqualError(t, err, "cannot obtain system details: boom")
	var e *client.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 500, e.StatusCode)
}

func TestHealth(t *testing.T) {
	d, c := newFakeDaemon(t, map[string]reply{"GET /v1/health": {200, healthyJSON}})
	healthy, err := c.Health(context.Background(), &client.HealthOptions{Level: client.ReadyLevel, Names: []string{"a", "b"}})
	require.NoError(t, err)
	assert.True(t, healthy)
	assert.Equal(t, "level=ready&names=a&names=b", d.Requests()[0].RawQuery)

	// A nil opts asks about every check.
	_, err = c.Health(context.Background(), nil)
	require.NoError(t, err)
	assert.Equal(t, "", d.Requests()[1].RawQuery)
}

func TestHealthUnhealthyIsNotAnError(t *testing.T) {
	_, c := newFakeDaemon(t, map[string]reply{"GET /v1/health": {502, unhealthyJSON}})
	healthy, err := c.Health(context.Background(), &client.HealthOptions{})
	require.NoError(t, err)
	assert.False(t, healthy)
}

func TestHealthBadLevel(t *testing.T) {
	_, c := newFakeDaemon(t, map[string]reply{"GET /v1/health": errorJSON(400, "Bad Request", `{"message":"level must be \"alive\" or \"ready\""}`)})
	_, err := c.Health(context.Background(), &client.HealthOptions{Level: "bogus"})
	assert.EqualError(t, err, `level must be "alive" or "ready"`)
}

func TestServices(t *testing.T) {
	d, c := newFakeDaemon(t, map[string]reply{"GET /v1/services": {200, servicesJSON}})
	infos, err := c.Services(context.Background(), &client.ServicesOptions{Names: []string{"srv1", "srv2"}})
	require.NoError(t, err)
	since := time.Date(2026, 1, 20, 15, 4, 5, 123e6, time.FixedZone("", 2*3600))
	require.Len(t, infos, 2)
	assert.Equal(t, "srv1", infos[0].Name)
	assert.Equal(t, client.StartupEnabled, infos[0].Startup)
	assert.Equal(t, client.StatusActive, infos[0].Current)
	assert.True(t, infos[0].CurrentSince.Equal(since), "got %v", infos[0].CurrentSince)
	assert.Equal(t, &client.ServiceInfo{Name: "srv2", Startup: client.StartupDisabled, Current: client.StatusInactive}, infos[1])
	assert.Equal(t, "names=srv1%2Csrv2", d.Requests()[0].RawQuery)

	// All services: the Go client sends an empty names parameter.
	_, err = c.Services(context.Background(), nil)
	require.NoError(t, err)
	assert.Equal(t, "names=", d.Requests()[1].RawQuery)
}

func TestServiceActions(t *testing.T) {
	type action func(context.Context, *client.ServiceOptions) (string, error)
	d, c := newFakeDaemon(t, map[string]reply{"POST /v1/services": {202, asyncJSON}})
	tests := []struct {
		name  string
		call  action
		names []string
	}{
		{"start", c.Start, []string{"srv1", "srv2"}},
		{"stop", c.Stop, []string{"srv1"}},
		{"restart", c.Restart, []string{"srv2"}},
		{"replan", c.Replan, nil},
		{"autostart", c.AutoStart, nil},
		{"reload", c.Reload, []string{"srv1"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := tt.call(context.Background(), &client.ServiceOptions{Names: tt.names})
			require.NoError(t, err)
			assert.Equal(t, "42", id)
			req := d.Requests()[i]
			assert.Equal(t, "POST", req.Method)
			var services any
			if tt.names != nil {
				var list []any
				for _, n := range tt.names {
					list = append(list, n)
				}
				services = list
			}
			assert.Equal(t, map[string]any{"action": tt.name, "services": services}, req.Body)
		})
	}
}

func TestServiceActionErrors(t *testing.T) {
	_, c := newFakeDaemon(t, map[string]reply{
		"POST /v1/services": errorJSON(400, "Bad Request", `{"message":"no default services","kind":"no-default-services"}`),
	})
	_, err := c.AutoStart(context.Background(), nil)
	var e *client.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, &client.Error{Kind: client.ErrorKindNoDefaultServices, Message: "no default services", StatusCode: 400}, e)
}

func TestServiceActionNeedsAsync(t *testing.T) {
	_, c := newFakeDaemon(t, map[string]reply{"POST /v1/services": {200, okTrueJSON}})
	_, err := c.Start(context.Background(), &client.ServiceOptions{Names: []string{"a"}})
	assert.EqualError(t, err, `expected async response for "POST" on "/v1/services", got "sync"`)
}

func TestAddLayer(t *testing.T) {
	d, c := newFakeDaemon(t, map[string]reply{"POST /v1/layers": {200, okTrueJSON}})
	layer := "services:\n  web:\n    override: replace\n    command: /bin/web\n"
	err := c.AddLayer(context.Background(), &client.AddLayerOptions{Combine: true, Label: "my-layer", LayerData: []byte(layer)})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"action": "add", "combine": true, "inner": false, "label": "my-layer", "format": "yaml", "layer": layer,
	}, d.Requests()[0].Body)
}

func TestAddLayerError(t *testing.T) {
	_, c := newFakeDaemon(t, map[string]reply{
		"POST /v1/layers": errorJSON(400, "Bad Request", `{"message":"layer \"my-layer\" already exists"}`),
	})
	err := c.AddLayer(context.Background(), &client.AddLayerOptions{Label: "my-layer"})
	assert.EqualError(t, err, `layer "my-layer" already exists`)
}

func TestPlanBytes(t *testing.T) {
	d, c := newFakeDaemon(t, map[string]reply{
		"GET /v1/plan": {200, `{"type":"sync","status-code":200,"status":"OK","result":"services:\n    svc1:\n        override: replace\n        command: sleep 300\n"}`},
	})
	data, err := c.PlanBytes(context.Background(), nil)
	require.NoError(t, err)
	assert.Equal(t, "services:\n    svc1:\n        override: replace\n        command: sleep 300\n", string(data))
	assert.Equal(t, "format=yaml", d.Requests()[0].RawQuery)
}

func TestChange(t *testing.T) {
	d, c := newFakeDaemon(t, map[string]reply{"GET /v1/changes/{id}": {200, changeJSON}})
	chg, err := c.Change(context.Background(), "42")
	require.NoError(t, err)
	assert.Equal(t, "/v1/changes/42", d.Requests()[0].Path)
	checkChange42(t, chg)
}

func checkChange42(t *testing.T, chg *client.Change) {
	t.Helper()
	assert.Equal(t, "42", chg.ID)
	assert.Equal(t, "start", chg.Kind)
	assert.Equal(t, `Start service "srv1"`, chg.Summary)
	assert.Equal(t, "Error", chg.Status)
	assert.True(t, chg.Ready)
	assert.Equal(t, "cannot perform the following tasks:\n- Start service \"srv1\" (service start attempt: exited quickly with code 1, will restart)", chg.Err)
	assert.Equal(t, time.Date(2026, 1, 20, 10, 4, 39, 0, time.UTC), chg.SpawnTime.UTC())
	assert.Equal(t, time.Date(2026, 1, 20, 10, 4, 40, 0, time.UTC), chg.ReadyTime.UTC())
	var note string
	require.NoError(t, chg.Get("note", &note))
	assert.Equal(t, "x", note)
	assert.ErrorIs(t, chg.Get("missing", &note), client.ErrNoData)

	require.Len(t, chg.Tasks, 1)
	task := chg.Tasks[0]
	assert.Equal(t, "7", task.ID)
	assert.Equal(t, client.TaskProgress{Done: 1, Total: 1}, task.Progress)
	assert.Equal(t, []string{"2026-01-20T10:04:40Z ERROR service start attempt: exited quickly with code 1, will restart"}, task.Log)
	var code int
	require.NoError(t, task.Get("exit-code", &code))
	assert.Equal(t, 1, code)
}

func TestChangeNotFound(t *testing.T) {
	_, c := newFakeDaemon(t, map[string]reply{
		"GET /v1/changes/{id}": errorJSON(404, "Not Found", `{"message":"cannot find change with id \"9\""}`),
	})
	_, err := c.Change(context.Background(), "9")
	var e *client.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 404, e.StatusCode)
	assert.Equal(t, `cannot find change with id "9"`, e.Message)
}

func TestInvalidChangeID(t *testing.T) {
	d, c := newFakeDaemon(t, nil)
	_, err := c.Change(context.Background(), "../x")
	assert.EqualError(t, err, `invalid change ID "../x"`)
	_, err = c.Abort(context.Background(), "")
	assert.EqualError(t, err, `invalid change ID ""`)
	_, err = c.WaitChange(context.Background(), "A", nil)
	assert.EqualError(t, err, `invalid change ID "A"`)
	assert.Empty(t, d.Requests())
}

func TestChanges(t *testing.T) {
	d, c := newFakeDaemon(t, map[string]reply{
		"GET /v1/changes": {200, `{"type":"sync","status-code":200,"status":"OK","result":[` + changeObject + `]}`},
	})
	chgs, err := c.Changes(context.Background(), &client.ChangesOptions{Selector: client.ChangesAll, ServiceName: "srv1"})
	require.NoError(t, err)
	require.Len(t, chgs, 1)
	checkChange42(t, chgs[0])
	assert.Equal(t, "for=srv1&select=all", d.Requests()[0].RawQuery)

	_, err = c.Changes(context.Background(), nil)
	require.NoError(t, err)
	assert.Equal(t, "", d.Requests()[1].RawQuery)
}

func TestChangeSelectorString(t *testing.T) {
	assert.Equal(t, "in-progress", client.ChangesInProgress.String())
	assert.Equal(t, "ready", client.ChangesReady.String())
	assert.Equal(t, "all", client.ChangesAll.String())
	assert.Panics(t, func() { _ = client.ChangeSelector(0).String() })
}

func TestAbort(t *testing.T) {
	d, c := newFakeDaemon(t, map[string]reply{
		"POST /v1/changes/{id}": {200, `{"type":"sync","status-code":200,"status":"OK","result":{"id":"5","kind":"start","summary":"s","status":"Abort","ready":false,"spawn-time":"2026-01-20T10:04:39Z"}}`},
	})
	chg, err := c.Abort(context.Background(), "5")
	require.NoError(t, err)
	assert.Equal(t, "Abort", chg.Status)
	assert.False(t, chg.Ready)
	assert.True(t, chg.ReadyTime.IsZero())
	assert.Equal(t, recorded{Method: "POST", Path: "/v1/changes/5", Body: map[string]any{"action": "abort"}}, d.Requests()[0])
}

func TestWaitChange(t *testing.T) {
	d, c := newFakeDaemon(t, map[string]reply{"GET /v1/changes/{id}/wait": {200, changeJSON}})
	chg, err := c.WaitChange(context.Background(), "42", &client.WaitChangeOptions{Timeout: 1500 * time.Millisecond})
	require.NoError(t, err)
	checkChange42(t, chg)
	assert.Equal(t, recorded{Method: "GET", Path: "/v1/changes/42/wait", RawQuery: "timeout=1.5s"}, d.Requests()[0])
}

func TestWaitChangeTimeout(t *testing.T) {
	_, c := newFakeDaemon(t, map[string]reply{
		"GET /v1/changes/{id}/wait": errorJSON(504, "Gateway Timeout", `{"message":"timed out waiting for change after 1s"}`),
	})
	_, err := c.WaitChange(context.Background(), "42", &client.WaitChangeOptions{Timeout: time.Second})
	var e *client.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, http.StatusGatewayTimeout, e.StatusCode)
}

func TestSendSignal(t *testing.T) {
	d, c := newFakeDaemon(t, map[string]reply{"POST /v1/signals": {200, okTrueJSON}})
	err := c.SendSignal(context.Background(), &client.SendSignalOptions{Signal: "SIGHUP", Services: []string{"a", "b"}})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"signal": "SIGHUP", "services": []any{"a", "b"}}, d.Requests()[0].Body)
}

func TestSendSignalError(t *testing.T) {
	_, c := newFakeDaemon(t, map[string]reply{
		"POST /v1/signals": errorJSON(500, "Internal Server Error", `{"message":"cannot send signal to \"a\": service is not running"}`),
	})
	err := c.SendSignal(context.Background(), &client.SendSignalOptions{Signal: "SIGHUP", Services: []string{"a"}})
	assert.EqualError(t, err, `cannot send signal to "a": service is not running`)
}

func TestUnknownEndpoint(t *testing.T) {
	// The fake daemon answers unknown paths like the real one (api.md §3).
	_, c := newFakeDaemon(t, nil)
	_, err := c.SysInfo(context.Background())
	assert.EqualError(t, err, "cannot obtain system details: invalid API endpoint requested")
}

func TestErrorWithoutMessage(t *testing.T) {
	_, c := newFakeDaemon(t, map[string]reply{"POST /v1/signals": errorJSON(500, "Internal Server Error", `{}`)})
	err := c.SendSignal(context.Background(), &client.SendSignalOptions{})
	assert.EqualError(t, err, `server error: "Internal Server Error"`)
}

func TestNotJSON(t *testing.T) {
	_, c := newFakeDaemon(t, map[string]reply{"GET /v1/services": {200, `not json`}})
	_, err := c.Services(context.Background(), nil)
	assert.ErrorContains(t, err, `cannot decode "not json"`)
}

func TestLatestWarningAndMaintenance(t *testing.T) {
	_, c := newFakeDaemon(t, map[string]reply{
		"GET /v1/system-info": {200, `{"type":"sync","status-code":200,"status":"OK","result":{"version":"v1"},` +
			`"latest-warning":"2026-01-20T10:00:00Z","maintenance":{"kind":"daemon-restart","message":"daemon is restarting"}}`},
	})
	assert.True(t, c.LatestWarningTime().IsZero())
	assert.NoError(t, c.Maintenance())
	_, err := c.SysInfo(context.Background())
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 1, 20, 10, 0, 0, 0, time.UTC), c.LatestWarningTime())
	var e *client.Error
	require.ErrorAs(t, c.Maintenance(), &e)
	assert.Equal(t, client.ErrorKindDaemonRestart, e.Kind)
}

func TestSocketNotFound(t *testing.T) {
	socket := filepath.Join(t.TempDir(), ".pebble.socket")
	c, err := client.New(&client.Config{Socket: socket})
	require.NoError(t, err)

	// POST requests are not retried.
	_, err = c.Start(context.Background(), &client.ServiceOptions{Names: []string{"a"}})
	assert.EqualError(t, err, `cannot communicate with server: Post "http://localhost/v1/services": socket "`+socket+`" not found`)
	var connErr client.ConnectionError
	assert.ErrorAs(t, err, &connErr)
	var notFound client.SocketNotFoundError
	require.ErrorAs(t, err, &notFound)
	assert.Equal(t, socket, notFound.Path)

	// GET requests are retried until the context ends.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.Services(ctx, nil)
	assert.GreaterOrEqual(t, time.Since(start), 250*time.Millisecond)
	assert.EqualError(t, err, `cannot communicate with server: Get "http://localhost/v1/services?names=": socket "`+socket+`" not found`)
}

func TestGetRetriedUntilDaemonAppears(t *testing.T) {
	d, err := startFakeDaemon(map[string]reply{"GET /v1/system-info": {200, sysInfoJSON}})
	require.NoError(t, err)
	t.Cleanup(d.Close)
	// Point the client at a socket that appears only after a while.
	socket := filepath.Join(t.TempDir(), "late.socket")
	c, err := client.New(&client.Config{Socket: socket})
	require.NoError(t, err)
	go func() {
		time.Sleep(300 * time.Millisecond)
		_ = os.Symlink(d.Socket, socket)
	}()
	info, err := c.SysInfo(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "v1.32.1", info.Version)
}

func TestBaseURL(t *testing.T) {
	var gotAuth, gotAgent string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		gotAuth = u + ":" + p
		gotAgent = r.UserAgent()
		if !strings.HasPrefix(r.URL.Path, "/base/v1/health") {
			w.WriteHeader(404)
			return
		}
		reply{200, healthyJSON}.write(w)
	}))
	defer srv.Close()
	c, err := client.New(&client.Config{BaseURL: srv.URL + "/base", BasicUsername: "bob", BasicPassword: "pw", UserAgent: "test/1"})
	require.NoError(t, err)
	healthy, err := c.Health(context.Background(), nil)
	require.NoError(t, err)
	assert.True(t, healthy)
	assert.Equal(t, "bob:pw", gotAuth)
	assert.Equal(t, "test/1", gotAgent)
}

func TestContextCancelled(t *testing.T) {
	_, c := newFakeDaemon(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Start(ctx, &client.ServiceOptions{Names: []string{"a"}})
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.Canceled), "got %v", err)
}
