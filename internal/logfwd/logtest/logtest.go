// Package logtest has log receivers for tests: a Loki push API server and an
// OTLP/HTTP logs server written against the published wire formats, which
// record what they receive and report every deviation from the format, and
// a strict RFC 5424 syslog receiver (TCP with octet counting, and UDP).
// They listen on loopback only, can be taken down and brought back on the
// same address, and can be told to fail or hang.
//
// Only tests import this package.
package logtest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"
)

// Entry is one log entry as a receiver got it.
type Entry struct {
	// Service is the pebble_service label (Loki), the service.name
	// attribute (OTLP) or the APP-NAME (syslog).
	Service string
	// Labels are the other labels, attributes or structured-data params.
	Labels  map[string]string
	Time    time.Time
	Message string
}

// Behaviour is how a receiver answers.
type Behaviour int

const (
	// Accept records the entries and answers with success.
	Accept Behaviour = iota
	// Fail answers with the status set by SetStatus, recording nothing.
	Fail
	// Hang never answers (until the receiver is closed or the client
	// gives up).
	Hang
)

// httpReceiver is the part the Loki and OTLP receivers share.
type httpReceiver struct {
	path   string
	decode func(r *http.Request, body []byte) ([]Entry, []string)
	ok     int // success status

	mu        sync.Mutex
	addr      string
	srv       *http.Server
	entries   []Entry
	problems  []string
	requests  int
	userAgent string
	behaviour Behaviour
	status    int
	answer    string        // the body of a 200 answer; "{}" if empty
	hung      chan struct{} // closed to release hanging requests
	notify    chan struct{}
}

func (h *httpReceiver) start() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	addr := h.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	h.addr = l.Addr().String()
	if h.hung == nil {
		h.hung = make(chan struct{})
	}
	srv := &http.Server{Handler: http.HandlerFunc(h.serve), ReadHeaderTimeout: 10 * time.Second}
	h.srv = srv
	go srv.Serve(l)
	return nil
}

func (h *httpReceiver) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.requests++
	h.userAgent = r.Header.Get("User-Agent")
	behaviour, status, hung, answer := h.behaviour, h.status, h.hung, h.answer
	h.mu.Unlock()
	switch behaviour {
	case Hang:
		select {
		case <-hung:
		case <-r.Context().Done():
		}
		return
	case Fail:
		w.WriteHeader(status)
		fmt.Fprintf(w, "failing on purpose with %d\n", status)
		return
	}
	var problems []string
	if r.Method != http.MethodPost {
		problems = append(problems, fmt.Sprintf("method %s, want POST", r.Method))
	}
	if r.URL.Path != h.path {
		problems = append(problems, fmt.Sprintf("path %q, want %q", r.URL.Path, h.path))
	}
	body, err := readAll(r)
	if err != nil {
		problems = append(problems, fmt.Sprintf("cannot read body: %v", err))
	}
	entries, more := h.decode(r, body)
	problems = append(problems, more...)
	h.mu.Lock()
	h.problems = append(h.problems, problems...)
	h.entries = append(h.entries, entries...)
	if h.notify != nil {
		close(h.notify)
		h.notify = nil
	}
	h.mu.Unlock()
	if len(problems) > 0 {
		http.Error(w, fmt.Sprint(problems), http.StatusBadRequest)
		return
	}
	if h.ok == http.StatusOK {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		if answer == "" {
			answer = "{}"
		}
		w.Write([]byte(answer))
		return
	}
	w.WriteHeader(h.ok)
}

// Addr is the receiver's host:port.
func (h *httpReceiver) Addr() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.addr
}

// Entries returns what was received so far, in arrival order.
func (h *httpReceiver) Entries() []Entry {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Entry(nil), h.entries...)
}

// Problems returns every deviation from the wire format seen so far.
func (h *httpReceiver) Problems() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.problems...)
}

// Requests counts the requests received, answered or not.
func (h *httpReceiver) Requests() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.requests
}

// UserAgent returns the User-Agent header of the latest request.
func (h *httpReceiver) UserAgent() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.userAgent
}

// Changed returns a channel closed when entries next arrive.
func (h *httpReceiver) Changed() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.notify == nil {
		h.notify = make(chan struct{})
	}
	return h.notify
}

// Set changes how the receiver answers; status is used with Fail.
func (h *httpReceiver) Set(b Behaviour, status int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.behaviour == Hang && b != Hang {
		close(h.hung)
		h.hung = make(chan struct{})
	}
	h.behaviour, h.status = b, status
}

// Down stops listening and closes every connection, as a crashed receiver
// would; Up listens again on the same address.
func (h *httpReceiver) Down() {
	h.mu.Lock()
	srv := h.srv
	h.srv = nil
	h.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// Up brings a receiver taken Down back on the same address.
func (h *httpReceiver) Up() error {
	var err error
	for range 50 {
		// The port may linger briefly after Down.
		if err = h.start(); err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

// Close stops the receiver and releases hanging requests.
func (h *httpReceiver) Close() {
	h.Set(Accept, 0)
	h.Down()
}

// WaitFor waits until f, called with everything received so far, returns
// nil, or ctx ends; it returns f's last error then.
func (h *httpReceiver) WaitFor(ctx context.Context, f func([]Entry) error) error {
	for {
		changed := h.Changed()
		err := f(h.Entries())
		if err == nil {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return err
		}
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
