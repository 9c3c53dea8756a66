package client

import (
	"context"
	"net/http"
)

// IdentityAccess is an identity's access level.
type IdentityAccess string

// The access levels.
const (
	AdminAccess     IdentityAccess = "admin"
	ReadAccess      IdentityAccess = "read"
	MetricsAccess   IdentityAccess = "metrics"
	UntrustedAccess IdentityAccess = "untrusted"
)

// Identity gives callers that match it an access level. At least one of
// Local, Basic and Cert must be set.
type Identity struct {
	Access IdentityAccess `json:"access" yaml:"access"`
	Local  *LocalIdentity `json:"local,omitempty" yaml:"local,omitempty"`
	Basic  *BasicIdentity `json:"basic,omitempty" yaml:"basic,omitempty"`
	Cert   *CertIdentity  `json:"cert,omitempty" yaml:"cert,omitempty"`
}

// LocalIdentity matches callers on the UNIX socket by UID.
type LocalIdentity struct {
	// UserID is a pointer so that 0 (root) differs from unset.
	UserID *uint32 `json:"user-id" yaml:"user-id"`
}

// BasicIdentity matches HTTP basic authentication.
type BasicIdentity struct {
	// Password is the sha512-crypt hash of the password; the daemon
	// returns it as "*****".
	Password string `json:"password" yaml:"password"`
}

// CertIdentity matches a TLS client certificate.
type CertIdentity struct {
	// PEM is the PEM-encoded certificate; the daemon returns it as "*****".
	PEM string `json:"pem" yaml:"pem"`
}

// IdentitiesOptions is reserved for future filters.
type IdentitiesOptions struct{}

// Identities returns every identity by name, with secrets masked.
func (c *Client) Identities(ctx context.Context, opts *IdentitiesOptions) (map[string]*Identity, error) {
	rsp, err := c.do(ctx, &request{method: http.MethodGet, path: "/v1/identities"})
	if err != nil {
		return nil, err
	}
	var out map[string]*Identity
	if err := rsp.decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

// AddIdentities adds new identities; none may exist yet.
func (c *Client) AddIdentities(ctx context.Context, identities map[string]*Identity) error {
	return c.postIdentities(ctx, "add", identities)
}

// UpdateIdentities changes existing identities; all must exist.
func (c *Client) UpdateIdentities(ctx context.Context, identities map[string]*Identity) error {
	return c.postIdentities(ctx, "update", identities)
}

// ReplaceIdentities adds or replaces identities, and removes those whose
// value is nil.
func (c *Client) ReplaceIdentities(ctx context.Context, identities map[string]*Identity) error {
	return c.postIdentities(ctx, "replace", identities)
}

// RemoveIdentities removes the named identities; all must exist.
func (c *Client) RemoveIdentities(ctx context.Context, names map[string]struct{}) error {
	ids := make(map[string]*Identity, len(names))
	for name := range names {
		ids[name] = nil
	}
	return c.postIdentities(ctx, "remove", ids)
}

func (c *Client) postIdentities(ctx context.Context, action string, identities map[string]*Identity) error {
	body := struct {
		Action     string               `json:"action"`
		Identities map[string]*Identity `json:"identities"`
	}{action, identities}
	_, err := c.do(ctx, &request{method: http.MethodPost, path: "/v1/identities", body: body})
	return err
}
