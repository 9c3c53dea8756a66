package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// LogsOptions select the logs of Logs and FollowLogs.
type LogsOptions struct {
	// WriteLog is called with each entry, in order; required. An error
	// stops reading and is returned.
	WriteLog func(entry LogEntry) error

	// Services are the services whose logs to read; empty means all.
	Services []string

	// N is how many of the latest buffered entries to return, across the
	// services: 0 means the daemon's default (30, or none when following)
	// and -1 everything buffered.
	N int
}

// LogEntry is one line of a service's output.
type LogEntry struct {
	// Time is when the line was written, to the millisecond, in UTC.
	Time time.Time `json:"time"`
	// Service is the service that wrote it.
	Service string `json:"service"`
	// Message is the line without its trailing newline. Lines longer than
	// 4 KiB arrive as several entries with the same time.
	Message string `json:"message"`
}

// Logs reads the buffered logs of the services (api.md §14) and calls
// opts.WriteLog with each entry, oldest first, across services.
func (c *Client) Logs(ctx context.Context, opts *LogsOptions) error {
	return c.logs(ctx, opts, false)
}

// FollowLogs is Logs that goes on with new entries as the services write
// them, until ctx ends; it then returns nil.
func (c *Client) FollowLogs(ctx context.Context, opts *LogsOptions) error {
	return c.logs(ctx, opts, true)
}

// maxLogLine bounds one JSON line of the logs API (the daemon keeps them
// under 5 KiB).
const maxLogLine = 1 << 20

func (c *Client) logs(ctx context.Context, opts *LogsOptions, follow bool) error {
	if opts == nil || opts.WriteLog == nil {
		return errors.New("cannot read logs: LogsOptions.WriteLog must be set")
	}
	query := url.Values{}
	for _, s := range opts.Services {
		query.Add("services", s)
	}
	if opts.N != 0 {
		query.Set("n", strconv.Itoa(opts.N))
	}
	if follow {
		query.Set("follow", "true")
	}
	rsp, err := c.send(ctx, &request{method: http.MethodGet, path: "/v1/logs", query: query}, nil)
	if err != nil {
		if follow && ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer rsp.Body.Close()
	if rsp.StatusCode != http.StatusOK {
		return c.errorFrom(rsp)
	}
	sc := bufio.NewScanner(rsp.Body)
	sc.Buffer(make([]byte, 0, 8<<10), maxLogLine)
	for sc.Scan() {
		var entry LogEntry
		if err := json.Unmarshal(sc.Bytes(), &entry); err != nil {
			return fmt.Errorf("cannot unmarshal log: %w", err)
		}
		if err := opts.WriteLog(entry); err != nil {
			return fmt.Errorf("cannot output log: %w", err)
		}
	}
	if err := sc.Err(); err != nil {
		if follow && ctx.Err() != nil {
			return nil
		}
		return ConnectionError{Err: fmt.Errorf("cannot read logs: %w", err)}
	}
	return nil
}

// errorFrom turns a response that is not the expected stream into an
// error: the *Error of an error envelope when there is one.
func (c *Client) errorFrom(rsp *http.Response) error {
	data, err := io.ReadAll(io.LimitReader(rsp.Body, 1<<20))
	if err != nil {
		return ConnectionError{Err: err}
	}
	var env envelope
	if err := json.Unmarshal(data, &env); err == nil && env.Type == "error" {
		var e Error
		if err := json.Unmarshal(env.Result, &e); err == nil && e.Message != "" {
			e.StatusCode = env.StatusCode
			return &e
		}
	}
	return fmt.Errorf("server error: %q", rsp.Status)
}

// LogTarget reports how forwarding to one log target goes. It is an
// addition to Pebble's API (GET /v1/log-targets).
type LogTarget struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Location string   `json:"location"`
	Services []string `json:"services"`
	// Sent counts entries the receiver accepted.
	Sent uint64 `json:"sent"`
	// Dropped counts entries given up on: refused by the receiver, or
	// unsent when the target was removed or the daemon stopped.
	Dropped uint64 `json:"dropped"`
	// LostBytes counts output the service buffers overwrote before it
	// could be sent.
	LostBytes uint64 `json:"lost-bytes"`
	// Failures counts failed send attempts.
	Failures uint64 `json:"failures"`
	// Pending is the number of entries read and not yet sent.
	Pending int `json:"pending"`
	// LastError is the latest failure, and LastErrorTime when it happened
	// (zero if none).
	LastError     string    `json:"last-error"`
	LastErrorTime time.Time `json:"last-error-time"`
}

// LogTargets returns the forwarding counters of every log target.
func (c *Client) LogTargets(ctx context.Context) ([]*LogTarget, error) {
	rsp, err := c.do(ctx, &request{method: http.MethodGet, path: "/v1/log-targets"})
	if err != nil {
		return nil, err
	}
	var out []*LogTarget
	if err := rsp.decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}
