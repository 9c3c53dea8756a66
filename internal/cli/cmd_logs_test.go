package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

const logsBody = `{"time":"2026-01-20T02:11:09.361Z","service":"svc1","message":"Serving on <:5000>"}
{"time":"2026-01-20T02:11:09.4Z","service":"svc2","message":"a & b"}
`

func ndjsonReply(body string) handler {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		io.WriteString(w, body)
	}
}

func TestLogs(t *testing.T) {
	isolate(t)
	d := newFakeDaemon(t, map[string]handler{"GET /v1/logs": ndjsonReply(logsBody)})

	assert.Equal(t, result{stdout: "" +
		"2026-01-20T02:11:09.361Z [svc1] Serving on <:5000>\n" +
		"2026-01-20T02:11:09.400Z [svc2] a & b\n"}, runCLI(t, "logs"))
	assert.Equal(t, result{stdout: `{"time":"2026-01-20T02:11:09.361Z","service":"svc1","message":"Serving on <:5000>"}` + "\n" +
		`{"time":"2026-01-20T02:11:09.4Z","service":"svc2","message":"a & b"}` + "\n"}, runCLI(t, "logs", "--format=json", "-n", "all", "svc1", "svc2"))
	runCLI(t, "logs", "-n5")
	assert.Equal(t, result{}, runCLI(t, "logs", "-n", "0"))
	assert.Equal(t, []string{
		"GET /v1/logs?n=30",
		"GET /v1/logs?n=-1&services=svc1&services=svc2",
		"GET /v1/logs?n=5",
	}, d.Requests())

	for _, n := range []string{"-1", "x", "1.5"} {
		assert.Equal(t, result{stderr: fmt.Sprintf("error: expected n to be a non-negative integer or \"all\", not %q\n", n), code: 1},
			runCLI(t, "logs", "-n"+n))
	}
	r := runCLI(t, "logs", "--format=yaml")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "yaml")
}

func TestLogsAPIError(t *testing.T) {
	isolate(t)
	newFakeDaemon(t, map[string]handler{"GET /v1/logs": errorReply(400, "Bad Request", `{"message":"n must be -1, 0, or a positive integer"}`)})
	assert.Equal(t, result{stderr: "error: n must be -1, 0, or a positive integer\n", code: 1}, runCLI(t, "logs"))
}

// TestLogsFollow prints entries as they come, while the stream stays open,
// until the context (Ctrl-C in the real command) ends; it then exits 0.
func TestLogsFollow(t *testing.T) {
	isolate(t)
	d := newFakeDaemon(t, map[string]handler{"GET /v1/logs": func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		io.WriteString(w, logsBody)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}})
	ctx, cancel := context.WithCancel(context.Background())
	stdout := newLineWriter(2)
	printedWhileOpen := make(chan bool, 1)
	go func() {
		// Ctrl-C once both lines are printed, or after a deadline.
		select {
		case <-stdout.full:
			printedWhileOpen <- true
		case <-time.After(10 * time.Second):
			printedWhileOpen <- false
		}
		cancel()
	}()
	stderr, code := runCLITo(t, ctx, stdout, "logs", "-f", "-n", "2", "svc1")
	assert.True(t, <-printedWhileOpen, "entries not printed while the stream was open")
	assert.Equal(t, result{stdout: "" +
		"2026-01-20T02:11:09.361Z [svc1] Serving on <:5000>\n" +
		"2026-01-20T02:11:09.400Z [svc2] a & b\n"}, result{stdout.String(), stderr, code})
	assert.Equal(t, []string{"GET /v1/logs?follow=true&n=2&services=svc1"}, d.Requests())
}

// lineWriter collects output and closes full once it holds n lines.
type lineWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	n    int
	full chan struct{}
}

func newLineWriter(n int) *lineWriter {
	return &lineWriter{n: n, full: make(chan struct{})}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	before := bytes.Count(w.buf.Bytes(), []byte("\n"))
	w.buf.Write(p)
	if before < w.n && bytes.Count(w.buf.Bytes(), []byte("\n")) >= w.n {
		close(w.full)
	}
	return len(p), nil
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
