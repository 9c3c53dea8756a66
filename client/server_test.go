package client_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/pebble-project/pebble/client"
)

// fakeDaemon is an HTTP server on a temporary UNIX socket whose handlers
// answer with JSON taken from the spec's examples. It records the requests
// it receives.
type fakeDaemon struct {
	Socket string

	mu       sync.Mutex
	requests []recorded
	server   *httptest.Server
}

// recorded is one request the fake daemon received.
type recorded struct {
	Method, Path, RawQuery string
	Body                   map[string]any
}

// startFakeDaemon serves routes ("METHOD /path" to a JSON body and status)
// on a new socket. It returns the daemon; Close stops it.
func startFakeDaemon(routes map[string]reply) (*fakeDaemon, error) {
	dir, err := os.MkdirTemp("", "pebble-client-")
	if err != nil {
		return nil, err
	}
	d := &fakeDaemon{Socket: filepath.Join(dir, ".pebble.socket")}
	l, err := net.Listen("unix", d.Socket)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	mux := http.NewServeMux()
	for pattern, rep := range routes {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			d.record(r)
			rep.write(w)
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		d.record(r)
		reply{404, `{"type":"error","status-code":404,"status":"Not Found","result":{"message":"invalid API endpoint requested"}}`}.write(w)
	})
	d.server = httptest.NewUnstartedServer(mux)
	d.server.Listener = l
	d.server.Start()
	return d, nil
}

// newFakeDaemon is startFakeDaemon for tests: it fails the test on error,
// closes the daemon at cleanup, and returns a client connected to it.
func newFakeDaemon(t *testing.T, routes map[string]reply) (*fakeDaemon, *client.Client) {
	t.Helper()
	d, err := startFakeDaemon(routes)
	if err != nil {
		t.Fatalf("cannot start fake daemon: %v", err)
	}
	t.Cleanup(d.Close)
	c, err := client.New(&client.Config{Socket: d.Socket})
	if err != nil {
		t.Fatalf("cannot create client: %v", err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return d, c
}

// Close stops the server and removes the socket's directory.
func (d *fakeDaemon) Close() {
	d.server.Close()
	os.RemoveAll(filepath.Dir(d.Socket))
}

func (d *fakeDaemon) record(r *http.Request) {
	rec := recorded{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery}
	if data, _ := io.ReadAll(r.Body); len(data) > 0 {
		if err := json.Unmarshal(data, &rec.Body); err != nil {
			rec.Body = map[string]any{"<invalid json>": string(data)}
		}
	}
	d.mu.Lock()
	d.requests = append(d.requests, rec)
	d.mu.Unlock()
}

// Requests returns the requests received so far.
func (d *fakeDaemon) Requests() []recorded {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]recorded(nil), d.requests...)
}

// reply is a canned response.
type reply struct {
	status int
	body   string
}

func (r reply) write(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(r.status)
	io.WriteString(w, r.body)
}

// The spec's example bodies (api.md).
const (
	sysInfoJSON   = `{"type":"sync","status-code":200,"status":"OK","result":{"boot-id":"e14ed96e-5a98-4402-80f7-d19dd949eac3","http-address":":4000","version":"v1.32.1"}}`
	healthyJSON   = `{"type":"sync","status-code":200,"status":"OK","result":{"healthy":true}}`
	unhealthyJSON = `{"type":"sync","status-code":502,"status":"Bad Gateway","result":{"healthy":false}}`
	asyncJSON     = `{"type":"async","status-code":202,"status":"Accepted","change":"42","result":null}`
	servicesJSON  = `{"type":"sync","status-code":200,"status":"OK","result":[` +
		`{"name":"srv1","startup":"enabled","current":"active","current-since":"2026-01-20T15:04:05.123+02:00"},` +
		`{"name":"srv2","startup":"disabled","current":"inactive"}]}`
	changeJSON = `{"type":"sync","status-code":200,"status":"OK","result":` + changeObject + `}`
	// changeObject is a change whose start task failed (api.md §10).
	changeObject = `{"id":"42","kind":"start","summary":"Start service \"srv1\"","status":"Error",` +
		`"tasks":[{"id":"7","kind":"start","summary":"Start service \"srv1\"","status":"Error",` +
		`"log":["2026-01-20T10:04:40Z ERROR service start attempt: exited quickly with code 1, will restart"],` +
		`"progress":{"label":"","done":1,"total":1},"spawn-time":"2026-01-20T10:04:39Z","ready-time":"2026-01-20T10:04:40Z",` +
		`"data":{"exit-code":1}}],` +
		`"ready":true,"err":"cannot perform the following tasks:\n- Start service \"srv1\" (service start attempt: exited quickly with code 1, will restart)",` +
		`"spawn-time":"2026-01-20T10:04:39Z","ready-time":"2026-01-20T10:04:40Z","data":{"note":"x"}}`
	okTrueJSON = `{"type":"sync","status-code":200,"status":"OK","result":true}`
)

// errorJSON returns an error envelope.
func errorJSON(status int, reason, result string) reply {
	return reply{status, `{"type":"error","status-code":` + itoa(status) + `,"status":"` + reason + `","result":` + result + `}`}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
