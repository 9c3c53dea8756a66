package client

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// ChecksOptions select the checks a Checks call reports.
type ChecksOptions struct {
	// Level keeps only the checks of exactly this level; UnsetLevel keeps
	// all.
	Level CheckLevel

	// Names keeps only the checks with these names; empty means all.
	Names []string
}

// CheckStatus is a check's status.
type CheckStatus string

// The check statuses.
const (
	CheckStatusUp       CheckStatus = "up"
	CheckStatusDown     CheckStatus = "down"
	CheckStatusInactive CheckStatus = "inactive"
)

// CheckStartup says whether a check starts when the plan is loaded.
type CheckStartup string

// The check startup values.
const (
	CheckStartupEnabled  CheckStartup = "enabled"
	CheckStartupDisabled CheckStartup = "disabled"
)

// CheckInfo is the status of one check.
type CheckInfo struct {
	// Name is the check's name in the plan.
	Name string `json:"name" yaml:"name"`

	// Level is the check's level; UnsetLevel when it has none.
	Level CheckLevel `json:"level,omitempty" yaml:"level,omitempty"`

	// Startup is CheckStartupEnabled or CheckStartupDisabled.
	Startup CheckStartup `json:"startup" yaml:"startup"`

	// Status is up, down (failures reached the threshold) or inactive (the
	// check is not running).
	Status CheckStatus `json:"status" yaml:"status"`

	// Successes counts the successful runs since the check started (or, while
	// it is down, since it last recovered). It is nil if the daemon did not
	// report it.
	Successes *int `json:"successes,omitempty" yaml:"successes,omitempty"`

	// Failures counts the consecutive failed runs.
	Failures int `json:"failures" yaml:"failures"`

	// Threshold is how many consecutive failures make the check down.
	Threshold int `json:"threshold" yaml:"threshold"`

	// ChangeID is the change running the check (its task logs hold the
	// failures); "" while inactive.
	ChangeID string `json:"change-id,omitempty" yaml:"change-id,omitempty"`

	// PrevChangeID is the change that ran the check before ChangeID, if
	// any.
	PrevChangeID string `json:"prev-change-id,omitempty" yaml:"prev-change-id,omitempty"`
}

// Checks reports the checks of the plan, sorted by name. A nil opts reports
// all checks.
func (c *Client) Checks(ctx context.Context, opts *ChecksOptions) ([]*CheckInfo, error) {
	if opts == nil {
		opts = &ChecksOptions{}
	}
	query := url.Values{}
	if opts.Level != UnsetLevel {
		query.Set("level", string(opts.Level))
	}
	if len(opts.Names) > 0 {
		query.Set("names", strings.Join(opts.Names, ","))
	}
	rsp, err := c.do(ctx, &request{method: http.MethodGet, path: "/v1/checks", query: query})
	if err != nil {
		return nil, err
	}
	var infos []*CheckInfo
	if err := rsp.decode(&infos); err != nil {
		return nil, err
	}
	return infos, nil
}

// ChecksActionOptions name the checks of StartChecks and StopChecks.
type ChecksActionOptions struct {
	// Names are the checks to act on; at least one.
	Names []string
}

// ChecksActionResult is what StartChecks and StopChecks did.
type ChecksActionResult struct {
	// Changed are the checks actually started or stopped, sorted; checks
	// already in the requested state are left out.
	Changed []string `json:"changed"`
}

// StartChecks starts the named checks that are not running, with their
// counters reset.
func (c *Client) StartChecks(ctx context.Context, opts *ChecksActionOptions) (*ChecksActionResult, error) {
	return c.checksAction(ctx, "start", opts)
}

// StopChecks stops the named checks that are running.
func (c *Client) StopChecks(ctx context.Context, opts *ChecksActionOptions) (*ChecksActionResult, error) {
	return c.checksAction(ctx, "stop", opts)
}

func (c *Client) checksAction(ctx context.Context, action string, opts *ChecksActionOptions) (*ChecksActionResult, error) {
	var names []string
	if opts != nil {
		names = opts.Names
	}
	body := struct {
		Action string   `json:"action"`
		Checks []string `json:"checks"`
	}{action, names}
	rsp, err := c.do(ctx, &request{method: http.MethodPost, path: "/v1/checks", body: body})
	if err != nil {
		return nil, err
	}
	var result ChecksActionResult
	if err := rsp.decode(&result); err != nil {
		return nil, err
	}
	return &result, nil
}

// RefreshCheckOptions name the check RefreshCheck runs.
type RefreshCheckOptions struct {
	// Name is the check to run.
	Name string
}

// RefreshCheckResult is the outcome of RefreshCheck.
type RefreshCheckResult struct {
	// Info is the check's status after the run.
	Info CheckInfo `json:"info"`

	// Error says why the run failed; "" when it succeeded.
	Error string `json:"error,omitempty"`
}

// RefreshCheck runs a check now and waits for its result. For a running
// check the result counts like a scheduled run; an inactive check is run
// once and its status is left alone. A failed run is reported in the
// result's Error, not as an error.
func (c *Client) RefreshCheck(ctx context.Context, opts *RefreshCheckOptions) (*RefreshCheckResult, error) {
	body := struct {
		Name string `json:"name"`
	}{opts.Name}
	rsp, err := c.do(ctx, &request{method: http.MethodPost, path: "/v1/checks/refresh", body: body})
	if err != nil {
		return nil, err
	}
	var result RefreshCheckResult
	if err := rsp.decode(&result); err != nil {
		return nil, err
	}
	return &result, nil
}
