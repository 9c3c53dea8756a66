package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/pebble-project/pebble/internal/notices"
)

// Notices records and answers notices (api.md §13); internal/notices'
// Manager satisfies it.
type Notices interface {
	Add(userID *uint32, typ notices.Type, key string, opts notices.AddOptions) string
	Notices(f notices.Filter) []notices.Notice
	// Wait returns as soon as a notice matches f, or ctx's error, or
	// notices.ErrClosed when the daemon stops.
	Wait(ctx context.Context, f notices.Filter) ([]notices.Notice, error)
	Notice(id string) (notices.Notice, bool)
	// LatestWarning is the last-repeated time of the newest unexpired
	// warning; zero when there is none.
	LatestWarning() time.Time
}

// getNotices serves GET /v1/notices (api.md §13.2).
func (a *api) getNotices(r *http.Request, cl *caller) response {
	if cl.uid == nil {
		return errorStatus(http.StatusForbidden, "", "cannot determine UID of request, so cannot retrieve notices")
	}
	isAdmin := cl.level == accessAdmin
	q := r.URL.Query()
	f := notices.Filter{UserID: cl.uid}

	if ids := multiValue(r, "user-id"); len(ids) > 0 {
		if len(ids) > 1 {
			return badRequest(`invalid "user-id" filter: must only include one "user-id"`)
		}
		n, err := strconv.ParseUint(ids[0], 10, 32)
		if err != nil {
			return badRequest(`invalid "user-id" filter: %v`, err)
		}
		if !isAdmin {
			return errorStatus(http.StatusForbidden, "", `only admins may use the "user-id" filter`)
		}
		uid := uint32(n)
		f.UserID = &uid
	}
	if users := multiValue(r, "users"); len(users) > 0 {
		if len(users) > 1 || users[0] != "all" {
			return badRequest(`invalid "users" filter: must be "all"`)
		}
		if !isAdmin {
			return errorStatus(http.StatusForbidden, "", `only admins may use the "users" filter`)
		}
		if len(multiValue(r, "user-id")) > 0 {
			return badRequest(`cannot use both "users" and "user-id" parameters`)
		}
		f.AllUsers = true
	}
	if types := multiValue(r, "types"); len(types) > 0 {
		for _, t := range types {
			if typ := notices.Type(t); typ.Valid() {
				f.Types = append(f.Types, typ)
			}
		}
		if len(f.Types) == 0 {
			// Every type asked for is unknown: nothing can match.
			return syncResponse([]notices.Notice{})
		}
	}
	f.Keys = multiValue(r, "keys")
	if s := q.Get("after"); s != "" {
		after, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return badRequest(`invalid "after" timestamp: %v`, err)
		}
		f.After = after
	}
	var timeout time.Duration
	if s := q.Get("timeout"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return badRequest("invalid timeout: %v", err)
		}
		timeout = d
	}

	var found []notices.Notice
	if timeout > 0 {
		ctx, stop := a.untilStopping(r.Context())
		defer stop()
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		var err error
		found, err = a.notices.Wait(ctx, f)
		switch {
		case err == nil:
		case r.Context().Err() != nil:
			return badRequest("request canceled")
		case errors.Is(err, context.DeadlineExceeded):
			// Nothing arrived in time: an empty result, not an error.
		case errors.Is(context.Cause(ctx), errStopping), errors.Is(context.Cause(ctx), errUpgrading):
			// The daemon is stopping: the notices so far, as if the
			// timeout had passed, so the client asks again later.
			found = a.notices.Notices(f)
		case errors.Is(err, notices.ErrClosed):
			return internalError("daemon is stopping")
		default:
			return errorResponse(err)
		}
	} else {
		found = a.notices.Notices(f)
	}
	if found == nil {
		found = []notices.Notice{}
	}
	for _, n := range found {
		if n.Type.Durable() {
			return syncResponse(found)
		}
	}
	if len(found) > 0 {
		return unsavedResponse{syncResponse(found)}
	}
	return syncResponse(found)
}

// postNotices serves POST /v1/notices (api.md §13.3).
func (a *api) postNotices(r *http.Request, cl *caller) response {
	if cl.uid == nil {
		return errorStatus(http.StatusForbidden, "", "cannot determine UID of request, so cannot create notice")
	}
	var req struct {
		Action      string          `json:"action"`
		Type        string          `json:"type"`
		Key         string          `json:"key"`
		RepeatAfter string          `json:"repeat-after"`
		Data        json.RawMessage `json:"data"`
	}
	if resp := decodeJSON(r, decodeBody, &req); resp != nil {
		return resp
	}
	if req.Action != "add" {
		return badRequest("invalid action %q", req.Action)
	}
	var repeatAfter time.Duration
	if req.RepeatAfter != "" {
		d, err := time.ParseDuration(req.RepeatAfter)
		if err != nil {
			return badRequest("invalid repeat-after: %v", err)
		}
		repeatAfter = d
	}
	if len(req.Data) > notices.MaxDataBytes {
		return badRequest("total size of data must be %d bytes or less", notices.MaxDataBytes)
	}
	var data map[string]string
	if len(req.Data) > 0 {
		if err := json.Unmarshal(req.Data, &data); err != nil {
			return badRequest("cannot decode notice data: %v", err)
		}
	}
	if notices.Type(req.Type) != notices.Custom {
		return badRequest(`invalid type %q (can only add "custom" notices)`, req.Type)
	}
	if err := notices.ValidateCustomKey(req.Key); err != nil {
		return badRequest("%s", err)
	}
	uid := *cl.uid
	id := a.notices.Add(&uid, notices.Custom, req.Key, notices.AddOptions{Data: data, RepeatAfter: repeatAfter})
	return syncResponse(map[string]string{"id": id})
}

// getNotice serves GET /v1/notices/{id} (api.md §13.4).
func (a *api) getNotice(r *http.Request, cl *caller) response {
	if cl.uid == nil {
		return errorStatus(http.StatusForbidden, "", "cannot determine UID of request, so cannot retrieve notice")
	}
	id := r.PathValue("id")
	n, ok := a.notices.Notice(id)
	if !ok {
		return notFound("cannot find notice with ID %q", id)
	}
	if n.UserID != nil && *n.UserID != *cl.uid && cl.level != accessAdmin {
		return errorStatus(http.StatusForbidden, "", "not allowed to access notice with id %q", id)
	}
	return syncResponse(n)
}

// withLatestWarning adds "latest-warning" to non-error JSON responses while
// warnings exist (api.md §2).
func (a *api) withLatestWarning(resp response) response {
	j, ok := resp.(jsonResponse)
	if !ok {
		return resp
	}
	switch body := j.body.(type) {
	case envelope:
		if body.Type == "error" {
			return resp
		}
		if t := a.notices.LatestWarning(); !t.IsZero() {
			latest := t // only a response that carries it allocates it
			body.LatestWarning = &latest
			j.body = body
			return j
		}
	case asyncEnvelope:
		if t := a.notices.LatestWarning(); !t.IsZero() {
			latest := t // only a response that carries it allocates it
			body.LatestWarning = &latest
			j.body = body
			return j
		}
	}
	// Unchanged, so not boxed again.
	return resp
}
