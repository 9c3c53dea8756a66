package daemon

import (
	"net/http"

	"github.com/pebble-project/pebble/internal/identities"
)

// Identities holds the identities (api.md §18) and answers the lookups of
// the access check (api.md §5.3); internal/identities' Manager satisfies
// it.
type Identities interface {
	// Masked returns every identity with its secrets masked.
	Masked() map[string]*identities.Identity
	// Apply performs one POST /v1/identities action; an invalid request
	// gives an error for which identities.IsInvalid is true.
	Apply(action identities.Action, ids map[string]*identities.Identity) ([]identities.Event, error)
	// ByUID returns the local identity of a UID.
	ByUID(uid uint32) (name string, access identities.Access, ok bool)
	// ByBasic returns the basic identity that the credentials match.
	ByBasic(user, password string) (name string, access identities.Access, ok bool)
}

// getIdentities serves GET /v1/identities.
func (a *api) getIdentities(r *http.Request, cl *caller) response {
	return syncResponse(a.identities.Masked())
}

// postIdentities serves POST /v1/identities; success has no result.
func (a *api) postIdentities(r *http.Request, cl *caller) response {
	var req struct {
		Action     string                          `json:"action"`
		Identities map[string]*identities.Identity `json:"identities"`
	}
	if resp := decodeJSON(r, decodeBody, &req); resp != nil {
		return resp
	}
	events, err := a.identities.Apply(identities.Action(req.Action), req.Identities)
	if identities.IsInvalid(err) {
		return badRequest("%s", err)
	}
	if err != nil {
		return errorResponse(err)
	}
	user := cl.user()
	for _, e := range events {
		event, description := e.Security(user)
		a.securityEvent("WARN", event, description)
	}
	return syncResponse(nil)
}
