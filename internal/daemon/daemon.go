package daemon

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultBodyLimit caps request bodies when Options.BodyLimit is 0.
const DefaultBodyLimit = 4 << 20

// Options configure a Daemon.
type Options struct {
	// SocketPath is the UNIX socket to serve on; required.
	SocketPath string
	// HTTPAddress, if set, also serves open endpoints on this TCP address.
	HTTPAddress string
	// Ops carries out every request; required.
	Ops Ops
	// Services, Changes, Plan, Notices, Identities and Checks are the
	// owners the API reads (and, for signals, aborts, custom notices,
	// identities and check actions, changes) directly; required.
	Services   Services
	Changes    Changes
	Plan       Plan
	Notices    Notices
	Identities Identities
	Checks     Checks
	// State is the state file, synced before a durable response is
	// written (see durability); required.
	State StateFile
	// LogTargets reports the log forwarding counters; nil reports none.
	LogTargets LogTargets
	// Schedules reports the scheduled services; nil reports none.
	Schedules Schedules
	// Workflows lists and runs workflows; nil lists none.
	Workflows Workflows
	// Logf writes daemon log lines; nil discards them.
	Logf func(format string, args ...any)
	// LogLine writes one daemon log line given whole: the request log,
	// written for almost every request, skips Logf's formatting. nil
	// writes it through Logf.
	LogLine func(msg []byte)
	// Version is reported by /v1/system-info.
	Version string
	// BootID is reported by /v1/system-info.
	BootID string
	// BodyLimit caps request bodies in bytes; 0 means DefaultBodyLimit.
	BodyLimit int64
	// ShutdownGrace is how long in-flight requests get on Stop; 0 means 1s.
	ShutdownGrace time.Duration
	// SecurityEvent writes a security event (behaviour.md §12); nil
	// discards them.
	SecurityEvent func(level, event, description string)
	// Metrics are the owners of the families of GET /v1/metrics, in the
	// order they are served.
	Metrics []MetricsSource
	// Upgrader carries out POST /v1/daemon's upgrade; nil refuses it.
	Upgrader Upgrader
}

// StateFile is the daemon's state file as the API needs it.
type StateFile interface {
	// Writable returns an error when a change made now could not be saved.
	Writable(ctx context.Context) error
	// Sync returns once everything marked before the call is on disk, or
	// with the error of a write attempted after the call.
	Sync(ctx context.Context) error
	// Durable returns once everything marked before the call is on disk,
	// however many writes that takes, or with why it gave up (ctx ended,
	// the state file closed).
	Durable(ctx context.Context) error
}

// Daemon is the API server. Create it with New, then Start and Stop it once.
type Daemon struct {
	opts      Options
	api       *api
	server    *http.Server
	listeners []net.Listener
	wg        sync.WaitGroup
	// stop ends api.stopping.
	stop context.CancelFunc
	// conns counts the server's open connections, for Stop.
	conns connCount
	// held are the listeners' descriptors kept by Quiesce.
	held []*os.File
}

type api struct {
	ops        Ops
	services   Services
	changes    Changes
	plan       Plan
	notices    Notices
	identities Identities
	checks     Checks
	files      fileSystem
	logTargets LogTargets
	schedules  Schedules
	workflows  Workflows
	state      StateFile
	logf       func(format string, args ...any)
	logLine    func(msg []byte)
	version    string
	bootID     string
	httpAddr   string
	bodyLimit  int64
	// securityEvent is never nil.
	securityEvent func(level, event, description string)
	metrics       []MetricsSource
	// stopping ends when the daemon starts shutting down, so streaming
	// responses (logs follow) end instead of holding up Stop.
	stopping context.Context
	upgrader Upgrader
	// quieted ends when a quiet period (Quiesce) begins; guarded by quietMu.
	quietMu  sync.Mutex
	quieted  context.Context
	endQuiet context.CancelFunc
}

// New checks opts and builds a Daemon; it opens nothing.
func New(opts Options) (*Daemon, error) {
	if opts.SocketPath == "" || opts.Ops == nil || opts.Services == nil || opts.State == nil || opts.Changes == nil || opts.Plan == nil || opts.Notices == nil || opts.Identities == nil || opts.Checks == nil {
		return nil, errors.New("cannot create daemon: socket path, ops, services, state file, changes, plan, notices, identities and checks are required")
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	if opts.LogLine == nil {
		logf := opts.Logf
		opts.LogLine = func(msg []byte) { logf("%s", msg) }
	}
	if opts.BodyLimit == 0 {
		opts.BodyLimit = DefaultBodyLimit
	}
	if opts.ShutdownGrace == 0 {
		opts.ShutdownGrace = time.Second
	}
	if opts.SecurityEvent == nil {
		opts.SecurityEvent = func(string, string, string) {}
	}
	a := &api{
		ops: opts.Ops, services: opts.Services, state: opts.State, changes: opts.Changes, plan: opts.Plan, notices: opts.Notices, identities: opts.Identities, checks: opts.Checks, files: localFiles{}, logTargets: opts.LogTargets,
		workflows: opts.Workflows, schedules: opts.Schedules,
		logf: opts.Logf, logLine: opts.LogLine, version: opts.Version, bootID: opts.BootID,
		httpAddr: opts.HTTPAddress, bodyLimit: opts.BodyLimit, securityEvent: opts.SecurityEvent,
		metrics: opts.Metrics, upgrader: opts.Upgrader,
	}
	a.setQuiet(false)
	d := &Daemon{opts: opts, api: a}
	a.stopping, d.stop = context.WithCancel(context.Background())
	d.server = &http.Server{
		Handler:     newRouter(a, endpoints),
		ConnContext: connContext,
		// Long-polls (change waits) are normal, so there is no write
		// timeout; a slow client cannot hold a header read forever.
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       5 * time.Minute,
		ErrorLog:          nil,
		ConnState:         d.conns.track,
	}
	return d, nil
}

// Listen opens the socket (and the TCP address, if any). A socket file on
// which a server still answers is an error; a stale one is replaced.
func (d *Daemon) Listen() error {
	l, err := listenUnix(d.opts.SocketPath)
	if err != nil {
		return err
	}
	d.listeners = append(d.listeners, l)
	if d.opts.HTTPAddress != "" {
		tl, err := net.Listen("tcp", d.opts.HTTPAddress)
		if err != nil {
			d.closeListeners()
			return fmt.Errorf("cannot listen on %q: %w", d.opts.HTTPAddress, err)
		}
		d.listeners = append(d.listeners, tl)
		d.opts.Logf("HTTP API server listening on %q.", d.opts.HTTPAddress)
	}
	return nil
}

// Serve starts serving on the opened listeners in the background.
func (d *Daemon) Serve() {
	for _, l := range d.listeners {
		d.wg.Add(1)
		go func(l net.Listener) {
			defer d.wg.Done()
			d.server.Serve(l)
		}(l)
	}
}

// Stop stops accepting connections, wakes every long-poll (change waits,
// notices, log follows) to answer, and gives the connections open the grace
// period to be answered: each is closed once its answer is written, even a
// request read only now (http.Server.Shutdown would drop it unanswered).
// Then it closes whatever is left and removes the socket file.
func (d *Daemon) Stop() {
	d.closeListeners()
	for _, f := range d.held {
		f.Close()
	}
	d.held = nil
	d.wg.Wait()
	// Without keep-alives, idle connections close now and the others once
	// their answer is written.
	d.server.SetKeepAlivesEnabled(false)
	d.stop()
	d.awaitConns("Cannot answer every request before stopping: closing %d connections.")
	d.server.Close()
	os.Remove(d.opts.SocketPath)
}

// connCount counts a server's open connections; hijacked ones (websockets)
// are no longer the server's.
type connCount struct {
	mu   sync.Mutex
	open int
	// none is closed, and replaced, each time open drops to zero.
	none chan struct{}
}

// track is the server's ConnState hook. A connection turns active and idle
// again with every request, which changes no count and takes no lock.
func (c *connCount) track(_ net.Conn, state http.ConnState) {
	if state == http.StateActive || state == http.StateIdle {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch state {
	case http.StateNew:
		c.open++
	case http.StateClosed, http.StateHijacked:
		c.open--
		if c.open == 0 && c.none != nil {
			close(c.none)
			c.none = nil
		}
	}
}

// allClosed returns a channel closed once no connection is open.
func (c *connCount) allClosed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.open == 0 {
		closed := make(chan struct{})
		close(closed)
		return closed
	}
	if c.none == nil {
		c.none = make(chan struct{})
	}
	return c.none
}

func (c *connCount) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.open
}

// errStopping is the cause of a long-poll's context when the daemon
// starts stopping.
var errStopping = errors.New("daemon is stopping")

// untilStopping returns ctx, ended with the cause errStopping as soon as
// the daemon starts stopping, so a long-poll answers while Stop still lets
// handlers write. Call stop when done.
func (a *api) untilStopping(ctx context.Context) (_ context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	unhook := context.AfterFunc(a.stopping, func() { cancel(errStopping) })
	unhookQuiet := context.AfterFunc(a.quietCtx(), func() { cancel(errUpgrading) })
	return ctx, func() {
		unhook()
		unhookQuiet()
		cancel(nil)
	}
}

func (d *Daemon) closeListeners() {
	for _, l := range d.listeners {
		l.Close()
	}
}

// SocketInUse is the error for a socket another daemon answers on, in
// Pebble's wording (api.md §1), which scripts look for.
func SocketInUse(path string) error {
	return fmt.Errorf("when trying to listen on %s: socket %q already in use", path, path)
}

func listenUnix(path string) (net.Listener, error) {
	if _, err := os.Stat(path); err == nil {
		c, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			c.Close()
			return nil, SocketInUse(path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("cannot remove stale socket %q: %w", path, err)
		}
	}
	// The socket is world-connectable (0666); access is decided per request
	// from peer credentials.
	old := syscall.Umask(0o111)
	l, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on socket %q: %w", path, err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	return l, nil
}

// statusWriter records the status a handler wrote, for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
	// hijacked is set once a websocket upgrade took over the connection;
	// nothing can be written through the writer after that.
	hijacked bool
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack lets websocket upgrades take over the connection. The 101 they
// send goes on the raw connection, so the status stays unset and the
// request log shows 200, as Pebble's does.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("cannot take over the connection")
	}
	w.hijacked = true
	return h.Hijack()
}

// serve runs one request: body limit, panic recovery, request log.
func (a *api) serve(w http.ResponseWriter, r *http.Request, e *endpoint, h func() response) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	if e == nil || !e.rawBody {
		r.Body = limitBody(sw, r, a.bodyLimit)
	}
	defer func() {
		if p := recover(); p != nil {
			a.logf("Panic serving %s %s: %v\n%s", r.Method, r.URL, p, debug.Stack())
			if sw.status == 0 && !sw.hijacked {
				internalError("internal server error").write(sw, r)
			}
		}
		if !a.quiet(r, e) {
			a.logRequest(r, time.Since(start), sw.status)
		}
	}()
	resp := h()
	resp = a.withLatestWarning(resp)
	resp.write(sw, r)
}

// logRequest writes the request's line of the request log (cli.md §7):
// "[<remote> ]<method> <URL> <duration> <status> (<transport>)", the remote
// address only over TCP. status 0 means nothing was written, which net/http
// sends as 200.
func (a *api) logRequest(r *http.Request, took time.Duration, status int) {
	if status == 0 {
		status = http.StatusOK
	}
	cl := connectionCaller(r)
	line := make([]byte, 0, 128)
	if cl.transport != transportUnix {
		line = append(line, cl.remote...)
		line = append(line, ' ')
	}
	line = append(line, r.Method...)
	line = append(line, ' ')
	line = appendRequestURL(line, r.URL)
	line = append(line, ' ')
	line = append(line, took.String()...)
	line = append(line, ' ')
	line = strconv.AppendInt(line, int64(status), 10)
	line = append(line, " ("...)
	line = append(line, cl.transport...)
	line = append(line, ')')
	a.logLine(line)
}

// appendRequestURL appends u as u.String() writes it. A request's URL is
// almost always a rooted path and a query, which it appends as they are,
// without building a string first.
func appendRequestURL(b []byte, u *url.URL) []byte {
	path := u.EscapedPath()
	if u.Scheme != "" || u.Opaque != "" || u.Host != "" || u.User != nil || u.Fragment != "" || !strings.HasPrefix(path, "/") {
		return append(b, u.String()...)
	}
	b = append(b, path...)
	if u.ForceQuery || u.RawQuery != "" {
		b = append(b, '?')
		b = append(b, u.RawQuery...)
	}
	return b
}

// quiet reports whether a request stays out of the request log (cli.md §7).
func (a *api) quiet(r *http.Request, e *endpoint) bool {
	if e == nil || r.Method != http.MethodGet {
		return false
	}
	return e.quiet || e.path == "/v1/changes/{id}"
}

// limitBody caps what a handler may read of r's body at limit bytes. A body
// whose Content-Length is already over the limit is refused at the first
// read, with the error a read past the limit gives, without reading any of
// it: a handler answers exactly as it would have, for nothing.
func limitBody(w http.ResponseWriter, r *http.Request, limit int64) io.ReadCloser {
	if r.ContentLength > limit {
		return oversizeBody{r.Body, limit}
	}
	return http.MaxBytesReader(w, r.Body, limit)
}

// oversizeBody is a request body declared longer than the limit.
type oversizeBody struct {
	io.Closer
	limit int64
}

func (b oversizeBody) Read([]byte) (int, error) {
	return 0, &http.MaxBytesError{Limit: b.limit}
}
