package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pebble-project/pebble/internal/cli/command"
)

// fakeDaemon is an HTTP server on a temporary UNIX socket that answers with
// spec-shaped JSON (api.md) and records the requests it gets.
type fakeDaemon struct {
	socket string

	mu       sync.Mutex
	requests []string // "METHOD /path?query body"
}

// handler answers one request.
type handler func(w http.ResponseWriter, r *http.Request)

// newFakeDaemon serves routes ("METHOD /path" patterns) on a new socket and
// points PEBBLE_SOCKET at it.
func newFakeDaemon(t *testing.T, routes map[string]handler) *fakeDaemon {
	t.Helper()
	dir, err := os.MkdirTemp("", "pebble-cli-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	d := &fakeDaemon{socket: filepath.Join(dir, ".pebble.socket")}
	l, err := net.Listen("unix", d.socket)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for pattern, h := range routes {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			d.record(r)
			h(w, r)
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		d.record(r)
		errorReply(404, "Not Found", `{"message":"invalid API endpoint requested"}`)(w, r)
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	t.Setenv("PEBBLE_SOCKET", d.socket)
	return d
}

func (d *fakeDaemon) record(r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	line := r.Method + " " + r.URL.RequestURI()
	if len(body) > 0 {
		line += " " + strings.TrimSpace(string(body))
	}
	d.mu.Lock()
	d.requests = append(d.requests, line)
	d.mu.Unlock()
}

// Requests returns the requests received so far.
func (d *fakeDaemon) Requests() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.requests...)
}

// syncReply answers 200 with a sync envelope around result (JSON).
func syncReply(result string) handler {
	return rawReply(200, `{"type":"sync","status-code":200,"status":"OK","result":`+result+`}`)
}

// asyncReply answers 202 with an async envelope for change id.
func asyncReply(id string) handler {
	return rawReply(202, `{"type":"async","status-code":202,"status":"Accepted","change":"`+id+`","result":null}`)
}

// errorReply answers with an error envelope.
func errorReply(status int, reason, result string) handler {
	b, _ := json.Marshal(status)
	return rawReply(status, `{"type":"error","status-code":`+string(b)+`,"status":"`+reason+`","result":`+result+`}`)
}

func rawReply(status int, body string) handler {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// sequence answers with each handler in turn, repeating the last one.
func sequence(hs ...handler) handler {
	var mu sync.Mutex
	i := 0
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := hs[min(i, len(hs)-1)]
		i++
		mu.Unlock()
		h(w, r)
	}
}

// testNow is the clock of CLI tests: relative times are computed from it,
// in UTC.
var testNow = time.Date(2026, 1, 20, 15, 30, 0, 0, time.UTC)

// result is what a command printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// runCLI runs the command line in-process, with the test clock and the
// environment set by the test (t.Setenv).
func runCLI(t *testing.T, args ...string) result {
	t.Helper()
	return runCLIContext(t, context.Background(), args...)
}

func runCLIContext(t *testing.T, ctx context.Context, args ...string) result {
	t.Helper()
	var stdout bytes.Buffer
	stderr, code := runCLITo(t, ctx, &stdout, args...)
	return result{stdout.String(), stderr, code}
}

// runCLITo is runCLIContext with the standard output going to stdout, for a
// test that watches the output while the command runs.
func runCLITo(t *testing.T, ctx context.Context, stdout io.Writer, args ...string) (stderr string, code int) {
	t.Helper()
	var errBuf bytes.Buffer
	e := command.NewEnv(strings.NewReader(""), stdout, &errBuf, os.Getenv)
	e.Now = func() time.Time { return testNow }
	e.Loc = time.UTC
	e.IsRoot = false
	e.Poll = 10 * time.Millisecond
	code = (&env{Env: e}).run(ctx, args)
	return errBuf.String(), code
}

// isolate clears the environment variables the CLI reads.
func isolate(t *testing.T) {
	t.Helper()
	for _, name := range []string{"PEBBLE", "PEBBLE_SOCKET", "PEBBLE_BASEURL", "PEBBLE_VERBOSE", "PEBBLE_DEBUG", "PEBBLE_PERSIST", "COLUMNS"} {
		t.Setenv(name, "")
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
}

// newTCPServer serves h on a TCP port and returns its base URL.
func newTCPServer(t *testing.T, h handler) string {
	srv := httptest.NewServer(http.HandlerFunc(h))
	t.Cleanup(srv.Close)
	return srv.URL
}
