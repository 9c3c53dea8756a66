// Package identities holds the named identities that give API callers an
// access level (api.md §5, §18): local identities match a UNIX socket
// peer's UID, basic identities a user name and a password checked against a
// sha512-crypt hash, cert identities a TLS client certificate (stored and
// returned, but never matched: this daemon serves no HTTPS).
//
// The package validates identities with the API's messages, applies the
// add, update, replace and remove operations atomically, keeps user IDs
// unique, persists the "identities" section of the state file, and answers
// the lookups the API's access check makes. It never logs or returns a
// secret: Masked replaces passwords and certificates with "*****".
//
// It does not decide what a level may do (internal/daemon does) and does not
// write security events (the caller does, through the Event records that
// Apply returns).
package identities

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
)

// Access is an identity's access level.
type Access string

// The access levels of api.md §5.1.
const (
	AdminAccess     Access = "admin"
	ReadAccess      Access = "read"
	MetricsAccess   Access = "metrics"
	UntrustedAccess Access = "untrusted"
)

// Identity is one named identity. At least one of Local, Basic and Cert is
// set.
type Identity struct {
	Access Access    `json:"access" yaml:"access"`
	Local  *Local    `json:"local,omitempty" yaml:"local,omitempty"`
	Basic  *Basic    `json:"basic,omitempty" yaml:"basic,omitempty"`
	Cert   *CertInfo `json:"cert,omitempty" yaml:"cert,omitempty"`
}

// Local matches callers on the UNIX socket by their UID.
type Local struct {
	// UserID is required; nil only in invalid input.
	UserID *uint32 `json:"user-id" yaml:"user-id"`
}

// Basic matches HTTP basic authentication.
type Basic struct {
	// Password is the sha512-crypt hash of the password.
	Password string `json:"password" yaml:"password"`
}

// CertInfo holds a TLS client certificate.
type CertInfo struct {
	PEM string `json:"pem" yaml:"pem"`
}

// mask is what secrets are replaced with in API results.
const mask = "*****"

// Masked returns a copy of the identity with the basic password and the
// certificate replaced by "*****".
func (id *Identity) Masked() *Identity {
	c := id.clone()
	if c.Basic != nil {
		c.Basic.Password = mask
	}
	if c.Cert != nil {
		c.Cert.PEM = mask
	}
	return c
}

func (id *Identity) clone() *Identity {
	c := &Identity{Access: id.Access}
	if id.Local != nil {
		c.Local = &Local{}
		if id.Local.UserID != nil {
			uid := *id.Local.UserID
			c.Local.UserID = &uid
		}
	}
	if id.Basic != nil {
		b := *id.Basic
		c.Basic = &b
	}
	if id.Cert != nil {
		ci := *id.Cert
		c.Cert = &ci
	}
	return c
}

// Types returns the identity's types in the order local, basic, cert.
func (id *Identity) Types() []string {
	var out []string
	if id.Local != nil {
		out = append(out, "local")
	}
	if id.Basic != nil {
		out = append(out, "basic")
	}
	if id.Cert != nil {
		out = append(out, "cert")
	}
	return out
}

var nameRegexp = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_-]*$`)

// validate checks an identity and its name; the error is the reason part
// of `invalid identity for "<name>": <reason>` (api.md §18).
func validate(name string, id *Identity) error {
	if !nameRegexp.MatchString(name) {
		return fmt.Errorf("identity name %q invalid: must start with an alphabetic character and only contain alphanumeric characters, underscore, and hyphen", name)
	}
	switch id.Access {
	case AdminAccess, ReadAccess, MetricsAccess, UntrustedAccess:
	case "":
		return fmt.Errorf("access value must be specified (%q, %q, %q, or %q)", AdminAccess, ReadAccess, MetricsAccess, UntrustedAccess)
	default:
		return fmt.Errorf("invalid access value %q, must be %q, %q, %q, or %q", id.Access, AdminAccess, ReadAccess, MetricsAccess, UntrustedAccess)
	}
	typed := false
	if id.Local != nil {
		if id.Local.UserID == nil {
			return errors.New("local identity must specify user-id")
		}
		typed = true
	}
	if id.Basic != nil {
		if id.Basic.Password == "" {
			return errors.New("basic identity must specify password (hashed)")
		}
		typed = true
	}
	if id.Cert != nil {
		block, _ := pem.Decode([]byte(id.Cert.PEM))
		if block == nil {
			return errors.New("cert identity must include a PEM-encoded certificate")
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return fmt.Errorf("cannot parse certificate from cert identity: %w", err)
		}
		typed = true
	}
	if !typed {
		return errors.New(`identity must have at least one type ("local", "basic", or "cert")`)
	}
	return nil
}
