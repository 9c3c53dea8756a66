package tests

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/testutil"
)

// TestEnvironmentFile runs services whose secrets come from an
// environment-file: the values reach the service's processes (and an exec
// in its context), the plan's own environment wins over the file, and no
// value appears in the plan, the services list, a change, a task log or the
// daemon's log, not even when the file is broken or missing.
func TestEnvironmentFile(t *testing.T) {
	secret := fmt.Sprintf("hunter2-%d", os.Getpid())
	dir := t.TempDir()
	envPath := filepath.Join(dir, "app.env")
	writeFile(t, envPath, "# credentials\nAPI_TOKEN="+secret+"\nexport DB_PASSWORD='pw-"+secret+"'\nMODE=from-file\n")
	badPath := filepath.Join(dir, "bad.env")
	writeFile(t, badPath, "OK=1\n"+secret+"\n")
	out := filepath.Join(dir, "seen")
	checkOut := filepath.Join(dir, "seen-by-check")
	pdir := newPebbleDir(t, map[string]string{"001-app.yaml": fmt.Sprintf(`
services:
    app:
        override: replace
        command: sh -c 'echo "$API_TOKEN $DB_PASSWORD $MODE" > %s; exec sleep 1000'
        environment-file: %s
        environment:
            MODE: from-plan
    broken:
        override: replace
        command: sleep 1000
        environment-file: %s
    missing:
        override: replace
        command: sleep 1000
        environment-file: %s
checks:
    app-env:
        override: replace
        period: 1h
        exec:
            command: sh -c 'echo "$API_TOKEN $MODE" > %s'
            service-context: app
    broken-env:
        override: replace
        period: 1h
        exec:
            command: "true"
            service-context: broken
    missing-env:
        override: replace
        period: 1h
        exec:
            command: "true"
            service-context: missing
`, out, envPath, badPath, filepath.Join(dir, "missing.env"), checkOut)})
	d := startDaemon(t, pdir, daemonOptions{args: []string{"--verbose"}})

	chg := d.waitChange(d.serviceAction("start", "app"))
	require.Equal(t, "Done", chg.Status, "start app: %+v", chg)
	lines := waitLines(t, out, 1, readyTimeout)
	assert.Equal(t, secret+" pw-"+secret+" from-plan", lines[0], "the file's values, the plan's MODE winning")

	res := d.pebble("exec", "--context=app", "--", "sh", "-c", `echo "$API_TOKEN"`)
	require.Equal(t, 0, res.code, "exec in the context of app: %s", res.stderr)
	assert.Equal(t, secret+"\n", res.stdout, "an exec in the service's context gets the file's values")

	// An exec check in the service's context gets the file's values too,
	// and fails, naming the file, when it cannot be read.
	res = d.pebble("check", "app-env", "--refresh")
	require.Equal(t, 0, res.code, "refresh app-env: %s", res.stderr)
	assert.Equal(t, []string{secret + " from-plan"}, waitLines(t, checkOut, 1, readyTimeout))
	for name, want := range map[string]string{
		"broken-env":  `cannot read environment-file "` + badPath + `": line 2: expected KEY=VALUE`,
		"missing-env": "cannot read environment-file: open " + filepath.Join(dir, "missing.env") + ": no such file or directory",
	} {
		res = d.pebble("check", name, "--refresh", "--format=json")
		require.Equal(t, 0, res.code, "refresh %s: %s", name, res.stderr)
		var got struct {
			Error string `json:"error"`
			Logs  string `json:"logs"`
		}
		require.NoError(t, json.Unmarshal([]byte(res.stdout), &got))
		assert.Equal(t, want, got.Error, name)
		assert.Contains(t, got.Logs, " ERROR "+want+"\n", name)
	}

	for _, name := range []string{"broken", "missing"} {
		chg := d.waitChange(d.serviceAction("start", name))
		require.Equal(t, "Error", chg.Status, "start %s", name)
		t.Logf("start %s: %s", name, chg.Err)
	}
	chg = d.waitChange(d.serviceAction("start", "broken"))
	assert.Contains(t, chg.Err, `cannot read environment-file "`+badPath+`": line 2: expected KEY=VALUE`)
	chg = d.waitChange(d.serviceAction("start", "missing"))
	assert.Contains(t, chg.Err, "missing.env: no such file or directory")

	for _, path := range []string{"/v1/plan?format=yaml", "/v1/services", "/v1/changes?select=all", "/v1/notices"} {
		status, env := d.request("GET", path, nil)
		require.Equal(t, 200, status, "GET %s", path)
		assert.NotContains(t, string(env.Result), secret, "GET %s shows a secret", path)
	}
	var plan string
	d.sync("GET", "/v1/plan?format=yaml", nil, &plan)
	assert.Contains(t, plan, "environment-file: "+envPath, "the plan shows the file's path")
	for _, chg := range d.changes() {
		status, env := d.request("GET", "/v1/changes/"+chg.ID, nil)
		require.Equal(t, 200, status)
		assert.NotContains(t, string(env.Result), secret, "change %s", chg.ID)
	}
	d.stop()
	logged := d.stderr.String() + d.stdout.String()
	assert.NotContains(t, logged, secret, "the daemon's log")
}

// TestLogAccessAdmin checks that a service with log-access: admin keeps its
// output from read-level callers: left out of "every service", refused by
// name, its log targets hidden, and its last output kept out of a failed
// start's task log (which every reader sees), while an admin sees it all.
func TestLogAccessAdmin(t *testing.T) {
	pdir := newPebbleDir(t, map[string]string{"001-app.yaml": `
services:
    open:
        override: replace
        command: sh -c 'echo open-line; exec sleep 1000'
    secret:
        override: replace
        command: sh -c 'echo secret-line; exec sleep 1000'
        log-access: admin
    failing:
        override: replace
        command: sh -c 'echo leaked-output; exit 3'
        log-access: admin
    job:
        override: replace
        type: oneshot
        command: sh -c 'echo job-output; exit 4'
        log-access: admin
checks:
    secret-check:
        override: replace
        period: 1h
        exec:
            command: sh -c 'echo check-output; exit 3'
            service-context: secret
log-targets:
    everything:
        override: replace
        type: loki
        location: http://127.0.0.1:9/loki/api/v1/push
        services: [all]
    only-open:
        override: replace
        type: loki
        location: http://127.0.0.1:9/loki/api/v1/push
        services: [open]
`})
	d := startDaemon(t, pdir, daemonOptions{})
	status, env := d.requestJSON("POST", "/v1/identities", map[string]any{"action": "add", "identities": map[string]any{
		"reader": map[string]any{"access": "read", "basic": map[string]any{"password": helloHash}},
	}})
	require.Equal(t, 200, status, "add identity: %s", env.Result)
	require.Equal(t, "Done", d.waitChange(d.serviceAction("start", "open", "secret")).Status)
	asReader := func(path string) (int, string) {
		req, err := http.NewRequest("GET", "http://localhost"+path, nil)
		require.NoError(t, err)
		req.SetBasicAuth("reader", "Hello world!")
		resp, err := d.http.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(body)
	}
	testutil.WaitFor(t, readyTimeout, func() error {
		_, body := asAdminLogs(t, d)
		if !strings.Contains(body, "open-line") || !strings.Contains(body, "secret-line") {
			return fmt.Errorf("admin logs so far: %s", body)
		}
		return nil
	})

	status, body := asReader("/v1/logs?n=-1")
	assert.Equal(t, 200, status)
	assert.Contains(t, body, "open-line")
	assert.NotContains(t, body, "secret-line", "every service, for a reader, leaves the restricted one out")
	for _, path := range []string{"/v1/logs?services=secret", "/v1/logs?services=open,secret", "/v1/logs?services=secret&follow=true"} {
		status, body = asReader(path)
		assert.Equal(t, 403, status, "%s: %s", path, body)
		assert.Contains(t, body, `cannot read logs of service \"secret\": its log-access is admin`)
	}
	status, body = asReader("/v1/log-targets")
	assert.Equal(t, 200, status)
	assert.Contains(t, body, `"only-open"`)
	assert.NotContains(t, body, `"everything"`, "a target forwarding the restricted service is hidden from readers")
	status, env = d.request("GET", "/v1/log-targets", nil)
	require.Equal(t, 200, status)
	assert.Contains(t, string(env.Result), `"everything"`, "admins see every target")

	chg := d.waitChange(d.serviceAction("start", "failing"))
	require.Equal(t, "Error", chg.Status)
	status, env = d.request("GET", "/v1/changes/"+chg.ID, nil)
	require.Equal(t, 200, status)
	assert.Contains(t, string(env.Result), "Its last output is not shown here")
	assert.NotContains(t, string(env.Result), "leaked-output", "a failed start's task log is read-level: no restricted output in it")

	// An exec check in the restricted service's context (it has its
	// environment): its output is in the refresh answer, admin only, and
	// kept out of its task log.
	res := d.pebble("check", "secret-check", "--refresh", "--format=json")
	require.Equal(t, 0, res.code, res.stderr)
	var refreshed struct {
		Error string `json:"error"`
		Logs  string `json:"logs"`
	}
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &refreshed))
	assert.Equal(t, "exit status 3; check-output", refreshed.Error, "an admin's refresh shows the output")
	assert.Contains(t, refreshed.Logs, " ERROR exit status 3; its output is not shown here: the service's log-access is admin\n")
	assert.NotContains(t, refreshed.Logs, "check-output")
	checkChange := d.check("secret-check").ChangeID
	status, body = asReader("/v1/changes/" + checkChange)
	require.Equal(t, 200, status, body)
	assert.Contains(t, body, "its output is not shown here")
	assert.NotContains(t, body, "check-output", "a check's task log is read-level: no restricted output in it")

	require.Equal(t, "Error", d.waitChange(d.serviceAction("start", "job")).Status)
	status, env = d.request("GET", "/v1/services?names=job", nil)
	require.Equal(t, 200, status)
	assert.Contains(t, string(env.Result), "job-output", "an admin sees a one-shot's output")
	status, body = asReader("/v1/services?names=job")
	require.Equal(t, 200, status)
	assert.Contains(t, body, `"exit-code":4`)
	assert.NotContains(t, body, "job-output", "a reader does not see a restricted one-shot's output")
}

// asAdminLogs returns GET /v1/logs?n=-1 as the daemon's own user (admin).
func asAdminLogs(t *testing.T, d *daemon) (int, string) {
	t.Helper()
	resp, err := d.http.Get("http://localhost/v1/logs?n=-1")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}
