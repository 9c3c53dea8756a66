package cli

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/cli/command"
	"github.com/pebble-project/pebble/internal/version"
)

const servicesJSON = `[
{"name":"srv1","startup":"enabled","current":"active","current-since":"2026-01-20T15:04:05.123Z"},
{"name":"srv2","startup":"disabled","current":"inactive"},
{"name":"srv3","startup":"enabled","current":"backoff","current-since":"2026-01-18T09:05:00+02:00"}]`

func TestServices(t *testing.T) {
	isolate(t)
	d := newFakeDaemon(t, map[string]handler{"GET /v1/services": syncReply(servicesJSON)})

	r := runCLI(t, "services")
	assert.Equal(t, result{stdout: "" +
		"Service  Startup   Current   Since\n" +
		"srv1     enabled   active    today at 15:04 UTC\n" +
		"srv2     disabled  inactive  -\n" +
		"srv3     enabled   backoff   2 days ago, at 07:05 UTC\n"}, r)

	r = runCLI(t, "services", "srv1", "srv2", "--abs-time")
	assert.Equal(t, result{stdout: "" +
		"Service  Startup   Current   Since\n" +
		"srv1     enabled   active    2026-01-20T15:04:05Z\n" +
		"srv2     disabled  inactive  -\n" +
		"srv3     enabled   backoff   2026-01-18T09:05:00+02:00\n"}, r)
	assert.Equal(t, []string{"GET /v1/services?names=", "GET /v1/services?names=srv1%2Csrv2"}, d.Requests())

	r = runCLI(t, "services", "--format=json")
	assert.Equal(t, result{stdout: `{"services":{` +
		`"srv1":{"name":"srv1","startup":"enabled","current":"active","current-since":"2026-01-20T15:04:05.123Z"},` +
		`"srv2":{"name":"srv2","startup":"disabled","current":"inactive"},` +
		`"srv3":{"name":"srv3","startup":"enabled","current":"backoff","current-since":"2026-01-18T09:05:00+02:00"}}}` + "\n"}, r)

	r = runCLI(t, "services", "--format", "yaml")
	assert.Equal(t, result{stdout: `services:
    srv1:
        name: srv1
        startup: enabled
        current: active
        current-since: 2026-01-20T15:04:05.123Z
    srv2:
        name: srv2
        startup: disabled
        current: inactive
    srv3:
        name: srv3
        startup: enabled
        current: backoff
        current-since: 2026-01-18T09:05:00+02:00
`}, r)
}

func TestServicesEmpty(t *testing.T) {
	isolate(t)
	newFakeDaemon(t, map[string]handler{"GET /v1/services": syncReply(`[]`)})
	assert.Equal(t, result{stderr: "Plan has no services.\n"}, runCLI(t, "services"))
	assert.Equal(t, result{stderr: "No matching services.\n"}, runCLI(t, "services", "nope"))
	assert.Equal(t, result{stdout: `{"services":{}}` + "\n"}, runCLI(t, "services", "--format=json"))
	assert.Equal(t, result{stdout: "services: {}\n"}, runCLI(t, "services", "--format=yaml"))
	assert.Equal(t, result{stderr: "error: Invalid value `xml' for option `--format'. Allowed values are: text, json or yaml\n", code: 1},
		runCLI(t, "services", "--format=xml"))
}

// change returns a change object; tasks is a JSON array or "".
func change(id, status string, ready bool, errText, tasks string) string {
	s := `{"id":"` + id + `","kind":"start","summary":"Start service \"srv1\"","status":"` + status + `"`
	if tasks != "" {
		s += `,"tasks":` + tasks
	}
	if ready {
		s += `,"ready":true,"ready-time":"2026-01-20T15:06:51+02:00"`
	} else {
		s += `,"ready":false`
	}
	if errText != "" {
		s += `,"err":` + errText
	}
	return s + `,"spawn-time":"2026-01-20T15:06:50+02:00"}`
}

// task returns a task object with the given log lines (a JSON array).
func task(status, log string) string {
	return `{"id":"1","kind":"start","summary":"Start service \"srv1\"","status":"` + status + `","log":` + log +
		`,"progress":{"label":"","done":0,"total":1},"spawn-time":"2026-01-20T15:06:50+02:00"}`
}

func TestServiceActionsWait(t *testing.T) {
	isolate(t)
	d := newFakeDaemon(t, map[string]handler{
		"POST /v1/services": asyncReply("42"),
		"GET /v1/changes/{id}": sequence(
			syncReply(change("42", "Do", false, "", `[`+task("Do", `[]`)+`]`)),
			syncReply(change("42", "Doing", false, "", `[`+task("Doing", `["2026-01-20T15:06:50+02:00 INFO Service \"srv1\" starting."]`)+`]`)),
			syncReply(change("42", "Doing", false, "", `[`+task("Doing", `["2026-01-20T15:06:50+02:00 INFO Service \"srv1\" starting.","2026-01-20T15:06:51+02:00 INFO Still starting."]`)+`]`)),
			syncReply(change("42", "Done", true, "", `[`+task("Done", `["2026-01-20T15:06:50+02:00 INFO Service \"srv1\" starting.","2026-01-20T15:06:51+02:00 INFO Still starting.","never shown"]`)+`]`)),
		),
	})
	r := runCLI(t, "start", "srv1", "srv2")
	assert.Equal(t, result{stdout: "" +
		"2026-01-20T15:06:50+02:00 INFO Service \"srv1\" starting.\n" +
		"2026-01-20T15:06:51+02:00 INFO Still starting.\n"}, r)
	reqs := d.Requests()
	assert.Equal(t, `POST /v1/services {"action":"start","services":["srv1","srv2"]}`, reqs[0])
	assert.Equal(t, []string{"GET /v1/changes/42", "GET /v1/changes/42", "GET /v1/changes/42", "GET /v1/changes/42"}, reqs[1:])
}

func TestSpinnerOnTerminal(t *testing.T) {
	isolate(t)
	newFakeDaemon(t, map[string]handler{
		"POST /v1/services": asyncReply("42"),
		"GET /v1/changes/{id}": sequence(
			syncReply(change("42", "Doing", false, "", `[`+task("Doing", `["one"]`)+`]`)),
			syncReply(change("42", "Done", true, "", "")),
		),
	})
	var stdout, stderr strings.Builder
	e := command.NewEnv(nil, &stdout, &stderr, os.Getenv)
	e.TTY = true
	e.Poll = 10 * time.Millisecond
	assert.Equal(t, 0, (&env{Env: e}).run(context.Background(), []string{"start", "srv1"}))
	assert.Equal(t, "one\n\r\033[K| Start service \"srv1\"\r\033[K", stdout.String())
}

func TestServiceActionsNoWait(t *testing.T) {
	isolate(t)
	d := newFakeDaemon(t, map[string]handler{"POST /v1/services": asyncReply("7")})
	tests := []struct {
		args []string
		body string
	}{
		{[]string{"start", "--no-wait", "a"}, `{"action":"start","services":["a"]}`},
		{[]string{"stop", "a", "b", "--no-wait"}, `{"action":"stop","services":["a","b"]}`},
		{[]string{"restart", "--no-wait", "a"}, `{"action":"restart","services":["a"]}`},
		{[]string{"replan", "--no-wait"}, `{"action":"replan","services":null}`},
		{[]string{"autostart", "--no-wait"}, `{"action":"autostart","services":null}`},
	}
	for i, tt := range tests {
		assert.Equal(t, result{stdout: "7\n"}, runCLI(t, tt.args...), "%q", tt.args)
		assert.Equal(t, "POST /v1/services "+tt.body, d.Requests()[i])
	}
}

func TestServiceActionsUsageErrors(t *testing.T) {
	isolate(t)
	d := newFakeDaemon(t, nil)
	for _, cmd := range []string{"start", "stop", "restart"} {
		assert.Equal(t, result{stderr: "error: the required argument `<service> (at least 1 argument)` was not provided\n", code: 1}, runCLI(t, cmd))
	}
	for _, cmd := range []string{"replan", "autostart"} {
		assert.Equal(t, result{stderr: "error: too many arguments for command\n", code: 1}, runCLI(t, cmd, "x"))
	}
	assert.Empty(t, d.Requests())
}

func TestServiceActionChangeErrors(t *testing.T) {
	isolate(t)
	changeErr := `"cannot perform the following tasks:\n- Start service \"srv1\" (cannot start service: exec: \"ngnix\": executable file not found in $PATH)"`
	newFakeDaemon(t, map[string]handler{
		"POST /v1/services":  asyncReply("42"),
		"GET /v1/changes/42": syncReply(change("42", "Error", true, changeErr, "")),
	})
	r := runCLI(t, "start", "srv1")
	// Change errors keep their line breaks and are not wrapped.
	assert.Equal(t, result{stderr: "error: cannot perform the following tasks:\n" +
		"- Start service \"srv1\" (cannot start service: exec: \"ngnix\": executable file not found in $PATH)\n", code: 1}, r)
}

func TestServiceActionNoErrorMessage(t *testing.T) {
	isolate(t)
	newFakeDaemon(t, map[string]handler{
		"POST /v1/services":  asyncReply("43"),
		"GET /v1/changes/43": syncReply(change("43", "Hold", true, "", "")),
	})
	assert.Equal(t, result{stderr: "error: change finished in status \"Hold\" with no error message\n", code: 1}, runCLI(t, "stop", "srv1"))
}

func TestAutostartNoDefaultServices(t *testing.T) {
	isolate(t)
	newFakeDaemon(t, map[string]handler{
		"POST /v1/services": errorReply(400, "Bad Request", `{"message":"no default services","kind":"no-default-services"}`),
	})
	assert.Equal(t, result{stderr: "error: no default services\n", code: 1}, runCLI(t, "autostart"))
}

func TestWaitAbortsOnCancel(t *testing.T) {
	isolate(t)
	aborted := make(chan struct{})
	undone := syncReply(change("42", "Undone", true,
		`"cannot perform the following tasks:\n- Start service \"srv1\" (task was aborted)"`, ""))
	doing := syncReply(change("42", "Doing", false, "", ""))
	d := newFakeDaemon(t, map[string]handler{
		"POST /v1/services": asyncReply("42"),
		"GET /v1/changes/42": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-aborted:
				undone(w, r)
			default:
				doing(w, r)
			}
		},
		"POST /v1/changes/42": func(w http.ResponseWriter, r *http.Request) {
			close(aborted)
			syncReply(change("42", "Abort", false, "", ""))(w, r)
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	r := runCLIContext(t, ctx, "start", "srv1")
	assert.Equal(t, result{stderr: "error: cannot perform the following tasks:\n- Start service \"srv1\" (task was aborted)\n", code: 1}, r)
	assert.Contains(t, d.Requests(), `POST /v1/changes/42 {"action":"abort"}`)
}

func TestWaitGivesUpWhenDaemonGone(t *testing.T) {
	isolate(t)
	d := newFakeDaemon(t, map[string]handler{"POST /v1/services": asyncReply("42")})
	// The change polls hit a socket that no longer exists.
	var stdout, stderr strings.Builder
	e := command.NewEnv(nil, &stdout, &stderr, os.Getenv)
	e.Poll = 10 * time.Millisecond
	e.MaxGone = 50 * time.Millisecond
	cli, err := e.Client()
	require.NoError(t, err)
	id, err := cli.Start(context.Background(), nil)
	require.NoError(t, err)
	require.NoError(t, os.Remove(d.socket))
	cli.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = e.WaitChange(ctx, cli, id)
	assert.ErrorContains(t, err, "cannot communicate with server")
}

func TestAdd(t *testing.T) {
	isolate(t)
	d := newFakeDaemon(t, map[string]handler{"POST /v1/layers": syncReply("true")})
	path := filepath.Join(t.TempDir(), "layer.yaml")
	require.NoError(t, os.WriteFile(path, []byte("services:\n  web:\n    override: replace\n    command: /bin/web\n"), 0o644))

	r := runCLI(t, "add", "web", path, "--combine")
	assert.Equal(t, result{stdout: `Layer "web" added successfully from "` + path + `"` + "\n"}, r)
	assert.Equal(t, `POST /v1/layers {"action":"add","combine":true,"inner":false,"label":"web","format":"yaml","layer":"services:\n  web:\n    override: replace\n    command: /bin/web\n"}`, d.Requests()[0])

	runCLI(t, "add", "--inner", "dir/web", path)
	assert.Contains(t, d.Requests()[1], `"combine":false,"inner":true,"label":"dir/web"`)

	assert.Equal(t, result{stderr: "error: the required arguments `<label>` and `<layer-path>` were not provided\n", code: 1}, runCLI(t, "add"))
	assert.Equal(t, result{stderr: "error: open /nonexistent: no such file or directory\n", code: 1}, runCLI(t, "add", "x", "/nonexistent"))
}

func TestAddAPIError(t *testing.T) {
	isolate(t)
	newFakeDaemon(t, map[string]handler{
		"POST /v1/layers": errorReply(400, "Bad Request", `{"message":"layer \"web\" must define \"override\" for service \"web\""}`),
	})
	path := filepath.Join(t.TempDir(), "layer.yaml")
	require.NoError(t, os.WriteFile(path, []byte("services: {}\n"), 0o644))
	assert.Equal(t, result{stderr: "error: layer \"web\" must define \"override\" for service \"web\"\n", code: 1}, runCLI(t, "add", "web", path))
}

func TestPlan(t *testing.T) {
	isolate(t)
	d := newFakeDaemon(t, map[string]handler{"GET /v1/plan": syncReply(`"services:\n    svc1:\n        override: replace\n        command: sleep 300\n"`)})
	assert.Equal(t, result{stdout: "services:\n    svc1:\n        override: replace\n        command: sleep 300\n"}, runCLI(t, "plan"))
	assert.Equal(t, []string{"GET /v1/plan?format=yaml"}, d.Requests())
	assert.Equal(t, result{stderr: "error: too many arguments for command\n", code: 1}, runCLI(t, "plan", "x"))
}

func TestSignal(t *testing.T) {
	isolate(t)
	d := newFakeDaemon(t, map[string]handler{"POST /v1/signals": syncReply("true")})
	assert.Equal(t, result{}, runCLI(t, "signal", "HUP", "a", "b"))
	assert.Equal(t, result{}, runCLI(t, "signal", "SIGUSR1", "a"))
	assert.Equal(t, []string{
		`POST /v1/signals {"signal":"SIGHUP","services":["a","b"]}`,
		`POST /v1/signals {"signal":"SIGUSR1","services":["a"]}`,
	}, d.Requests())
	assert.Equal(t, result{stderr: "error: signal name must be uppercase, for example HUP\n", code: 1}, runCLI(t, "signal", "hup", "a"))
	assert.Equal(t, result{stderr: "error: the required argument `<SIGNAL>` was not provided\n", code: 1}, runCLI(t, "signal"))
}

func TestSignalError(t *testing.T) {
	isolate(t)
	newFakeDaemon(t, map[string]handler{
		"POST /v1/signals": errorReply(500, "Internal Server Error", `{"message":"cannot send signal to \"a\": service is not running"}`),
	})
	assert.Equal(t, result{stderr: "error: cannot send signal to \"a\": service is not running\n", code: 1}, runCLI(t, "signal", "HUP", "a"))
}

const changesJSON = `[
{"id":"2","kind":"stop","summary":"Stop service \"srv1\"","status":"Doing","ready":false,"spawn-time":"2026-01-20T15:10:00Z"},
{"id":"1","kind":"start","summary":"Start service \"srv1\"","status":"Done","ready":true,"spawn-time":"2026-01-20T15:06:50Z","ready-time":"2026-01-20T15:06:51Z"}]`

func TestChanges(t *testing.T) {
	isolate(t)
	d := newFakeDaemon(t, map[string]handler{"GET /v1/changes": syncReply(changesJSON)})
	r := runCLI(t, "changes")
	assert.Equal(t, result{stdout: "" +
		"ID   Status  Spawn               Ready               Summary\n" +
		"1    Done    today at 15:06 UTC  today at 15:06 UTC  Start service \"srv1\"\n" +
		"2    Doing   today at 15:10 UTC  -                   Stop service \"srv1\"\n" +
		"\n"}, r)
	r = runCLI(t, "changes", "srv1", "--abs-time")
	assert.Equal(t, result{stdout: "" +
		"ID   Status  Spawn                 Ready                 Summary\n" +
		"1    Done    2026-01-20T15:06:50Z  2026-01-20T15:06:51Z  Start service \"srv1\"\n" +
		"2    Doing   2026-01-20T15:10:00Z  -                     Stop service \"srv1\"\n" +
		"\n"}, r)
	assert.Equal(t, []string{"GET /v1/changes?select=all", "GET /v1/changes?for=srv1&select=all"}, d.Requests())

	r = runCLI(t, "changes", "--format=json")
	assert.Equal(t, result{stdout: `{"changes":[` +
		`{"id":"1","kind":"start","summary":"Start service \"srv1\"","status":"Done","ready":true,"spawn-time":"2026-01-20T15:06:50Z","ready-time":"2026-01-20T15:06:51Z"},` +
		`{"id":"2","kind":"stop","summary":"Stop service \"srv1\"","status":"Doing","ready":false,"spawn-time":"2026-01-20T15:10:00Z"}]}` + "\n"}, r)

	r = runCLI(t, "changes", "--format=yaml")
	assert.Equal(t, result{stdout: `changes:
    - id: "1"
      kind: start
      summary: Start service "srv1"
      status: Done
      ready: true
      spawn-time: 2026-01-20T15:06:50Z
      ready-time: 2026-01-20T15:06:51Z
    - id: "2"
      kind: stop
      summary: Stop service "srv1"
      status: Doing
      ready: false
      spawn-time: 2026-01-20T15:10:00Z
`}, r)
}

func TestChangesSpecialCases(t *testing.T) {
	isolate(t)
	newFakeDaemon(t, map[string]handler{"GET /v1/changes": syncReply(`[]`)})
	assert.Equal(t, result{stderr: "no changes found\n"}, runCLI(t, "changes"))
	assert.Equal(t, result{stdout: `{"changes":[]}` + "\n"}, runCLI(t, "changes", "--format=json"))
	assert.Equal(t, result{stdout: "Yes, yes it does.\n"}, runCLI(t, "changes", "everything"))
	assert.Equal(t, result{stderr: "error: 'pebble changes' command expects a service name, try 'pebble tasks 12'\n", code: 1}, runCLI(t, "changes", "12"))
	assert.Equal(t, result{stderr: "error: too many arguments for command\n", code: 1}, runCLI(t, "changes", "a", "b"))
}

const tasksChange = `{"id":"3","kind":"restart","summary":"Restart service \"srv1\"","status":"Doing","tasks":[
{"id":"5","kind":"stop","summary":"Stop service \"srv1\"","status":"Done","log":["2026-01-20T15:06:50Z INFO Service \"srv1\" already stopped."],"progress":{"label":"","done":1,"total":1},"spawn-time":"2026-01-20T15:06:50Z","ready-time":"2026-01-20T15:06:50Z"},
{"id":"6","kind":"start","summary":"Start service \"srv1\"","status":"Doing","progress":{"label":"","done":1,"total":4},"spawn-time":"2026-01-20T15:06:50Z"}],
"ready":false,"spawn-time":"2026-01-20T15:06:50Z"}`

func TestTasks(t *testing.T) {
	isolate(t)
	d := newFakeDaemon(t, map[string]handler{
		"GET /v1/changes/3": syncReply(tasksChange),
		"GET /v1/changes":   syncReply(`[{"id":"2","kind":"restart","summary":"s","status":"Done","ready":true,"spawn-time":"2026-01-20T15:00:00Z"},` + tasksChange + `]`),
	})
	want := "" +
		"Status  Spawn               Ready               Summary\n" +
		"Done    today at 15:06 UTC  today at 15:06 UTC  Stop service \"srv1\"\n" +
		"Doing   today at 15:06 UTC  -                   Start service \"srv1\" (25.00%)\n" +
		"\n" +
		"......................................................................\n" +
		"Stop service \"srv1\"\n" +
		"\n" +
		"2026-01-20T15:06:50Z INFO Service \"srv1\" already stopped.\n" +
		"\n"
	assert.Equal(t, result{stdout: want}, runCLI(t, "tasks", "3"))
	assert.Equal(t, result{stdout: want}, runCLI(t, "tasks", "--last=restart"))
	assert.Equal(t, []string{"GET /v1/changes/3", "GET /v1/changes?select=all", "GET /v1/changes/3"}, d.Requests())

	r := runCLI(t, "tasks", "3", "--format=json")
	assert.Equal(t, 0, r.code)
	assert.True(t, strings.HasPrefix(r.stdout, `{"id":"3","kind":"restart","summary":"Restart service \"srv1\"","status":"Doing","tasks":[{"id":"5"`), r.stdout)

	tests := []struct {
		args []string
		want result
	}{
		{[]string{"tasks"}, result{stderr: "error: please provide change ID or type with --last=<type>\n", code: 1}},
		{[]string{"tasks", "3", "--last=start"}, result{stderr: "error: cannot use change ID and type together\n", code: 1}},
		{[]string{"tasks", "--last=exec"}, result{stderr: "error: no changes of type \"exec\" found\n", code: 1}},
		{[]string{"tasks", "--last=exec?"}, result{}},
		{[]string{"tasks", "--last", "exec?", "--abs-time"}, result{}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, runCLI(t, tt.args...), "%q", tt.args)
	}
}

func TestTasksNoChanges(t *testing.T) {
	isolate(t)
	newFakeDaemon(t, map[string]handler{
		"GET /v1/changes":   syncReply(`[]`),
		"GET /v1/changes/9": errorReply(404, "Not Found", `{"message":"cannot find change with id \"9\""}`),
	})
	assert.Equal(t, result{stderr: "error: cannot find change with id \"9\"\n", code: 1}, runCLI(t, "tasks", "9"))
	assert.Equal(t, result{stderr: "error: no changes found\n", code: 1}, runCLI(t, "tasks", "--last=start"))
	assert.Equal(t, result{}, runCLI(t, "tasks", "--last=start?"))
}

func TestVersion(t *testing.T) {
	isolate(t)
	newFakeDaemon(t, map[string]handler{"GET /v1/system-info": syncReply(`{"boot-id":"x","version":"v1.32.1"}`)})
	v := version.Version
	assert.Equal(t, result{stdout: "client  " + v + "\nserver  v1.32.1\n"}, runCLI(t, "version"))
	assert.Equal(t, result{stdout: v + "\n"}, runCLI(t, "version", "--client"))
	assert.Equal(t, result{stdout: `{"client":"` + v + `","server":"v1.32.1"}` + "\n"}, runCLI(t, "version", "--format=json"))
	assert.Equal(t, result{stdout: "client: " + v + "\nserver: v1.32.1\n"}, runCLI(t, "version", "--format=yaml"))
	assert.Equal(t, result{stdout: `{"client":"` + v + `"}` + "\n"}, runCLI(t, "version", "--client", "--format=json"))
}

func TestVersionServerUnreachable(t *testing.T) {
	isolate(t)
	t.Setenv("PEBBLE", t.TempDir())
	// The client retries GETs for 5s; the context cuts that short.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	v := version.Version
	assert.Equal(t, result{stdout: "client  " + v + "\nserver  -\n"}, runCLIContext(t, ctx, "version"))

	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	r := runCLIContext(t, ctx, "version", "--format=json")
	assert.Equal(t, `{"client":"`+v+`"}`+"\n", r.stdout)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "error: cannot obtain system details: cannot communicate with server")
}

func TestSocketNotFound(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	t.Setenv("PEBBLE", dir)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	socket := filepath.Join(dir, ".pebble.socket")
	msg := `cannot communicate with server: Get "http://localhost/v1/services?names=": socket "` + socket + `" not found`
	assert.Equal(t, result{stderr: "error: " + msg + "\n", code: 1}, runCLIContext(t, ctx, "services"))

	// PEBBLE_SOCKET wins over $PEBBLE.
	t.Setenv("PEBBLE_SOCKET", "/nonexistent/sock")
	r := runCLI(t, "start", "srv1")
	assert.Equal(t, result{stderr: "error: cannot communicate with server: Post \"http://localhost/v1/services\": socket \"/nonexistent/sock\" not found\n", code: 1}, r)
}

func TestBaseURL(t *testing.T) {
	isolate(t)
	d := newFakeDaemon(t, nil)
	t.Setenv("PEBBLE_SOCKET", "/nonexistent/sock")
	// A TCP server answering like the daemon.
	srv := newTCPServer(t, syncReply(`{"version":"v9"}`))
	t.Setenv("PEBBLE_BASEURL", srv)
	assert.Equal(t, result{stdout: "client  " + version.Version + "\nserver  v9\n"}, runCLI(t, "version"))
	assert.Empty(t, d.Requests())
}

func TestAPIErrorsWrapAndHint(t *testing.T) {
	isolate(t)
	long := "cannot perform the requested operation because the daemon answered with a long message that does not fit"
	newFakeDaemon(t, map[string]handler{
		"GET /v1/plan":     errorReply(401, "Unauthorized", `{"message":"access denied","kind":"login-required"}`),
		"GET /v1/services": errorReply(500, "Internal Server Error", `{"message":"`+long+`"}`),
	})
	assert.Equal(t, result{stderr: "error: access denied (try with sudo)\n", code: 1}, runCLI(t, "plan"))
	assert.Equal(t, result{stderr: "error: cannot perform the requested operation because the daemon answered with\n" +
		"       a long message that does not fit\n", code: 1}, runCLI(t, "services"))
	// Wider terminals (up to 100 columns) get longer lines.
	t.Setenv("COLUMNS", "120")
	assert.Equal(t, result{stderr: "error: cannot perform the requested operation because the daemon answered with a long message that\n" +
		"       does not fit\n", code: 1}, runCLI(t, "services"))
}

func TestNewWarnings(t *testing.T) {
	isolate(t)
	d := newFakeDaemon(t, map[string]handler{
		"GET /v1/services": rawReply(200, `{"type":"sync","status-code":200,"status":"OK","result":[],"latest-warning":"2026-01-20T10:00:00Z"}`),
	})
	assert.Equal(t, result{stderr: "Plan has no services.\nWARNING: There are new warnings. See 'pebble warnings'.\n"}, runCLI(t, "services"))

	// Once warnings were listed after the latest one, nothing is said.
	config := os.Getenv("XDG_CONFIG_HOME")
	require.NoError(t, os.MkdirAll(filepath.Join(config, "pebble"), 0o700))
	state := `{"pebble":{"` + d.socket + `":{"warnings-last-listed":"2026-01-20T11:00:00Z"}}}`
	require.NoError(t, os.WriteFile(filepath.Join(config, "pebble", "cli.json"), []byte(state), 0o600))
	assert.Equal(t, result{stderr: "Plan has no services.\n"}, runCLI(t, "services"))
}
