package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// SysInfo holds the daemon's system information.
type SysInfo struct {
	// Version is the daemon's version, for example "v1.32.1".
	Version string `json:"version,omitempty"`
	// BootID identifies this boot of the system (or this daemon run, when
	// the daemon is PID 1).
	BootID string `json:"boot-id,omitempty"`
	// HTTPAddress is the TCP address of the open-access API ("" if none).
	HTTPAddress string `json:"http-address,omitempty"`
	// HTTPSAddress is the TLS address of the API ("" if none).
	HTTPSAddress string `json:"https-address,omitempty"`
}

// SysInfo fetches the daemon's system information.
func (c *Client) SysInfo(ctx context.Context) (*SysInfo, error) {
	rsp, err := c.do(ctx, &request{method: http.MethodGet, path: "/v1/system-info"})
	if err != nil {
		return nil, fmt.Errorf("cannot obtain system details: %w", err)
	}
	var info SysInfo
	if err := rsp.decode(&info); err != nil {
		return nil, fmt.Errorf("cannot obtain system details: %w", err)
	}
	return &info, nil
}

// CheckLevel is the level of a health check.
type CheckLevel string

// The check levels.
const (
	UnsetLevel CheckLevel = ""
	AliveLevel CheckLevel = "alive"
	ReadyLevel CheckLevel = "ready"
)

// HealthOptions select the checks a Health call considers.
type HealthOptions struct {
	// Level is AliveLevel to consider alive checks, ReadyLevel to consider
	// ready and alive checks, or UnsetLevel to consider every check.
	Level CheckLevel

	// Names restricts the query to these checks; empty means all.
	Names []string
}

// Health reports whether every selected check is up. A nil opts selects all
// checks. An unhealthy result is not an error.
func (c *Client) Health(ctx context.Context, opts *HealthOptions) (healthy bool, err error) {
	if opts == nil {
		opts = &HealthOptions{}
	}
	query := url.Values{}
	if opts.Level != UnsetLevel {
		query.Set("level", string(opts.Level))
	}
	if len(opts.Names) > 0 {
		query["names"] = opts.Names
	}
	rsp, err := c.do(ctx, &request{method: http.MethodGet, path: "/v1/health", query: query})
	if err != nil {
		return false, err
	}
	var info struct {
		Healthy bool `json:"healthy"`
	}
	if err := rsp.decode(&info); err != nil {
		return false, err
	}
	return info.Healthy, nil
}

// SendSignalOptions say which signal to send to which services.
type SendSignalOptions struct {
	// Signal is an uppercase name with the SIG prefix, such as "SIGHUP".
	Signal string
	// Services are the names of the services to signal; at least one.
	Services []string
}

// SendSignal sends a signal to the main process of each named service.
func (c *Client) SendSignal(ctx context.Context, opts *SendSignalOptions) error {
	body := struct {
		Signal   string   `json:"signal"`
		Services []string `json:"services"`
	}{opts.Signal, opts.Services}
	_, err := c.do(ctx, &request{method: http.MethodPost, path: "/v1/signals", body: body})
	return err
}
