package tests

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/client"
	"github.com/pebble-project/pebble/internal/testutil"
)

// client returns a Go client for this daemon.
func (d *daemon) client() *client.Client {
	d.t.Helper()
	c, err := client.New(&client.Config{Socket: d.socket})
	require.NoError(d.t, err)
	d.t.Cleanup(c.CloseIdleConnections)
	return c
}

// TestClientServiceLifecycle drives a daemon through our Go client: the
// services actions, changes, waiting, aborting, signals and errors.
func TestClientServiceLifecycle(t *testing.T) {
	dir := newPebbleDir(t, nil)
	writeScript(t, dir, "svc.sh", `
trap 'echo usr1 >> @DIR@/signals' USR1
echo $$ >> @DIR@/svc.pid
while :; do sleep 1000 & wait $!; done
`)
	writeScript(t, dir, "slow.sh", longRunning)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    svc:
        override: replace
        command: /bin/sh @DIR@/svc.sh
    slow:
        override: replace
        command: /bin/sh @DIR@/slow.sh
`})
	d := startDaemon(t, dir, daemonOptions{})
	c := d.client()
	ctx := t.Context()

	info, err := c.SysInfo(ctx)
	require.NoError(t, err)
	assert.NotEmpty(t, info.Version)
	assert.NotEmpty(t, info.BootID)

	// Nothing is enabled, so autostart has nothing to do.
	_, err = c.AutoStart(ctx, &client.ServiceOptions{})
	var apiErr *client.Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "no-default-services", apiErr.Kind)
	assert.Equal(t, "no default services", apiErr.Message)
	assert.Equal(t, 400, apiErr.StatusCode)

	svcs, err := c.Services(ctx, nil)
	require.NoError(t, err)
	require.Len(t, svcs, 2)
	assert.Equal(t, "slow", svcs[0].Name)
	assert.Equal(t, "svc", svcs[1].Name)
	for _, s := range svcs {
		assert.Equal(t, client.StatusInactive, s.Current)
		assert.Equal(t, client.StartupDisabled, s.Startup)
		assert.True(t, s.CurrentSince.IsZero(), "never-started %s has current-since", s.Name)
	}

	before := time.Now()
	id, err := c.Start(ctx, &client.ServiceOptions{Names: []string{"svc"}})
	require.NoError(t, err)
	chg, err := c.WaitChange(ctx, id, nil)
	require.NoError(t, err)
	assert.Equal(t, "Done", chg.Status)
	assert.Equal(t, "start", chg.Kind)
	assert.Equal(t, `Start service "svc"`, chg.Summary)
	assert.True(t, chg.Ready)
	require.Len(t, chg.Tasks, 1)
	assert.Equal(t, "start", chg.Tasks[0].Kind)
	assert.Equal(t, `Start service "svc"`, chg.Tasks[0].Summary)
	assert.Equal(t, "Done", chg.Tasks[0].Status)
	assert.GreaterOrEqual(t, chg.ReadyTime.Sub(chg.SpawnTime), 900*time.Millisecond, "start ends after the okay delay")

	svcs, err = c.Services(ctx, &client.ServicesOptions{Names: []string{"svc", "nope"}})
	require.NoError(t, err)
	require.Len(t, svcs, 1)
	assert.Equal(t, client.StatusActive, svcs[0].Current)
	assert.WithinRange(t, svcs[0].CurrentSince, before.Add(-time.Second), time.Now())

	// A second start is a no-op with a task log line.
	id, err = c.Start(ctx, &client.ServiceOptions{Names: []string{"svc"}})
	require.NoError(t, err)
	chg, err = c.WaitChange(ctx, id, nil)
	require.NoError(t, err)
	assert.Equal(t, "Done", chg.Status)
	require.Len(t, chg.Tasks, 1)
	assert.True(t, logContains(chg.Tasks[0].Log, `Service "svc" already started.`), "task log %q", chg.Tasks[0].Log)

	require.NoError(t, c.SendSignal(ctx, &client.SendSignalOptions{Signal: "SIGUSR1", Services: []string{"svc"}}))
	waitLines(t, filepath.Join(dir, "signals"), 1, 5*time.Second)
	err = c.SendSignal(ctx, &client.SendSignalOptions{Signal: "SIGUSR1", Services: []string{"slow"}})
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, `cannot send signal to "slow": service is not running`, apiErr.Message)

	_, err = c.Start(ctx, &client.ServiceOptions{Names: []string{"svc", "nope"}})
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, `cannot start services: service "nope" does not exist`, apiErr.Message)
	assert.Equal(t, 400, apiErr.StatusCode)

	// Waiting with a timeout on a change inside its okay delay.
	id, err = c.Start(ctx, &client.ServiceOptions{Names: []string{"slow"}})
	require.NoError(t, err)
	_, err = c.WaitChange(ctx, id, &client.WaitChangeOptions{Timeout: 50 * time.Millisecond})
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 504, apiErr.StatusCode)
	assert.Equal(t, "timed out waiting for change after 50ms", apiErr.Message)

	// Aborting it kills the process and fails the start.
	aborted, err := c.Abort(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, id, aborted.ID)
	assert.False(t, aborted.Ready)
	chg, err = c.WaitChange(ctx, id, nil)
	require.NoError(t, err)
	assert.True(t, chg.Ready)
	require.Len(t, chg.Tasks, 1)
	assert.True(t, logContains(chg.Tasks[0].Log, "start aborted, sent SIGKILL to process"), "task log %q", chg.Tasks[0].Log)
	_, err = c.Abort(ctx, id)
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, fmt.Sprintf("cannot abort change %s with nothing pending", id), apiErr.Message)
	testutil.WaitFor(t, 5*time.Second, func() error {
		svcs, err := c.Services(ctx, &client.ServicesOptions{Names: []string{"slow"}})
		if err != nil {
			return err
		}
		if svcs[0].Current != client.StatusInactive {
			return fmt.Errorf("slow is %s after the aborted start", svcs[0].Current)
		}
		return nil
	})

	id, err = c.Restart(ctx, &client.ServiceOptions{Names: []string{"svc"}})
	require.NoError(t, err)
	chg, err = c.WaitChange(ctx, id, nil)
	require.NoError(t, err)
	assert.Equal(t, "Done", chg.Status)
	assert.Equal(t, "restart", chg.Kind)
	var kinds []string
	for _, tk := range chg.Tasks {
		kinds = append(kinds, tk.Kind)
	}
	assert.Equal(t, []string{"stop", "start"}, kinds)
	assert.Len(t, readLines(filepath.Join(dir, "svc.pid")), 2)

	id, err = c.Stop(ctx, &client.ServiceOptions{Names: []string{"svc"}})
	require.NoError(t, err)
	chg, err = c.WaitChange(ctx, id, nil)
	require.NoError(t, err)
	assert.Equal(t, "Done", chg.Status)
	svcs, err = c.Services(ctx, &client.ServicesOptions{Names: []string{"svc"}})
	require.NoError(t, err)
	assert.Equal(t, client.StatusInactive, svcs[0].Current)
	assert.False(t, svcs[0].CurrentSince.IsZero())

	all, err := c.Changes(ctx, &client.ChangesOptions{Selector: client.ChangesAll})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(all), 5)
	for _, ch := range all {
		assert.True(t, ch.Ready, "change %s %q not ready", ch.ID, ch.Summary)
	}
	forSlow, err := c.Changes(ctx, &client.ChangesOptions{Selector: client.ChangesAll, ServiceName: "slow"})
	require.NoError(t, err)
	require.Len(t, forSlow, 1)
	assert.Equal(t, `Start service "slow"`, forSlow[0].Summary)
	got, err := c.Change(ctx, forSlow[0].ID)
	require.NoError(t, err)
	assert.Equal(t, forSlow[0].ID, got.ID)
	_, err = c.Change(ctx, "9999")
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 404, apiErr.StatusCode)
	assert.Equal(t, `cannot find change with id "9999"`, apiErr.Message)

	d.stop()
}

// TestClientLayers adds layers through the Go client and reads the plan back.
func TestClientLayers(t *testing.T) {
	dir := newPebbleDir(t, nil)
	d := startDaemon(t, dir, daemonOptions{})
	c := d.client()
	ctx := t.Context()

	plan, err := c.PlanBytes(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, "{}\n", string(plan))

	err = c.AddLayer(ctx, &client.AddLayerOptions{Label: "web", LayerData: []byte(`
services:
    web:
        override: replace
        command: /usr/bin/web [ --port 80 ]
        startup: enabled
        environment:
            B: 2
            A: 1
        backoff-limit: 90s
`)})
	require.NoError(t, err)
	err = c.AddLayer(ctx, &client.AddLayerOptions{Label: "web", LayerData: []byte("services: {}\n")})
	require.ErrorAs(t, err, new(*client.Error))
	assert.Equal(t, `layer "web" already exists`, err.Error())
	err = c.AddLayer(ctx, &client.AddLayerOptions{Label: "web", Combine: true, LayerData: []byte(`
services:
    web:
        override: merge
        after: [db]
`)})
	require.NoError(t, err)

	plan, err = c.PlanBytes(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, `services:
    web:
        startup: enabled
        override: replace
        command: /usr/bin/web [ --port 80 ]
        after:
            - db
        environment:
            A: "1"
            B: "2"
        backoff-limit: 1m30s
`, string(plan))

	err = c.AddLayer(ctx, &client.AddLayerOptions{Label: "bad", LayerData: []byte("services:\n    x:\n        command: y\n")})
	require.ErrorAs(t, err, new(*client.Error))
	assert.Equal(t, `layer "bad" must define "override" for service "x"`, err.Error())
	d.stop()
}

func logContains(log []string, text string) bool {
	for _, entry := range log {
		if strings.Contains(entry, text) {
			return true
		}
	}
	return false
}
