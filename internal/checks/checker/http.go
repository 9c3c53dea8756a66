package checker

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/pebble-project/pebble/internal/plan"
)

// httpChecker succeeds when a GET of the URL answers 2xx (redirects
// followed).
//
// A plain http URL that no proxy applies to takes a direct path: one
// kept-alive connection, and each run writes the request and reads the
// answer on it from the caller's goroutine. That costs a fraction of
// net/http's Transport, whose connection goroutines and hand-offs dominate
// a check that runs every 100 ms. Everything else (https, proxies, and
// redirects, which are then fetched again from the start) goes through an
// http.Client with a transport of its own. Errors read the same on both
// paths: `Get "<url>": <cause>`.
type httpChecker struct {
	url string
	req *http.Request // the request, built once; never sent with a context

	direct bool   // use the direct path
	addr   string // host:port to dial on the direct path
	conn   net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	stop   func() bool // unbinds conn from the current run's context

	transport *http.Transport
	client    *http.Client
}

func newHTTPChecker(h *plan.HTTPCheck) Checker {
	req, err := http.NewRequest(http.MethodGet, h.URL, nil)
	if err != nil {
		return errChecker{fmt.Errorf("cannot build request: %w", err)}
	}
	for k, v := range h.Headers {
		if http.CanonicalHeaderKey(k) == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 1
	tr.MaxIdleConnsPerHost = 1
	c := &httpChecker{
		url:       h.URL,
		req:       req,
		transport: tr,
		client:    &http.Client{Transport: tr},
	}
	if req.URL.Scheme == "http" && req.URL.User == nil {
		if proxy, err := http.ProxyFromEnvironment(req); err == nil && proxy == nil {
			c.direct = true
			c.addr = canonicalAddr(req.URL)
		}
	}
	return c
}

// canonicalAddr is the host:port of an http URL, port 80 by default.
func canonicalAddr(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

func (c *httpChecker) Check(ctx context.Context) error {
	if !c.direct {
		return c.checkClient(ctx)
	}
	resp, err := c.roundTrip(ctx)
	if err != nil {
		return &url.Error{Op: "Get", URL: c.url, Err: err}
	}
	defer c.release()
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 && resp.Header.Get("Location") != "" {
		c.finish(resp, nil)
		c.release()
		return c.checkClient(ctx)
	}
	return c.judge(ctx, resp)
}

// checkClient makes the request with the http.Client.
func (c *httpChecker) checkClient(ctx context.Context) error {
	resp, err := c.client.Do(c.req.WithContext(ctx))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return c.judge(ctx, resp)
}

// judge reads what is needed of the response and returns the verdict. The
// body of a direct response is drained so that its connection can be
// reused.
func (c *httpChecker) judge(ctx context.Context, resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		c.finish(resp, nil)
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDetailBytes))
	details := firstLines(string(body))
	if err != nil && ctx.Err() == nil {
		details = fmt.Sprintf("cannot read response: %v", err)
	}
	c.finish(resp, err)
	return &Error{Message: fmt.Sprintf("non-2xx status code %d", resp.StatusCode), Details: details}
}

// finish keeps a direct response's connection for the next run when that
// is cheap and safe: the server keeps it open, and the rest of the body has
// a known length of at most drainLimit, which is read now. Otherwise the
// connection is closed without reading on, so that a body that never ends
// does not hold up the run.
func (c *httpChecker) finish(resp *http.Response, readErr error) {
	if !c.direct || c.conn == nil {
		return
	}
	if readErr != nil || resp.Close || resp.ContentLength < 0 || resp.ContentLength > drainLimit {
		c.closeConn()
		return
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		c.closeConn()
	}
}

// roundTrip sends the request on the direct connection, dialling one when
// there is none, and reads the response header. A kept-alive connection the
// server has closed meanwhile is replaced once, as net/http does for a GET.
// On success the connection stays bound to ctx until release.
func (c *httpChecker) roundTrip(ctx context.Context) (*http.Response, error) {
	deadline, _ := ctx.Deadline() // the zero time means none
	for attempt := 0; ; attempt++ {
		reused := c.conn != nil
		if !reused {
			var d net.Dialer
			conn, err := d.DialContext(ctx, "tcp", c.addr)
			if err != nil {
				return nil, err
			}
			c.conn = conn
			c.br = bufio.NewReaderSize(conn, 4096)
			c.bw = bufio.NewWriterSize(conn, 1024)
		}
		conn := c.conn
		if err := conn.SetDeadline(deadline); err != nil {
			c.closeConn()
			return nil, err
		}
		c.stop = context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
		resp, err := c.writeRead()
		if err == nil {
			return resp, nil
		}
		c.release()
		c.closeConn()
		var ne net.Error
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case errors.As(err, &ne) && ne.Timeout() && !deadline.IsZero() && !time.Now().Before(deadline):
			return nil, context.DeadlineExceeded // the deadline fired before ctx's timer
		case !reused || attempt > 0:
			return nil, err
		}
	}
}

// release unbinds the connection from the run's context. If the context
// ended meanwhile, the connection's deadline may be cut short at any
// moment, so it is closed.
func (c *httpChecker) release() {
	if c.stop != nil {
		if !c.stop() {
			c.closeConn()
		}
		c.stop = nil
	}
}

func (c *httpChecker) writeRead() (*http.Response, error) {
	if err := c.req.Write(c.bw); err != nil {
		return nil, err
	}
	if err := c.bw.Flush(); err != nil {
		return nil, err
	}
	for {
		resp, err := http.ReadResponse(c.br, c.req)
		if err != nil {
			return nil, err
		}
		// Skip informational answers (100 Continue, 103 Early Hints), as
		// net/http does.
		if resp.StatusCode >= 100 && resp.StatusCode <= 199 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue
		}
		return resp, nil
	}
}

func (c *httpChecker) closeConn() {
	if c.conn != nil {
		c.conn.Close()
		c.conn, c.br, c.bw = nil, nil, nil
	}
}

func (c *httpChecker) Close() {
	c.closeConn()
	c.transport.CloseIdleConnections()
}
