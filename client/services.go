package client

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ServiceOptions name the services of a service action.
type ServiceOptions struct {
	// Names are the services to act on. Start, Stop, Restart and Reload
	// need at least one; AutoStart and Replan need none.
	Names []string
}

// AutoStart starts the services whose startup is "enabled", and what they
// require. It returns the ID of the change doing the work; opts.Names must
// be empty. A nil opts is allowed.
func (c *Client) AutoStart(ctx context.Context, opts *ServiceOptions) (changeID string, err error) {
	return c.serviceAction(ctx, "autostart", opts)
}

// Start starts the named services and what they require, in dependency
// order, and returns the ID of the change doing the work.
func (c *Client) Start(ctx context.Context, opts *ServiceOptions) (changeID string, err error) {
	return c.serviceAction(ctx, "start", opts)
}

// Stop stops the named services and what depends on them, in dependency
// order, and returns the ID of the change doing the work.
func (c *Client) Stop(ctx context.Context, opts *ServiceOptions) (changeID string, err error) {
	return c.serviceAction(ctx, "stop", opts)
}

// Restart stops the named services, then starts them and what they require,
// and returns the ID of the change doing the work.
func (c *Client) Restart(ctx context.Context, opts *ServiceOptions) (changeID string, err error) {
	return c.serviceAction(ctx, "restart", opts)
}

// Replan restarts the services whose configuration changed since they were
// started, starts enabled services that are not running, and returns the ID
// of the change doing the work. opts.Names must be empty. A nil opts is
// allowed.
func (c *Client) Replan(ctx context.Context, opts *ServiceOptions) (changeID string, err error) {
	return c.serviceAction(ctx, "replan", opts)
}

// Reload asks the named running services to reload their configuration
// without a restart, by their reload-signal or reload-command (our
// extension, docs/stop-and-reload.md), and returns the ID of the change
// doing the work. A service that is not running or has no reload method
// is an error, and no change is made.
func (c *Client) Reload(ctx context.Context, opts *ServiceOptions) (changeID string, err error) {
	return c.serviceAction(ctx, "reload", opts)
}

func (c *Client) serviceAction(ctx context.Context, action string, opts *ServiceOptions) (string, error) {
	var names []string
	if opts != nil {
		names = opts.Names
	}
	body := struct {
		Action   string   `json:"action"`
		Services []string `json:"services"`
	}{action, names}
	rsp, err := c.do(ctx, &request{method: http.MethodPost, path: "/v1/services", body: body, async: true})
	if err != nil {
		return "", err
	}
	return rsp.changeID, nil
}

// ServicesOptions select the services a Services call reports.
type ServicesOptions struct {
	// Names are the services to report; empty means all.
	Names []string
	// Stats asks for each started service's resource usage (our
	// extension; see ServiceInfo.Stats). It costs the daemon reading
	// /proc or cgroup files, so leave it off unless it is shown.
	Stats bool
}

// ServiceStartup is a service's startup mode.
type ServiceStartup string

// The startup modes.
const (
	StartupEnabled  ServiceStartup = "enabled"
	StartupDisabled ServiceStartup = "disabled"
)

// ServiceStatus is a service's current status.
type ServiceStatus string

// The service statuses.
const (
	StatusActive   ServiceStatus = "active"
	StatusBackoff  ServiceStatus = "backoff"
	StatusError    ServiceStatus = "error"
	StatusInactive ServiceStatus = "inactive"
)

// ServiceInfo is the status of one service.
type ServiceInfo struct {
	Name         string         `json:"name" yaml:"name"`
	Startup      ServiceStartup `json:"startup" yaml:"startup"`
	Current      ServiceStatus  `json:"current" yaml:"current"`
	CurrentSince time.Time      `json:"current-since,omitzero" yaml:"current-since,omitempty"` // zero if never started
	// Stats is the resource usage of the service's processes; nil unless
	// ServicesOptions.Stats asked for it, and nil if the service was never
	// started or the daemon does not report it (Pebble does not).
	Stats *ServiceStats `json:"stats,omitempty" yaml:"stats,omitempty"`

	// The fields below are our extension (docs/restart-budget.md); Pebble
	// leaves them out, and so does this daemon while they are empty.

	// RestartCount counts the automatic restarts since the service was last
	// started.
	RestartCount int `json:"restart-count,omitempty" yaml:"restart-count,omitempty"`
	// LastExitCode is the exit code of the last run, if it exited; nil if
	// no run ended yet or a signal killed it.
	LastExitCode *int `json:"last-exit-code,omitempty" yaml:"last-exit-code,omitempty"`
	// LastExitSignal names the signal that killed the last run ("SIGKILL").
	LastExitSignal string `json:"last-exit-signal,omitempty" yaml:"last-exit-signal,omitempty"`
	// LastExitTime is when the last run ended; zero if none did.
	LastExitTime time.Time `json:"last-exit-time,omitzero" yaml:"last-exit-time,omitempty"`
	// Failure says why Current is StatusError: the exit of a service that is
	// not restarted, or its restart limit.
	Failure string `json:"failure,omitempty" yaml:"failure,omitempty"`
	// Schedule, NextRun and SkippedRuns describe a scheduled service (not
	// in Pebble, docs/schedules.md): its schedule: field, its next due
	// time, and how many due times were skipped because the last run was
	// still going. Empty for a service without a schedule.
	Schedule    string    `json:"schedule,omitempty" yaml:"schedule,omitempty"`
	NextRun     time.Time `json:"next-run,omitzero" yaml:"next-run,omitempty"`
	SkippedRuns int       `json:"skipped-runs,omitempty" yaml:"skipped-runs,omitempty"`
	// LimitsNotEnforced lists the service's limits that the daemon could
	// not enforce on its last start, and why (not in Pebble).
	LimitsNotEnforced []LimitNotEnforced `json:"limits-not-enforced,omitempty" yaml:"limits-not-enforced,omitempty"`
	// ExitReason is "oom-killed" when the kernel's OOM killer ended the
	// service's last run at its memory limit (not in Pebble).
	ExitReason string `json:"exit-reason,omitempty" yaml:"exit-reason,omitempty"`
	// Readiness is "waiting", "ready", "reloading", "stopping" or
	// "timed-out" for a started service with readiness; empty otherwise
	// and from Pebble (docs/readiness.md).
	Readiness string `json:"readiness,omitempty" yaml:"readiness,omitempty"`
	// StatusText is the last STATUS= the service sent on its notify socket.
	StatusText string `json:"status-text,omitempty" yaml:"status-text,omitempty"`
	// Oneshot is the result of a one-shot's last run; nil before it ran,
	// for other services and from Pebble (docs/oneshot.md).
	Oneshot *OneshotResult `json:"oneshot,omitempty" yaml:"oneshot,omitempty"`
}

// LimitNotEnforced is a service limit that is not enforced.
type LimitNotEnforced struct {
	// Limit is the key of the limit in the plan, such as "memory".
	Limit string `json:"limit" yaml:"limit"`
	// Reason says why it is not enforced.
	Reason string `json:"reason" yaml:"reason"`
}

// OneshotResult is how a one-shot service's last run ended.
type OneshotResult struct {
	// ExitCode is its exit code, or 128 + the signal number.
	ExitCode int `json:"exit-code" yaml:"exit-code"`
	// Exited is when it exited.
	Exited time.Time `json:"exited" yaml:"exited"`
	// Output is its last output lines, each ending in a newline.
	Output string `json:"output" yaml:"output"`
}

// ServiceStats is the resource usage of a service's whole process tree.
type ServiceStats struct {
	Usage `yaml:",inline"`
	// ChargeGroup is the service's charge-group, and GroupTotals the
	// usage of that group's started services added up; empty and nil for
	// a service in no group.
	ChargeGroup string       `json:"charge-group,omitempty" yaml:"charge-group,omitempty"`
	GroupTotals *GroupTotals `json:"group-totals,omitempty" yaml:"group-totals,omitempty"`
}

// GroupTotals is the resource usage of the started services of one charge
// group, added up. A figure is there only when every service of the group
// has it, so that each total is the sum of its services' figures.
type GroupTotals struct {
	Services []string `json:"services" yaml:"services"`
	Usage    `yaml:",inline"`
}

// Usage are the figures of ServiceStats and GroupTotals
// (docs/resource-limits.md says where each comes from). A pointer field
// is nil when the daemon could not read that figure.
type Usage struct {
	// CPUSeconds is the CPU time used since the daemon started, over all
	// runs of the service; CPUUserSeconds and CPUSystemSeconds are its
	// user and system parts.
	CPUSeconds       float64 `json:"cpu-seconds" yaml:"cpu-seconds"`
	CPUUserSeconds   float64 `json:"cpu-user-seconds" yaml:"cpu-user-seconds"`
	CPUSystemSeconds float64 `json:"cpu-system-seconds" yaml:"cpu-system-seconds"`
	// MemoryBytes is the memory in use now, and MemoryPeakBytes the most
	// in use at once since the daemon started (for a group, the sum of its
	// services' peaks).
	MemoryBytes     uint64  `json:"memory-bytes" yaml:"memory-bytes"`
	MemoryPeakBytes *uint64 `json:"memory-peak-bytes,omitempty" yaml:"memory-peak-bytes,omitempty"`
	// Processes is how many processes the service has now, and OpenFDs
	// how many file descriptors they have open.
	Processes int  `json:"processes" yaml:"processes"`
	OpenFDs   *int `json:"open-fds,omitempty" yaml:"open-fds,omitempty"`
	// IOReadBytes and IOWriteBytes are the bytes read from and written to
	// storage since the daemon started, over all runs.
	IOReadBytes  *uint64 `json:"io-read-bytes,omitempty" yaml:"io-read-bytes,omitempty"`
	IOWriteBytes *uint64 `json:"io-write-bytes,omitempty" yaml:"io-write-bytes,omitempty"`
	// Starts is how many times the service was launched since the daemon
	// started, and OOMKills how many of its processes the kernel's OOM
	// killer killed at its memory limit (not in Pebble).
	Starts   int    `json:"starts" yaml:"starts"`
	OOMKills uint64 `json:"oom-kills" yaml:"oom-kills"`
}

// Services reports the status of the services in the plan, sorted by name.
// Names not in the plan are left out. A nil opts reports all services.
func (c *Client) Services(ctx context.Context, opts *ServicesOptions) ([]*ServiceInfo, error) {
	var names []string
	var stats bool
	if opts != nil {
		names, stats = opts.Names, opts.Stats
	}
	query := url.Values{"names": {strings.Join(names, ",")}}
	if stats {
		query.Set("stats", "true")
	}
	rsp, err := c.do(ctx, &request{method: http.MethodGet, path: "/v1/services", query: query})
	if err != nil {
		return nil, err
	}
	var infos []*ServiceInfo
	if err := rsp.decode(&infos); err != nil {
		return nil, err
	}
	return infos, nil
}
