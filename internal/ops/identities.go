package ops

import (
	"fmt"
	"strings"

	"github.com/pebble-project/pebble/internal/apierr"
	"github.com/pebble-project/pebble/internal/identities"
)

// Identities returns every identity with its secrets masked.
func (o *Ops) Identities() map[string]*identities.Identity {
	return o.identities.Masked()
}

// ApplyIdentities performs one POST /v1/identities action (api.md §18) on
// behalf of user and writes a security event per identity changed.
func (o *Ops) ApplyIdentities(user, action string, ids map[string]*identities.Identity) error {
	events, err := o.identities.Apply(identities.Action(action), ids)
	if identities.IsInvalid(err) {
		return apierr.Errorf(apierr.BadRequest, "%s", err.Error())
	}
	if err != nil {
		return err
	}
	for _, e := range events {
		arg := user + "," + e.Name
		desc := fmt.Sprintf("User %s %s identity %s", user, strings.TrimPrefix(string(e.Kind), "user_"), e.Name)
		if e.Access != "" {
			arg += "," + string(e.Access)
			desc += " with access " + string(e.Access)
		}
		o.securityEvent("WARN", string(e.Kind)+":"+arg, desc)
	}
	return nil
}

// IdentityByUID returns the local identity of a UID.
func (o *Ops) IdentityByUID(uid uint32) (name, access string, ok bool) {
	if o.identities == nil {
		return "", "", false
	}
	n, a, ok := o.identities.ByUID(uid)
	return n, string(a), ok
}

// IdentityByBasic returns the basic identity the credentials match.
func (o *Ops) IdentityByBasic(user, password string) (name, access string, ok bool) {
	if o.identities == nil {
		return "", "", false
	}
	n, a, ok := o.identities.ByBasic(user, password)
	return n, string(a), ok
}
