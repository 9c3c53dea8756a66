package daemon

import (
	"net/http"

	"github.com/pebble-project/pebble/internal/identities"
)

// identityOps are the verbs of the identities API (api.md §18) and the
// lookups of the access check (api.md §5.3).
type identityOps interface {
	// Identities returns every identity with its secrets masked.
	Identities() map[string]*identities.Identity
	// ApplyIdentities performs one POST /v1/identities action for the
	// caller named user (for the security log).
	ApplyIdentities(user, action string, ids map[string]*identities.Identity) error
	// IdentityByUID returns the local identity of a UID.
	IdentityByUID(uid uint32) (name, access string, ok bool)
	// IdentityByBasic returns the basic identity that the credentials
	// match.
	IdentityByBasic(user, password string) (name, access string, ok bool)
}

// getIdentities serves GET /v1/identities.
func (a *api) getIdentities(r *http.Request) response {
	return syncResponse(a.ops.Identities())
}

// postIdentities serves POST /v1/identities; success has no result.
func (a *api) postIdentities(r *http.Request) response {
	var req struct {
		Action     string                          `json:"action"`
		Identities map[string]*identities.Identity `json:"identities"`
	}
	if resp := decodeJSON(r, decodeBody, &req); resp != nil {
		return resp
	}
	if err := a.ops.ApplyIdentities(callerOf(r).user(), req.Action, req.Identities); err != nil {
		return errorResponse(err)
	}
	return syncResponse(nil)
}
