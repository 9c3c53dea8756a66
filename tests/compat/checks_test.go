package compat

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/canonical/pebble/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestChecks drives the checks endpoints with Canonical's client: listing,
// refresh, start/stop and health, against a loopback HTTP server.
func TestChecks(t *testing.T) {
	var status atomic.Int32
	status.Store(200)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closedPort := l.Addr().(*net.TCPAddr).Port
	l.Close()

	d := startDaemon(t, map[string]string{"001-checks.yaml": `
checks:
    web:
        override: replace
        level: alive
        period: 1h
        threshold: 2
        http:
            url: ` + srv.URL + `
    port:
        override: replace
        level: ready
        startup: disabled
        tcp:
            host: 127.0.0.1
            port: ` + strconv.Itoa(closedPort) + `
`}, "--hold")
	c := d.client

	checks, err := c.Checks(&client.ChecksOptions{})
	require.NoError(t, err)
	require.Len(t, checks, 2)
	zero := 0
	assert.Equal(t, &client.CheckInfo{Name: "port", Level: client.ReadyLevel, Startup: client.CheckStartupDisabled,
		Status: client.CheckStatusInactive, Successes: &zero, Threshold: 3}, checks[0])
	assert.Equal(t, "web", checks[1].Name)
	assert.Equal(t, client.CheckStatusUp, checks[1].Status)
	assert.NotEmpty(t, checks[1].ChangeID)

	checks, err = c.Checks(&client.ChecksOptions{Level: client.AliveLevel, Names: []string{"web", "port"}})
	require.NoError(t, err)
	require.Len(t, checks, 1)
	assert.Equal(t, "web", checks[0].Name)

	status.Store(500)
	for i := 1; i <= 2; i++ {
		res, err := c.RefreshCheck(&client.RefreshCheckOptions{Name: "web"})
		require.NoError(t, err)
		assert.Equal(t, "non-2xx status code 500", res.Error)
		assert.Equal(t, i, res.Info.Failures)
	}
	healthy, err := c.Health(&client.HealthOptions{})
	require.NoError(t, err)
	assert.False(t, healthy)
	healthy, err = c.Health(&client.HealthOptions{Level: client.ReadyLevel})
	require.NoError(t, err)
	assert.False(t, healthy, "not alive implies not ready")

	res, err := c.StartChecks(&client.ChecksActionOptions{Names: []string{"port", "web"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"port"}, res.Changed)
	res, err = c.StopChecks(&client.ChecksActionOptions{Names: []string{"web"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"web"}, res.Changed)
	healthy, err = c.Health(&client.HealthOptions{Names: []string{"web"}})
	require.NoError(t, err)
	assert.True(t, healthy, "inactive checks are ignored")

	_, err = c.StartChecks(&client.ChecksActionOptions{Names: []string{"nope"}})
	e := apiError(t, err)
	assert.Equal(t, 400, e.StatusCode)
	assert.Equal(t, "cannot start checks: cannot find checks in plan: nope", e.Message)
	_, err = c.RefreshCheck(&client.RefreshCheckOptions{Name: "nope"})
	e = apiError(t, err)
	assert.Equal(t, 404, e.StatusCode)
	assert.Equal(t, `cannot find check with name "nope"`, e.Message)

	// The task log of the failed perform-check change, as `pebble check`
	// reads it.
	chg, err := c.Change(checks[0].ChangeID)
	require.NoError(t, err)
	assert.Equal(t, "perform-check", chg.Kind)
	assert.Equal(t, "Error", chg.Status)
	require.Len(t, chg.Tasks, 1)
	assert.Len(t, chg.Tasks[0].Log, 2)
	assert.WithinDuration(t, time.Now(), chg.ReadyTime, time.Minute)
	d.stop()
}
