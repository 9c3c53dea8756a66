package client

import (
	"context"
	"net/http"
	"net/url"
)

// AddLayerOptions describe a layer to add to the plan.
type AddLayerOptions struct {
	// Combine merges the layer into the existing layer with the same label
	// (appending it when there is none). False appends a new layer, which
	// fails if the label exists.
	Combine bool

	// Inner allows a new layer to be inserted into an existing layers
	// sub-directory ("dir/label"), not only appended at the end.
	Inner bool

	// Label is the label of the new layer, or of the layer to combine with.
	Label string

	// LayerData is the layer in YAML.
	LayerData []byte
}

// AddLayer adds a layer to the plan. It does not start or stop services;
// call Replan for that.
func (c *Client) AddLayer(ctx context.Context, opts *AddLayerOptions) error {
	body := struct {
		Action  string `json:"action"`
		Combine bool   `json:"combine"`
		Inner   bool   `json:"inner"`
		Label   string `json:"label"`
		Format  string `json:"format"`
		Layer   string `json:"layer"`
	}{
		Action:  "add",
		Combine: opts.Combine,
		Inner:   opts.Inner,
		Label:   opts.Label,
		Format:  "yaml",
		Layer:   string(opts.LayerData),
	}
	_, err := c.do(ctx, &request{method: http.MethodPost, path: "/v1/layers", body: body})
	return err
}

// PlanOptions are the options of PlanBytes. There are none yet.
type PlanOptions struct{}

// PlanBytes fetches the combined plan as YAML. A nil opts is allowed.
func (c *Client) PlanBytes(ctx context.Context, _ *PlanOptions) (data []byte, err error) {
	query := url.Values{"format": {"yaml"}}
	rsp, err := c.do(ctx, &request{method: http.MethodGet, path: "/v1/plan", query: query})
	if err != nil {
		return nil, err
	}
	var s string
	if err := rsp.decode(&s); err != nil {
		return nil, err
	}
	return []byte(s), nil
}
