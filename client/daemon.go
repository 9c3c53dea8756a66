package client

import (
	"context"
	"net/http"
)

// UpgradeOptions configure an in-place upgrade of the daemon.
type UpgradeOptions struct {
	// Binary is the absolute path of the new daemon binary; "" means the
	// daemon's own executable as it is on disk now.
	Binary string
}

// Upgrade asks the daemon to re-execute itself from a new binary in place,
// keeping its PID, services, listeners and state (not in Pebble; see the
// project's docs/upgrade.md), and returns the ID of the change doing it. The
// change is Done once the new daemon serves; if the new binary cannot take
// over, the old daemon carries on and the change fails saying why.
func (c *Client) Upgrade(ctx context.Context, opts *UpgradeOptions) (changeID string, err error) {
	body := struct {
		Action string `json:"action"`
		Binary string `json:"binary,omitempty"`
	}{Action: "upgrade"}
	if opts != nil {
		body.Binary = opts.Binary
	}
	rsp, err := c.do(ctx, &request{method: http.MethodPost, path: "/v1/daemon", body: body, async: true})
	if err != nil {
		return "", err
	}
	return rsp.changeID, nil
}
