package cli

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The checks of cli.md's example table.
const checksJSON = `[
{"name":"up","level":"alive","startup":"enabled","status":"up","successes":5,"threshold":1,"change-id":"10"},
{"name":"online","level":"ready","startup":"enabled","status":"down","successes":0,"failures":3,"threshold":3,"change-id":"13","prev-change-id":"12"},
{"name":"extra","startup":"disabled","status":"inactive","successes":0,"threshold":3}]`

// checkChange returns a check change whose first task has the given log.
func checkChange(id string, log ...string) string {
	logJSON := ""
	if len(log) > 0 {
		logJSON = `"log":["` + strings.Join(log, `","`) + `"],`
	}
	return `{"id":"` + id + `","kind":"recover-check","summary":"Recover TCP check \"online\"","status":"Doing",` +
		`"tasks":[{"id":"` + id + `","kind":"recover-check","summary":"Recover TCP check \"online\"","status":"Doing",` + logJSON +
		`"progress":{"label":"","done":1,"total":1},"spawn-time":"2026-01-20T10:04:39Z"}],` +
		`"ready":false,"spawn-time":"2026-01-20T10:04:39Z"}`
}

const refusedLog = "2026-01-20T10:04:40Z ERROR dial tcp 127.0.0.1:8000: connect: connection refused"

func TestChecks(t *testing.T) {
	isolate(t)
	d := newFakeDaemon(t, map[string]handler{
		"GET /v1/checks":     syncReply(checksJSON),
		"GET /v1/changes/13": syncReply(checkChange("13", "2026-01-20T10:04:39Z ERROR older", refusedLog)),
	})
	r := runCLI(t, "checks")
	assert.Equal(t, result{stdout: "" +
		"Check   Level  Startup   Status    Successes  Failures  Change\n" +
		"up      alive  enabled   up        5          0/1       10\n" +
		"online  ready  enabled   down      0          3/3       13 (dial tcp 127.0.0.1:8000: connect: connection refused)\n" +
		"extra   -      disabled  inactive  -          -         -\n"}, r)

	runCLI(t, "checks", "--level=ready", "online", "up")
	assert.Equal(t, "GET /v1/checks?level=ready&names=online%2Cup", d.Requests()[2])

	r = runCLI(t, "checks", "--format=json")
	assert.Equal(t, result{stdout: `{"checks":{` +
		`"extra":{"name":"extra","startup":"disabled","status":"inactive","successes":0,"failures":0,"threshold":3},` +
		`"online":{"name":"online","level":"ready","startup":"enabled","status":"down","successes":0,"failures":3,"threshold":3,"change-id":"13","prev-change-id":"12"},` +
		`"up":{"name":"up","level":"alive","startup":"enabled","status":"up","successes":5,"failures":0,"threshold":1,"change-id":"10"}}}` + "\n"}, r)

	assert.Equal(t, 1, runCLI(t, "checks", "--level=bogus").code)
}

func TestChecksChangeCell(t *testing.T) {
	isolate(t)
	long := "2026-01-20T10:04:40Z ERROR non-2xx status code 500; " + strings.Repeat("x", 80)
	newFakeDaemon(t, map[string]handler{
		"GET /v1/checks": syncReply(`[
{"name":"a","startup":"enabled","status":"down","successes":0,"failures":3,"threshold":3,"change-id":"13","prev-change-id":"12"},
{"name":"b","startup":"enabled","status":"up","failures":1,"threshold":3,"change-id":"20"},
{"name":"c","startup":"enabled","status":"up","successes":2,"failures":1,"threshold":3,"change-id":"30"}]`),
		// a's recover change has no log yet: its previous change's is shown.
		"GET /v1/changes/13": syncReply(checkChange("13")),
		"GET /v1/changes/12": syncReply(checkChange("12", `2026-01-20T10:04:40Z ERROR exit status 1; line 1\nline 2`)),
		"GET /v1/changes/20": syncReply(checkChange("20", long)),
		"GET /v1/changes/30": errorReply(404, "Not Found", `{"message":"cannot find change with id \"30\""}`),
	})
	r := runCLI(t, "checks")
	lines := strings.Split(r.stdout, "\n")
	assert.Equal(t, `a      -      enabled  down    0          3/3       13 (exit status 1; line 1\nline 2)`, lines[1])
	want := `20 (non-2xx status code 500; xxxxxxxxxxx... run "pebble tasks 20" for more)`
	assert.Equal(t, `b      -      enabled  up      ?          1/3       `+want, lines[2])
	assert.Len(t, want, len("20 ()")+70)
	assert.Equal(t, `c      -      enabled  up      2          1/3       30 (cannot find change with id "30")`, lines[3])
}

func TestChecksEmpty(t *testing.T) {
	isolate(t)
	newFakeDaemon(t, map[string]handler{"GET /v1/checks": syncReply(`[]`)})
	assert.Equal(t, result{stderr: "Plan has no health checks.\n"}, runCLI(t, "checks"))
	assert.Equal(t, result{stderr: "No matching health checks.\n"}, runCLI(t, "checks", "x"))
	assert.Equal(t, result{stderr: "No matching health checks.\n"}, runCLI(t, "checks", "--level", "alive"))
	assert.Equal(t, result{stdout: "checks: {}\n"}, runCLI(t, "checks", "--format=yaml"))
}

func TestCheck(t *testing.T) {
	isolate(t)
	d := newFakeDaemon(t, map[string]handler{
		"GET /v1/checks": func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("names") == "online" {
				syncReply(`[{"name":"online","level":"ready","startup":"enabled","status":"down","successes":0,"failures":3,"threshold":3,"change-id":"13","prev-change-id":"12"}]`)(w, r)
				return
			}
			if r.URL.Query().Get("names") == "up" {
				syncReply(`[{"name":"up","startup":"enabled","status":"up","successes":2,"threshold":3,"change-id":"10"}]`)(w, r)
				return
			}
			syncReply(`[]`)(w, r)
		},
		"POST /v1/checks/refresh": syncReply(`{"info":{"name":"up","startup":"enabled","status":"up","successes":2,"failures":1,"threshold":3,"change-id":"10"},` +
			`"error":"non-2xx status code 500; oops"}`),
		"GET /v1/changes/13": syncReply(checkChange("13", refusedLog, refusedLog)),
		"GET /v1/changes/10": syncReply(checkChange("10", "2026-01-20T10:04:40Z ERROR non-2xx status code 500; oops")),
	})
	assert.Equal(t, result{stdout: `name: online
level: ready
startup: enabled
status: down
successes: 0
failures: 3
threshold: 3
change-id: "13"
prev-change-id: "12"
logs: |
    2026-01-20T10:04:40Z ERROR dial tcp 127.0.0.1:8000: connect: connection refused
    2026-01-20T10:04:40Z ERROR dial tcp 127.0.0.1:8000: connect: connection refused
`}, runCLI(t, "check", "online"))

	// No failures: no logs fetched.
	assert.Equal(t, result{stdout: "name: up\nstartup: enabled\nstatus: up\nsuccesses: 2\nfailures: 0\nthreshold: 3\nchange-id: \"10\"\n"},
		runCLI(t, "check", "up"))

	r := runCLI(t, "check", "--refresh", "up", "--format=json")
	assert.Equal(t, result{stdout: `{"name":"up","startup":"enabled","status":"up","successes":2,"failures":1,"threshold":3,"change-id":"10",` +
		`"error":"non-2xx status code 500; oops","logs":"2026-01-20T10:04:40Z ERROR non-2xx status code 500; oops\n"}` + "\n"}, r)
	assert.Contains(t, d.Requests(), `POST /v1/checks/refresh {"name":"up"}`)

	assert.Equal(t, result{stderr: "error: cannot find check \"nope\"\n", code: 1}, runCLI(t, "check", "nope"))
	assert.Equal(t, result{stderr: "error: the required argument `<check>` was not provided\n", code: 1}, runCLI(t, "check"))
}

func TestStartStopChecks(t *testing.T) {
	isolate(t)
	d := newFakeDaemon(t, map[string]handler{
		"POST /v1/checks": sequence(
			syncReply(`{"changed":["a","b"]}`),
			syncReply(`{"changed":[]}`),
			syncReply(`{"changed":["a"]}`),
			syncReply(`{"changed":[]}`),
			errorReply(400, "Bad Request", `{"message":"cannot stop checks: cannot find checks in plan: x"}`),
		),
	})
	assert.Equal(t, result{stdout: "Checks started: a, b\n"}, runCLI(t, "start-checks", "b", "a"))
	assert.Equal(t, result{stdout: "Checks already started.\n"}, runCLI(t, "start-checks", "a"))
	assert.Equal(t, result{stdout: "Checks stopped: a\n"}, runCLI(t, "stop-checks", "a"))
	assert.Equal(t, result{stdout: "Checks already stopped.\n"}, runCLI(t, "stop-checks", "a"))
	assert.Equal(t, result{stderr: "error: cannot stop checks: cannot find checks in plan: x\n", code: 1}, runCLI(t, "stop-checks", "x"))
	assert.Equal(t, []string{
		`POST /v1/checks {"action":"start","checks":["b","a"]}`,
		`POST /v1/checks {"action":"start","checks":["a"]}`,
		`POST /v1/checks {"action":"stop","checks":["a"]}`,
		`POST /v1/checks {"action":"stop","checks":["a"]}`,
		`POST /v1/checks {"action":"stop","checks":["x"]}`,
	}, d.Requests())
	assert.Equal(t, result{stderr: "error: the required argument `<check> (at least 1 argument)` was not provided\n", code: 1},
		runCLI(t, "start-checks"))
}

func TestHealth(t *testing.T) {
	isolate(t)
	d := newFakeDaemon(t, map[string]handler{
		"GET /v1/health": func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("level") == "alive" {
				syncReply(`{"healthy":true}`)(w, r)
				return
			}
			rawReply(502, `{"type":"sync","status-code":502,"status":"Bad Gateway","result":{"healthy":false}}`)(w, r)
		},
	})
	assert.Equal(t, result{stdout: "healthy\n"}, runCLI(t, "health", "--level=alive"))
	assert.Equal(t, result{stdout: "unhealthy\n", code: 1}, runCLI(t, "health", "a", "b"))
	assert.Equal(t, result{stdout: `{"healthy":false}` + "\n"}, runCLI(t, "health", "--format=json"))
	assert.Equal(t, result{stdout: "healthy: false\n"}, runCLI(t, "health", "--format=yaml"))
	assert.Equal(t, []string{"GET /v1/health?level=alive", "GET /v1/health?names=a&names=b", "GET /v1/health", "GET /v1/health"}, d.Requests())
}
