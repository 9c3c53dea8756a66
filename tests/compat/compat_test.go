package compat

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/canonical/pebble/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const twoServices = `
services:
    svc1:
        override: replace
        command: /bin/sh -c "echo $$ >> @DIR@/svc1.pids; exec sleep 1000"
        startup: enabled
    svc2:
        override: replace
        command: /bin/sh -c "echo $$ >> @DIR@/svc2.pids; exec sleep 1000"
        requires: [svc1]
        after: [svc1]
`

func TestSysInfo(t *testing.T) {
	d := startDaemon(t, nil, "--hold")
	info, err := d.client.SysInfo()
	require.NoError(t, err)
	assert.Regexp(t, `^v\d+\.\d+`, info.Version)
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`, info.BootID)
	d.stop()
}

func TestLayersAndPlan(t *testing.T) {
	d := startDaemon(t, nil)
	c := d.client

	plan, err := c.PlanBytes(nil)
	require.NoError(t, err)
	assert.Equal(t, "{}\n", string(plan))

	require.NoError(t, c.AddLayer(&client.AddLayerOptions{Label: "base", LayerData: []byte(`
summary: not shown in the plan
services:
    web:
        override: replace
        command: /usr/bin/web [ --port 80 ]
        startup: enabled
        environment:
            B: 2
            A: 1
        backoff-limit: 90s
checks:
    web-up:
        override: replace
        level: ready
        startup: disabled
        tcp:
            port: 80
`)}))
	require.NoError(t, c.AddLayer(&client.AddLayerOptions{Label: "base", Combine: true, LayerData: []byte(`
services:
    web:
        override: merge
        requires: [db]
        on-failure: ignore
        kill-delay: 2s
    db:
        override: replace
        command: sleep 1000
`)}))
	plan, err = c.PlanBytes(nil)
	require.NoError(t, err)
	assert.Equal(t, `services:
    db:
        override: replace
        command: sleep 1000
    web:
        startup: enabled
        override: replace
        command: /usr/bin/web [ --port 80 ]
        requires:
            - db
        environment:
            A: "1"
            B: "2"
        on-failure: ignore
        backoff-limit: 1m30s
        kill-delay: 2s
checks:
    web-up:
        override: replace
        level: ready
        startup: disabled
        threshold: 3
        tcp:
            port: 80
`, string(plan))

	errs := []struct {
		opts client.AddLayerOptions
		want string
	}{
		{client.AddLayerOptions{Label: "base", LayerData: []byte("services: {}\n")}, `layer "base" already exists`},
		{client.AddLayerOptions{Label: "", LayerData: []byte("{}\n")}, `label must be set`},
		{client.AddLayerOptions{Label: "x", LayerData: []byte("services:\n    a:\n        command: b\n")}, `layer "x" must define "override" for service "a"`},
		{client.AddLayerOptions{Label: "x", LayerData: []byte("services:\n    a:\n        override: replace\n")}, `plan must define "command" for service "a"`},
		{client.AddLayerOptions{Label: "x", LayerData: []byte("bogus: 1\n")}, `cannot parse layer YAML: cannot parse layer "x": unknown section "bogus"`},
		{client.AddLayerOptions{Label: "x", LayerData: []byte("services:\n    a:\n        override: replace\n        command: b\n        requires: [nope]\n")}, `service "nope" does not exist`},
		{client.AddLayerOptions{Label: "x", LayerData: []byte("services:\n    a:\n        override: replace\n        command: b\n        on-success: success-shutdown\n")}, `cannot parse layer YAML: plan service "a" on-success action "success-shutdown" invalid`},
	}
	for _, tt := range errs {
		err := c.AddLayer(&tt.opts)
		e := apiError(t, err)
		assert.Equal(t, 400, e.StatusCode, "label %q", tt.opts.Label)
		assert.Equal(t, tt.want, e.Message)
	}
	e := apiError(t, c.AddLayer(&client.AddLayerOptions{Label: "x", LayerData: []byte("services:\n    a:\n        override: merge\n        bogus: 1\n")}))
	assert.Contains(t, e.Message, `cannot parse layer YAML: cannot parse layer "x" section "services": `)
	assert.Contains(t, e.Message, "bogus")

	after, err := c.PlanBytes(nil)
	require.NoError(t, err)
	assert.Equal(t, string(plan), string(after), "a rejected layer changed the plan")
	d.stop()
}

func TestServiceActions(t *testing.T) {
	d := startDaemon(t, map[string]string{"001-base.yaml": twoServices})
	c := d.client

	// The autostart change of the daemon start.
	var auto *client.Change
	waitFor(t, 10*time.Second, func() error {
		chgs, err := c.Changes(&client.ChangesOptions{Selector: client.ChangesAll})
		if err != nil {
			return err
		}
		for _, chg := range chgs {
			if chg.Kind == "autostart" {
				auto = chg
				return nil
			}
		}
		return fmt.Errorf("no autostart change in %d changes", len(chgs))
	})
	auto = d.wait(auto.ID)
	assert.Equal(t, "Done", auto.Status)
	assert.Equal(t, `Autostart service "svc1"`, auto.Summary)
	assert.Equal(t, "active", string(d.service("svc1").Current))
	assert.Equal(t, client.StartupEnabled, d.service("svc1").Startup)
	svc2 := d.service("svc2")
	assert.Equal(t, client.StatusInactive, svc2.Current)
	assert.Equal(t, client.StartupDisabled, svc2.Startup)
	assert.True(t, svc2.CurrentSince.IsZero())

	// Start pulls in requirements; already-running ones are no-ops.
	before := time.Now()
	id, err := c.Start(&client.ServiceOptions{Names: []string{"svc2"}})
	require.NoError(t, err)
	require.Regexp(t, `^[0-9]+$`, id)
	chg := d.wait(id)
	assert.Equal(t, "Done", chg.Status)
	assert.Equal(t, "start", chg.Kind)
	assert.Equal(t, `Start service "svc2" and 1 more`, chg.Summary)
	require.Len(t, chg.Tasks, 2)
	assert.Equal(t, `Start service "svc1"`, chg.Tasks[0].Summary)
	assert.Equal(t, `Start service "svc2"`, chg.Tasks[1].Summary)
	for _, tk := range chg.Tasks {
		assert.Equal(t, "start", tk.Kind)
		assert.Equal(t, "Done", tk.Status)
		assert.Equal(t, 1, tk.Progress.Done)
		assert.Equal(t, 1, tk.Progress.Total)
		assert.False(t, tk.SpawnTime.IsZero())
		assert.False(t, tk.ReadyTime.IsZero())
	}
	assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d) INFO Service "svc1" already started\.$`, strings.Join(chg.Tasks[0].Log, "\n"))
	svc2 = d.service("svc2")
	assert.Equal(t, client.StatusActive, svc2.Current)
	assert.WithinRange(t, svc2.CurrentSince, before.Add(-time.Second), time.Now())

	// Stop pulls in dependents.
	id, err = c.Stop(&client.ServiceOptions{Names: []string{"svc1"}})
	require.NoError(t, err)
	chg = d.wait(id)
	assert.Equal(t, "Done", chg.Status)
	assert.Equal(t, "stop", chg.Kind)
	assert.Equal(t, `Stop service "svc1" and 1 more`, chg.Summary)
	require.Len(t, chg.Tasks, 2)
	assert.Equal(t, `Stop service "svc2"`, chg.Tasks[0].Summary)
	assert.Equal(t, `Stop service "svc1"`, chg.Tasks[1].Summary)
	assert.Equal(t, client.StatusInactive, d.service("svc1").Current)
	assert.Equal(t, client.StatusInactive, d.service("svc2").Current)

	// Restart of stopped services: a stop no-op then a start.
	id, err = c.Restart(&client.ServiceOptions{Names: []string{"svc1"}})
	require.NoError(t, err)
	chg = d.wait(id)
	assert.Equal(t, "Done", chg.Status)
	assert.Equal(t, "restart", chg.Kind)
	assert.Equal(t, `Restart service "svc1"`, chg.Summary)
	require.Len(t, chg.Tasks, 2)
	assert.Equal(t, "stop", chg.Tasks[0].Kind)
	assert.Regexp(t, `INFO Service "svc1" already stopped\.$`, strings.Join(chg.Tasks[0].Log, "\n"))
	assert.Equal(t, "start", chg.Tasks[1].Kind)
	assert.Len(t, readLines(t, d.dir, "svc1.pids"), 2)

	// Replan with nothing changed restarts nothing.
	id, err = c.Replan(&client.ServiceOptions{})
	require.NoError(t, err)
	chg = d.wait(id)
	assert.Equal(t, "Done", chg.Status)
	assert.Equal(t, "replan", chg.Kind)
	assert.Len(t, readLines(t, d.dir, "svc1.pids"), 2)

	// Replan after a layer changes svc1: it is restarted.
	require.NoError(t, c.AddLayer(&client.AddLayerOptions{Label: "base", Combine: true, LayerData: []byte(`
services:
    svc1:
        override: merge
        environment:
            CHANGED: "yes"
`)}))
	id, err = c.Replan(&client.ServiceOptions{})
	require.NoError(t, err)
	chg = d.wait(id)
	assert.Equal(t, "Done", chg.Status)
	assert.True(t, strings.HasPrefix(chg.Summary, `Replan service "svc1"`), "summary %q", chg.Summary)
	assert.Len(t, readLines(t, d.dir, "svc1.pids"), 3)

	// AutoStart, with the enabled service running: a no-op start.
	id, err = c.AutoStart(&client.ServiceOptions{})
	require.NoError(t, err)
	chg = d.wait(id)
	assert.Equal(t, "Done", chg.Status)
	assert.Equal(t, "autostart", chg.Kind)

	// Changes and Change agree.
	all, err := c.Changes(&client.ChangesOptions{Selector: client.ChangesAll})
	require.NoError(t, err)
	sort.Slice(all, func(i, j int) bool { return all[i].SpawnTime.Before(all[j].SpawnTime) })
	var kinds []string
	for _, ch := range all {
		kinds = append(kinds, ch.Kind)
		assert.True(t, ch.Ready)
		one, err := c.Change(ch.ID)
		require.NoError(t, err)
		assert.Equal(t, ch.Summary, one.Summary)
		assert.Equal(t, ch.Status, one.Status)
		assert.Equal(t, len(ch.Tasks), len(one.Tasks))
	}
	assert.Equal(t, []string{"autostart", "start", "stop", "restart", "replan", "replan", "autostart"}, kinds)
	inProgress, err := c.Changes(&client.ChangesOptions{})
	require.NoError(t, err)
	assert.Empty(t, inProgress)
	forSvc2, err := c.Changes(&client.ChangesOptions{Selector: client.ChangesAll, ServiceName: "svc2"})
	require.NoError(t, err)
	var svc2Kinds []string
	for _, ch := range forSvc2 {
		svc2Kinds = append(svc2Kinds, ch.Kind)
	}
	// The start named svc2; the stop and the autostarts did not.
	assert.Contains(t, svc2Kinds, "start")
	assert.NotContains(t, svc2Kinds, "stop")
	assert.NotContains(t, svc2Kinds, "autostart")
	d.stop()
}

func TestServiceErrors(t *testing.T) {
	d := startDaemon(t, map[string]string{"001-base.yaml": `
services:
    quick:
        override: replace
        command: /bin/sh -c "echo line one; echo line two; exit 3"
        on-failure: ignore
    idle:
        override: replace
        command: sleep 1000
`})
	c := d.client

	tests := []struct {
		name string
		call func() (string, error)
		want string
	}{
		{"start unknown", func() (string, error) { return c.Start(&client.ServiceOptions{Names: []string{"idle", "nope"}}) }, `cannot start services: service "nope" does not exist`},
		{"stop unknown", func() (string, error) { return c.Stop(&client.ServiceOptions{Names: []string{"nope"}}) }, `cannot stop services: service "nope" does not exist`},
		{"restart unknown", func() (string, error) { return c.Restart(&client.ServiceOptions{Names: []string{"nope"}}) }, `cannot restart services: service "nope" does not exist`},
		{"start nothing", func() (string, error) { return c.Start(&client.ServiceOptions{}) }, `must specify services for start action`},
		{"replan with names", func() (string, error) { return c.Replan(&client.ServiceOptions{Names: []string{"idle"}}) }, `replan accepts no service names`},
		{"autostart with names", func() (string, error) { return c.AutoStart(&client.ServiceOptions{Names: []string{"idle"}}) }, `autostart accepts no service names`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.call()
			e := apiError(t, err)
			assert.Equal(t, 400, e.StatusCode)
			assert.Equal(t, tt.want, e.Message)
		})
	}

	t.Run("autostart with no default services", func(t *testing.T) {
		_, err := c.AutoStart(&client.ServiceOptions{})
		e := apiError(t, err)
		assert.Equal(t, 400, e.StatusCode)
		assert.Equal(t, client.ErrorKindNoDefaultServices, e.Kind)
		assert.Equal(t, "no default services", e.Message)
	})

	t.Run("start that exits quickly", func(t *testing.T) {
		id, err := c.Start(&client.ServiceOptions{Names: []string{"quick"}})
		require.NoError(t, err)
		chg := d.wait(id)
		assert.Equal(t, "Error", chg.Status)
		assert.Equal(t, "cannot perform the following tasks:\n- Start service \"quick\" (service start attempt: exited quickly with code 3, will ignore)", chg.Err)
		require.Len(t, chg.Tasks, 1)
		assert.Equal(t, "Error", chg.Tasks[0].Status)
		log := strings.Join(chg.Tasks[0].Log, "\n")
		assert.Contains(t, log, "INFO Most recent service output:\n    line one\n    line two")
		assert.Contains(t, log, "ERROR service start attempt: exited quickly with code 3, will ignore")
		assert.Equal(t, client.StatusError, d.service("quick").Current)
	})

	t.Run("wait timeout", func(t *testing.T) {
		id, err := c.Start(&client.ServiceOptions{Names: []string{"idle"}})
		require.NoError(t, err)
		_, err = c.WaitChange(id, &client.WaitChangeOptions{Timeout: 10 * time.Millisecond})
		e := apiError(t, err)
		assert.Equal(t, 504, e.StatusCode)
		assert.Equal(t, "timed out waiting for change after 10ms", e.Message)
		assert.Equal(t, "Done", d.wait(id).Status)
	})

	t.Run("unknown change", func(t *testing.T) {
		_, err := c.Change("12345")
		e := apiError(t, err)
		assert.Equal(t, 404, e.StatusCode)
		assert.Equal(t, `cannot find change with id "12345"`, e.Message)
	})

	t.Run("signal", func(t *testing.T) {
		require.NoError(t, c.SendSignal(&client.SendSignalOptions{Signal: "SIGCONT", Services: []string{"idle"}}))
		err := c.SendSignal(&client.SendSignalOptions{Signal: "SIGHUP", Services: []string{"quick"}})
		e := apiError(t, err)
		assert.Equal(t, 500, e.StatusCode)
		assert.Equal(t, `cannot send signal to "quick": service is not running`, e.Message)
	})
	d.stop()
}

func readLines(t testing.TB, dir, name string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil
	}
	return regexp.MustCompile(`\S+`).FindAllString(string(data), -1)
}
