package client_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/client"
)

// The bodies of api.md §12.
const (
	checksJSON = `{"type":"sync","status-code":200,"status":"OK","result":[` +
		`{"name":"up","level":"alive","startup":"enabled","status":"up","successes":5,"threshold":1,"change-id":"10"},` +
		`{"name":"online","level":"ready","startup":"enabled","status":"down","successes":0,"failures":3,"threshold":3,"change-id":"13","prev-change-id":"12"},` +
		`{"name":"extra","startup":"disabled","status":"inactive","successes":0,"threshold":3}]}`
	checksChangedJSON = `{"type":"sync","status-code":200,"status":"OK","result":{"changed":["extra"]}}`
	refreshJSON       = `{"type":"sync","status-code":200,"status":"OK","result":{"info":` +
		`{"name":"online","level":"ready","startup":"enabled","status":"down","successes":0,"failures":4,"threshold":3,"change-id":"13","prev-change-id":"12"},` +
		`"error":"dial tcp 127.0.0.1:8000: connect: connection refused"}}`
)

func intp(n int) *int { return &n }

func TestChecks(t *testing.T) {
	d, c := newFakeDaemon(t, map[string]reply{"GET /v1/checks": {200, checksJSON}})
	infos, err := c.Checks(context.Background(), &client.ChecksOptions{Level: client.ReadyLevel, Names: []string{"online", "up"}})
	require.NoError(t, err)
	assert.Equal(t, []*client.CheckInfo{
		{Name: "up", Level: client.AliveLevel, Startup: client.CheckStartupEnabled, Status: client.CheckStatusUp, Successes: intp(5), Threshold: 1, ChangeID: "10"},
		{Name: "online", Level: client.ReadyLevel, Startup: client.CheckStartupEnabled, Status: client.CheckStatusDown, Successes: intp(0), Failures: 3, Threshold: 3, ChangeID: "13", PrevChangeID: "12"},
		{Name: "extra", Startup: client.CheckStartupDisabled, Status: client.CheckStatusInactive, Successes: intp(0), Threshold: 3},
	}, infos)
	_, err = c.Checks(context.Background(), nil)
	require.NoError(t, err)
	reqs := d.Requests()
	assert.Equal(t, "level=ready&names=online%2Cup", reqs[0].RawQuery)
	assert.Equal(t, "", reqs[1].RawQuery)
}

func TestStartStopChecks(t *testing.T) {
	d, c := newFakeDaemon(t, map[string]reply{"POST /v1/checks": {200, checksChangedJSON}})
	res, err := c.StartChecks(context.Background(), &client.ChecksActionOptions{Names: []string{"extra", "up"}})
	require.NoError(t, err)
	assert.Equal(t, &client.ChecksActionResult{Changed: []string{"extra"}}, res)
	_, err = c.StopChecks(context.Background(), &client.ChecksActionOptions{Names: []string{"extra"}})
	require.NoError(t, err)
	reqs := d.Requests()
	assert.Equal(t, map[string]any{"action": "start", "checks": []any{"extra", "up"}}, reqs[0].Body)
	assert.Equal(t, map[string]any{"action": "stop", "checks": []any{"extra"}}, reqs[1].Body)
}

func TestStartChecksError(t *testing.T) {
	_, c := newFakeDaemon(t, map[string]reply{"POST /v1/checks": errorJSON(400, "Bad Request",
		`{"message":"cannot start checks: cannot find checks in plan: nope"}`)})
	_, err := c.StartChecks(context.Background(), &client.ChecksActionOptions{Names: []string{"nope"}})
	var e *client.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 400, e.StatusCode)
	assert.Equal(t, "cannot start checks: cannot find checks in plan: nope", e.Message)
}

func TestRefreshCheck(t *testing.T) {
	d, c := newFakeDaemon(t, map[string]reply{"POST /v1/checks/refresh": {200, refreshJSON}})
	res, err := c.RefreshCheck(context.Background(), &client.RefreshCheckOptions{Name: "online"})
	require.NoError(t, err)
	assert.Equal(t, &client.RefreshCheckResult{
		Info: client.CheckInfo{Name: "online", Level: client.ReadyLevel, Startup: client.CheckStartupEnabled, Status: client.CheckStatusDown,
			Successes: intp(0), Failures: 4, Threshold: 3, ChangeID: "13", PrevChangeID: "12"},
		Error: "dial tcp 127.0.0.1:8000: connect: connection refused",
	}, res)
	assert.Equal(t, map[string]any{"name": "online"}, d.Requests()[0].Body)
}
