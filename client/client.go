package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"sync"
	"time"
)

// Config says how a Client reaches the daemon. The zero value is not usable:
// set Socket or BaseURL.
type Config struct {
	// BaseURL is the daemon's address, for example "http://localhost:4000".
	// Empty means HTTP over the UNIX socket at Socket, addressed as
	// "http://localhost".
	BaseURL string

	// Socket is the path of the daemon's UNIX socket. It is used only when
	// BaseURL is empty.
	Socket string

	// BasicUsername and BasicPassword, when both are non-empty, are sent as
	// HTTP basic authentication with every request.
	BasicUsername string
	BasicPassword string

	// DisableKeepAlive closes each connection after its request. By default
	// connections are kept for reuse.
	DisableKeepAlive bool

	// UserAgent, if set, is sent as the User-Agent header.
	UserAgent string
}

// Client talks to the daemon. Create one with New. Its methods are safe for
// concurrent use.
type Client struct {
	baseURL       url.URL
	http          *http.Client
	userAgent     string
	basicUsername string
	basicPassword string

	// retryEvery and retryFor bound the retries of GET requests that fail to
	// connect (cli.md §1.1).
	retryEvery time.Duration
	retryFor   time.Duration

	mu            sync.Mutex
	maintenance   error
	latestWarning time.Time
}

// New returns a client configured by config, which it does not keep.
func New(config *Config) (*Client, error) {
	var cfg Config
	if config != nil {
		cfg = *config
	}
	transport := &http.Transport{DisableKeepAlives: cfg.DisableKeepAlive}
	c := &Client{
		http:          &http.Client{Transport: transport},
		userAgent:     cfg.UserAgent,
		basicUsername: cfg.BasicUsername,
		basicPassword: cfg.BasicPassword,
		retryEvery:    250 * time.Millisecond,
		retryFor:      5 * time.Second,
	}
	switch {
	case cfg.BaseURL != "":
		u, err := url.Parse(cfg.BaseURL)
		if err != nil {
			return nil, fmt.Errorf("cannot parse base URL %q: %w", cfg.BaseURL, err)
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return nil, fmt.Errorf("cannot use base URL %q: scheme must be http or https", cfg.BaseURL)
		}
		c.baseURL = *u
	case cfg.Socket != "":
		c.baseURL = url.URL{Scheme: "http", Host: "localhost"}
		transport.DialContext = unixDialer(cfg.Socket)
	default:
		return nil, errors.New("cannot create client: Config must set Socket or BaseURL")
	}
	return c, nil
}

// unixDialer returns a dial function that ignores the network address and
// connects to the socket at socketPath, reporting a missing socket file as a
// SocketNotFoundError.
func unixDialer(socketPath string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		if _, err := os.Stat(socketPath); err != nil {
			return nil, SocketNotFoundError{Err: err, Path: socketPath}
		}
		var d net.Dialer
		return d.DialContext(ctx, "unix", socketPath)
	}
}

// CloseIdleConnections closes connections kept alive from earlier requests.
func (c *Client) CloseIdleConnections() {
	c.http.CloseIdleConnections()
}

// Maintenance returns the maintenance error (kind daemon-restart or
// system-restart) the daemon reported in its latest response, or nil.
func (c *Client) Maintenance() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.maintenance
}

// LatestWarningTime returns the latest-warning time from the daemon's latest
// non-error response, or the zero time when it reported none.
func (c *Client) LatestWarningTime() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.latestWarning
}

// envelope is the JSON body of every response (api.md §2).
type envelope struct {
	Type          string          `json:"type"`
	StatusCode    int             `json:"status-code"`
	Status        string          `json:"status"`
	Change        string          `json:"change"`
	Result        json.RawMessage `json:"result"`
	LatestWarning time.Time       `json:"latest-warning"`
	Maintenance   *Error          `json:"maintenance"`
}

// request describes one API call.
type request struct {
	method string
	path   string
	query  url.Values
	body   any // marshalled as JSON when non-nil
	async  bool
}

// response is the useful part of a successful envelope.
type response struct {
	changeID string
	result   json.RawMessage
}

// do performs req and returns the envelope's result, or an error: *Error for
// error envelopes, ConnectionError when the daemon cannot be reached.
func (c *Client) do(ctx context.Context, req *request) (*response, error) {
	var body []byte
	if req.body != nil {
		var err error
		body, err = json.Marshal(req.body)
		if err != nil {
			return nil, RequestError{Err: err}
		}
	}
	httpRsp, err := c.send(ctx, req, body)
	if err != nil {
		return nil, err
	}
	defer httpRsp.Body.Close()

	data, err := io.ReadAll(httpRsp.Body)
	if err != nil {
		return nil, ConnectionError{Err: err}
	}
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("cannot decode %q: %w", data, err)
	}

	c.mu.Lock()
	if env.Maintenance != nil {
		c.maintenance = env.Maintenance
	} else {
		c.maintenance = nil
	}
	c.mu.Unlock()

	if env.Type == "error" {
		var e Error
		if err := json.Unmarshal(env.Result, &e); err != nil || e.Message == "" {
			return nil, fmt.Errorf("server error: %q", env.Status)
		}
		e.StatusCode = env.StatusCode
		return nil, &e
	}
	if req.async {
		if env.Type != "async" {
			return nil, fmt.Errorf("expected async response for %q on %q, got %q", req.method, req.path, env.Type)
		}
		if env.StatusCode != http.StatusAccepted {
			return nil, errors.New("operation not accepted")
		}
		if env.Change == "" {
			return nil, errors.New("async response without change reference")
		}
	} else if env.Type != "sync" {
		return nil, fmt.Errorf("expected sync response, got %q", env.Type)
	}

	c.mu.Lock()
	c.latestWarning = env.LatestWarning
	c.mu.Unlock()
	return &response{changeID: env.Change, result: env.Result}, nil
}

// send sends one HTTP request. GET requests that fail to connect are retried
// every retryEvery for up to retryFor, or until ctx ends.
func (c *Client) send(ctx context.Context, req *request, body []byte) (*http.Response, error) {
	u := c.baseURL
	u.Path = path.Join(c.baseURL.Path, req.path)
	u.RawQuery = req.query.Encode()

	var deadline <-chan time.Time
	var lastErr error // the previous attempt's error, when retrying
	for {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		httpReq, err := http.NewRequestWithContext(ctx, req.method, u.String(), rd)
		if err != nil {
			return nil, RequestError{Err: err}
		}
		httpReq.Header.Set("Content-Type", "application/json")
		if c.userAgent != "" {
			httpReq.Header.Set("User-Agent", c.userAgent)
		}
		if c.basicUsername != "" && c.basicPassword != "" {
			httpReq.SetBasicAuth(c.basicUsername, c.basicPassword)
		}
		rsp, err := c.http.Do(httpReq)
		if err == nil {
			return rsp, nil
		}
		if ctx.Err() != nil && lastErr != nil {
			// The context ended while retrying: why the daemon could
			// not be reached says more than the context's error.
			return nil, ConnectionError{Err: lastErr}
		}
		if req.method != http.MethodGet || ctx.Err() != nil {
			return nil, ConnectionError{Err: err}
		}
		lastErr = err
		if deadline == nil {
			timer := time.NewTimer(c.retryFor)
			defer timer.Stop()
			deadline = timer.C
		}
		retry := time.NewTimer(c.retryEvery)
		select {
		case <-retry.C:
			continue
		case <-deadline:
		case <-ctx.Done():
		}
		retry.Stop()
		return nil, ConnectionError{Err: err}
	}
}

// decode unmarshals a result into v.
func (r *response) decode(v any) error {
	if err := json.Unmarshal(r.result, v); err != nil {
		return fmt.Errorf("cannot unmarshal: %w", err)
	}
	return nil
}
