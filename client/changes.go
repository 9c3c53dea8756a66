package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"time"
)

// Change is a set of tasks the daemon performs for one request, such as
// starting services.
type Change struct {
	ID      string  `json:"id" yaml:"id"`
	Kind    string  `json:"kind" yaml:"kind"`
	Summary string  `json:"summary" yaml:"summary"`
	Status  string  `json:"status" yaml:"status"`
	Tasks   []*Task `json:"tasks,omitempty" yaml:"tasks,omitempty"`
	Ready   bool    `json:"ready" yaml:"ready"`
	// Err is set when the change ended in status Error: one line per
	// failed task under "cannot perform the following tasks:".
	Err string `json:"err,omitempty" yaml:"err,omitempty"`

	SpawnTime time.Time `json:"spawn-time" yaml:"spawn-time"`
	ReadyTime time.Time `json:"ready-time,omitzero" yaml:"ready-time,omitempty"` // zero until ready

	data map[string]*json.RawMessage
}

// UnmarshalJSON decodes a change, keeping its "data" object for Get.
func (c *Change) UnmarshalJSON(b []byte) error {
	type plain Change // no methods, so no recursion
	var v struct {
		plain
		Data map[string]*json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*c = Change(v.plain)
	c.data = v.Data
	return nil
}

// ErrNoData is returned by Get when there is no data under the key.
var ErrNoData = errors.New("data entry not found")

// Get unmarshals into value the change data stored under key.
func (c *Change) Get(key string, value any) error {
	return getData(c.data, key, value)
}

// getData unmarshals into value the entry of a change or task's data
// stored under key.
func getData(data map[string]*json.RawMessage, key string, value any) error {
	raw := data[key]
	if raw == nil {
		return ErrNoData
	}
	return json.Unmarshal(*raw, value)
}

// Task is one step of a change.
type Task struct {
	ID       string       `json:"id" yaml:"id"`
	Kind     string       `json:"kind" yaml:"kind"`
	Summary  string       `json:"summary" yaml:"summary"`
	Status   string       `json:"status" yaml:"status"`
	Log      []string     `json:"log,omitempty" yaml:"log,omitempty"` // the last 10 entries
	Progress TaskProgress `json:"progress" yaml:"progress"`

	SpawnTime time.Time `json:"spawn-time" yaml:"spawn-time"`
	ReadyTime time.Time `json:"ready-time,omitzero" yaml:"ready-time,omitempty"` // zero until ready

	// Data is kind-specific data; exec tasks have "exit-code".
	Data map[string]*json.RawMessage `json:"data,omitempty" yaml:"data,omitempty"`
}

// Get unmarshals into value the task data stored under key.
func (t *Task) Get(key string, value any) error {
	return getData(t.Data, key, value)
}

// TaskProgress is how far a task has come: Done out of Total.
type TaskProgress struct {
	Label string `json:"label" yaml:"label"`
	Done  int    `json:"done" yaml:"done"`
	Total int    `json:"total" yaml:"total"`
}

// changeIDPattern guards the URL path against malformed change IDs.
var changeIDPattern = regexp.MustCompile(`^[a-z0-9]+$`)

func checkChangeID(id string) error {
	if !changeIDPattern.MatchString(id) {
		return fmt.Errorf("invalid change ID %q", id)
	}
	return nil
}

// Change fetches the change with the given ID.
func (c *Client) Change(ctx context.Context, id string) (*Change, error) {
	if err := checkChangeID(id); err != nil {
		return nil, err
	}
	rsp, err := c.do(ctx, &request{method: http.MethodGet, path: "/v1/changes/" + id})
	if err != nil {
		return nil, err
	}
	var chg Change
	if err := rsp.decode(&chg); err != nil {
		return nil, err
	}
	return &chg, nil
}

// Abort asks the daemon to abort a change that is not ready yet, and returns
// the change as it is right after the request (usually in status Abort).
func (c *Client) Abort(ctx context.Context, id string) (*Change, error) {
	if err := checkChangeID(id); err != nil {
		return nil, err
	}
	body := struct {
		Action string `json:"action"`
	}{"abort"}
	rsp, err := c.do(ctx, &request{method: http.MethodPost, path: "/v1/changes/" + id, body: body})
	if err != nil {
		return nil, err
	}
	var chg Change
	if err := rsp.decode(&chg); err != nil {
		return nil, err
	}
	return &chg, nil
}

// ChangeSelector selects changes by readiness.
type ChangeSelector uint8

// The change selectors. The zero value means the daemon's default,
// ChangesInProgress.
const (
	ChangesInProgress ChangeSelector = 1 << iota
	ChangesReady
	ChangesAll = ChangesReady | ChangesInProgress
)

// String returns the selector's query value: "in-progress", "ready" or
// "all". It panics for other values.
func (s ChangeSelector) String() string {
	switch s {
	case ChangesInProgress:
		return "in-progress"
	case ChangesReady:
		return "ready"
	case ChangesAll:
		return "all"
	}
	panic(fmt.Sprintf("unknown ChangeSelector %d", s))
}

// ChangesOptions select the changes a Changes call returns.
type ChangesOptions struct {
	// ServiceName keeps only service changes that concern this service;
	// empty means no filtering.
	ServiceName string
	// Selector selects by readiness; zero means in-progress changes.
	Selector ChangeSelector
}

// Changes fetches the selected changes, in no particular order. A nil opts
// fetches the changes in progress.
func (c *Client) Changes(ctx context.Context, opts *ChangesOptions) ([]*Change, error) {
	query := url.Values{}
	if opts != nil {
		if opts.Selector != 0 {
			query.Set("select", opts.Selector.String())
		}
		if opts.ServiceName != "" {
			query.Set("for", opts.ServiceName)
		}
	}
	rsp, err := c.do(ctx, &request{method: http.MethodGet, path: "/v1/changes", query: query})
	if err != nil {
		return nil, err
	}
	var chgs []*Change
	if err := rsp.decode(&chgs); err != nil {
		return nil, err
	}
	return chgs, nil
}

// WaitChangeOptions bound a WaitChange call.
type WaitChangeOptions struct {
	// Timeout, if nonzero, is how long the daemon waits before answering
	// with a timeout error (status 504). Zero waits until the change is
	// ready or ctx ends.
	Timeout time.Duration
}

// WaitChange waits until the change is ready and returns it. A change that
// failed is not an error here: its Err field says what went wrong. A nil
// opts waits without a timeout.
func (c *Client) WaitChange(ctx context.Context, id string, opts *WaitChangeOptions) (*Change, error) {
	if err := checkChangeID(id); err != nil {
		return nil, err
	}
	query := url.Values{}
	if opts != nil && opts.Timeout != 0 {
		query.Set("timeout", opts.Timeout.String())
	}
	rsp, err := c.do(ctx, &request{method: http.MethodGet, path: "/v1/changes/" + id + "/wait", query: query})
	if err != nil {
		return nil, err
	}
	var chg Change
	if err := rsp.decode(&chg); err != nil {
		return nil, err
	}
	return &chg, nil
}
