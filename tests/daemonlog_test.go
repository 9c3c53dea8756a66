package tests

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/testutil"
)

// logLinePrefix matches the start of a daemon log line (cli.md §7).
const logLinePrefix = `(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[pebble\] `

// logDuration matches a Go duration as the request log writes it.
const logDuration = `[0-9.]+(ns|µs|ms|s)`

// waitLogLine waits until a line of the daemon's stderr matches the regular
// expression pattern (anchored after the timestamp and "[pebble] ").
func (d *daemon) waitLogLine(pattern string) {
	d.t.Helper()
	re := regexp.MustCompile(logLinePrefix + pattern + `$`)
	testutil.WaitFor(d.t, readyTimeout, func() error {
		if !re.MatchString(d.stderr.String()) {
			return fmt.Errorf("no log line matches %q", pattern)
		}
		return nil
	})
}

// TestRequestLog checks the request log lines of cli.md §7: one per request
// with method, URL with query, duration, status and transport, prefixed
// with the remote address over TCP; GET /v1/changes/<id>,
// /v1/system-info and /v1/health are left out.
func TestRequestLog(t *testing.T) {
	httpAddr := freeAddr(t)
	dir := newPebbleDir(t, map[string]string{"001-base.yaml": `
services:
    srv1:
        override: replace
        command: sleep 1000
`})
	ids := filepath.Join(dir, "ids.yaml")
	writeFile(t, ids, "identities:\n    scraper:\n        access: metrics\n        basic:\n            password: \""+helloHash+"\"\n")
	d := startDaemon(t, dir, daemonOptions{args: []string{"--hold", "--http", httpAddr, "--identities", ids}})

	id := d.serviceAction("start", "srv1")
	d.waitLogLine(`POST /v1/services ` + logDuration + ` 202 \(http\+unix\)`)
	d.waitChange(id)
	d.waitLogLine(`GET /v1/changes/` + id + `/wait\?timeout=20s ` + logDuration + ` 200 \(http\+unix\)`)
	d.mustPebble("services", "srv1")
	d.waitLogLine(`GET /v1/services\?names=srv1 ` + logDuration + ` 200 \(http\+unix\)`)
	status, _ := d.request("GET", "/v1/nothing-here", nil)
	require.Equal(t, 404, status)
	d.waitLogLine(`GET /v1/nothing-here ` + logDuration + ` 404 \(http\+unix\)`)

	// The quiet endpoints, over both transports.
	d.sync("GET", "/v1/changes/"+id, nil, nil)
	d.sync("GET", "/v1/system-info", nil, nil)
	d.sync("GET", "/v1/health", nil, nil)
	get := func(path string, auth bool) int {
		req, err := http.NewRequestWithContext(t.Context(), "GET", "http://"+httpAddr+path, nil)
		require.NoError(t, err)
		if auth {
			req.SetBasicAuth("scraper", "Hello world!")
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, 200, get("/v1/health", false))
	require.Equal(t, 200, get("/v1/system-info", false))

	// Over TCP the line starts with the client's address.
	require.Equal(t, 401, get("/v1/services", false))
	d.waitLogLine(`127\.0\.0\.1:\d+ GET /v1/services ` + logDuration + ` 401 \(http\)`)
	require.Equal(t, 200, get("/v1/metrics", true))
	d.waitLogLine(`127\.0\.0\.1:\d+ GET /v1/metrics ` + logDuration + ` 200 \(http\)`)

	// A websocket upgrade is logged as 200, as Pebble does, not as 101.
	d.mustPebble("exec", "true")
	d.waitLogLine(`GET /v1/tasks/\d+/websocket/control ` + logDuration + ` 200 \(http\+unix\)`)
	d.waitLogLine(`GET /v1/tasks/\d+/websocket/stdio ` + logDuration + ` 200 \(http\+unix\)`)

	// Lines are written in the order requests end, so once this one is
	// there, any line of the quiet requests before it would be too.
	d.sync("GET", "/v1/plan?format=yaml", nil, nil)
	d.waitLogLine(`GET /v1/plan\?format=yaml ` + logDuration + ` 200 \(http\+unix\)`)
	stderr := d.stderr.String()
	for _, quiet := range []string{`GET /v1/changes/` + id + ` `, `GET /v1/system-info `, `GET /v1/health `} {
		assert.NotContains(t, stderr, quiet)
	}
}

// securityEvent matches the JSON security event line of behaviour.md §12
// with the given event and description.
func securityEvent(level, event, description string) string {
	return regexp.QuoteMeta(`{"type":"security","datetime":"`) +
		`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ` +
		regexp.QuoteMeta(fmt.Sprintf(`","level":"%s","event":"%s","description":"%s","appid":"pebble"}`, level, event, description))
}

// TestAdminSecurityEvents checks the authz_admin events of behaviour.md §12
// for adding a layer and for pulling and pushing files: they name the
// caller by UID when no identity matched, and a pull logs every path it
// was asked for, also one it cannot read.
func TestAdminSecurityEvents(t *testing.T) {
	dir := newPebbleDir(t, nil)
	d := startDaemon(t, dir, daemonOptions{args: []string{"--hold"}})
	uid := os.Getuid()

	layer := filepath.Join(dir, "extra.yaml")
	writeFile(t, layer, "services:\n    extra:\n        override: replace\n        command: sleep 1000\n")
	d.mustPebble("add", "extra", layer)
	d.waitLogLine(securityEvent("WARN", fmt.Sprintf("authz_admin:%d,add_layer", uid), "Adding layer extra"))

	src := filepath.Join(dir, "src.txt")
	writeFile(t, src, "hello\n")
	d.mustPebble("pull", src, filepath.Join(dir, "copy.txt"))
	d.waitLogLine(securityEvent("WARN", fmt.Sprintf("authz_admin:%d,pull_file", uid), "Pulling file "+src))

	res := d.pebble("pull", "relative/path", filepath.Join(dir, "copy2.txt"))
	require.NotEqual(t, 0, res.code)
	assert.Contains(t, res.stderr, `paths must be absolute, got "relative/path"`)
	d.waitLogLine(securityEvent("WARN", fmt.Sprintf("authz_admin:%d,pull_file", uid), "Pulling file relative/path"))

	d.mustPebble("push", src, filepath.Join(dir, "pushed.txt"))
	d.waitLogLine(securityEvent("WARN", fmt.Sprintf("authz_admin:%d,push_file", uid), "Pushing file "+filepath.Join(dir, "pushed.txt")))
	assert.NotContains(t, d.stderr.String(), "<unknown>")
	assert.NotContains(t, d.stderr.String(), `\u003cunknown\u003e`)
	assert.NotContains(t, d.stderr.String(), "authz_fail")
}
