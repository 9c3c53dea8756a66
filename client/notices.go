package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// NoticeType is the type of a notice.
type NoticeType string

// The notice types.
const (
	// ChangeUpdateNotice is recorded when a change is created and whenever
	// its status changes; the key is the change ID and the data holds the
	// change's kind (and "check-name" for check changes).
	ChangeUpdateNotice NoticeType = "change-update"
	// CustomNotice is recorded by clients (Notify, "pebble notify").
	CustomNotice NoticeType = "custom"
	// WarningNotice has the warning message as its key.
	WarningNotice NoticeType = "warning"
	// ServiceUpdateNotice (not in Pebble) is recorded for every transition
	// of a service; the key is the service name and the data holds the
	// "event" and, when the main process exited, its "exit-code" or
	// "signal" (docs/service-events.md).
	ServiceUpdateNotice NoticeType = "service-update"
)

// Notice is something that happened, recorded by the daemon. Type and Key
// (with UserID) identify a notice; a new occurrence updates it.
type Notice struct {
	ID string `json:"id" yaml:"id"`
	// UserID is the owner's UID; nil for a public notice.
	UserID        *uint32           `json:"user-id" yaml:"user-id"`
	Type          NoticeType        `json:"type" yaml:"type"`
	Key           string            `json:"key" yaml:"key"`
	FirstOccurred time.Time         `json:"first-occurred" yaml:"first-occurred"`
	LastOccurred  time.Time         `json:"last-occurred" yaml:"last-occurred"`
	LastRepeated  time.Time         `json:"last-repeated" yaml:"last-repeated"`
	Occurrences   int               `json:"occurrences" yaml:"occurrences"`
	LastData      map[string]string `json:"last-data,omitempty" yaml:"last-data,omitempty"`
	RepeatAfter   time.Duration     `json:"repeat-after,omitempty" yaml:"repeat-after,omitempty"`
	ExpireAfter   time.Duration     `json:"expire-after,omitempty" yaml:"expire-after,omitempty"`
}

// noticeWire is the wire shape: durations are Go duration strings.
type noticeWire struct {
	ID            string            `json:"id"`
	UserID        *uint32           `json:"user-id"`
	Type          NoticeType        `json:"type"`
	Key           string            `json:"key"`
	FirstOccurred time.Time         `json:"first-occurred"`
	LastOccurred  time.Time         `json:"last-occurred"`
	LastRepeated  time.Time         `json:"last-repeated"`
	Occurrences   int               `json:"occurrences"`
	LastData      map[string]string `json:"last-data,omitempty"`
	RepeatAfter   string            `json:"repeat-after,omitempty"`
	ExpireAfter   string            `json:"expire-after,omitempty"`
}

// MarshalJSON writes the wire shape, with durations as strings.
func (n Notice) MarshalJSON() ([]byte, error) {
	w := noticeWire{
		ID: n.ID, UserID: n.UserID, Type: n.Type, Key: n.Key,
		FirstOccurred: n.FirstOccurred, LastOccurred: n.LastOccurred, LastRepeated: n.LastRepeated,
		Occurrences: n.Occurrences, LastData: n.LastData,
	}
	if n.RepeatAfter != 0 {
		w.RepeatAfter = n.RepeatAfter.String()
	}
	if n.ExpireAfter != 0 {
		w.ExpireAfter = n.ExpireAfter.String()
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads the wire shape.
func (n *Notice) UnmarshalJSON(data []byte) error {
	var w noticeWire
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*n = Notice{
		ID: w.ID, UserID: w.UserID, Type: w.Type, Key: w.Key,
		FirstOccurred: w.FirstOccurred, LastOccurred: w.LastOccurred, LastRepeated: w.LastRepeated,
		Occurrences: w.Occurrences, LastData: w.LastData,
	}
	var err error
	if w.RepeatAfter != "" {
		if n.RepeatAfter, err = time.ParseDuration(w.RepeatAfter); err != nil {
			return fmt.Errorf("invalid repeat-after: %w", err)
		}
	}
	if w.ExpireAfter != "" {
		if n.ExpireAfter, err = time.ParseDuration(w.ExpireAfter); err != nil {
			return fmt.Errorf("invalid expire-after: %w", err)
		}
	}
	return nil
}

// NotifyOptions describe an occurrence of a custom notice.
type NotifyOptions struct {
	// Type must be CustomNotice.
	Type NoticeType
	// Key is in "example.com/path" format.
	Key string
	// Data are optional name=value pairs of this occurrence.
	Data map[string]string
	// RepeatAfter, if not zero, keeps an occurrence within this long of
	// the previous repeat from counting as a new repeat.
	RepeatAfter time.Duration
}

// Notify records an occurrence of a custom notice owned by the caller and
// returns the notice's ID.
func (c *Client) Notify(ctx context.Context, opts *NotifyOptions) (string, error) {
	body := struct {
		Action      string            `json:"action"`
		Type        string            `json:"type"`
		Key         string            `json:"key"`
		RepeatAfter string            `json:"repeat-after,omitempty"`
		Data        map[string]string `json:"data,omitempty"`
	}{Action: "add", Type: string(opts.Type), Key: opts.Key, Data: opts.Data}
	if opts.RepeatAfter != 0 {
		body.RepeatAfter = opts.RepeatAfter.String()
	}
	rsp, err := c.do(ctx, &request{method: http.MethodPost, path: "/v1/notices", body: body})
	if err != nil {
		return "", err
	}
	var result struct {
		ID string `json:"id"`
	}
	if err := rsp.decode(&result); err != nil {
		return "", err
	}
	return result.ID, nil
}

// NoticesUsers selects notices by owner beyond the caller's own.
type NoticesUsers string

// NoticesUsersAll selects the notices of every user (admins only).
const NoticesUsersAll NoticesUsers = "all"

// NoticesOptions filter notices. The zero value selects the caller's
// notices and public ones.
type NoticesOptions struct {
	// Users, if NoticesUsersAll, selects every user's notices (admins only).
	Users NoticesUsers
	// UserID, if set, selects that user's notices and public ones (admins
	// only).
	UserID *uint32
	// Types, if not empty, keeps only notices of these types.
	Types []NoticeType
	// Keys, if not empty, keeps only notices with these keys.
	Keys []string
	// After, if set, keeps only notices last repeated after this time.
	After time.Time
}

func (opts *NoticesOptions) query() url.Values {
	q := url.Values{}
	if opts == nil {
		return q
	}
	if opts.Users != "" {
		q.Set("users", string(opts.Users))
	}
	if opts.UserID != nil {
		q.Set("user-id", strconv.FormatUint(uint64(*opts.UserID), 10))
	}
	if len(opts.Types) > 0 {
		types := make([]string, len(opts.Types))
		for i, t := range opts.Types {
			types[i] = string(t)
		}
		q.Set("types", strings.Join(types, ","))
	}
	if len(opts.Keys) > 0 {
		q.Set("keys", strings.Join(opts.Keys, ","))
	}
	if !opts.After.IsZero() {
		q.Set("after", opts.After.Format(time.RFC3339Nano))
	}
	return q
}

// Notices returns the notices opts selects, oldest repeat first.
func (c *Client) Notices(ctx context.Context, opts *NoticesOptions) ([]*Notice, error) {
	return c.notices(ctx, opts.query())
}

// WaitNotices waits until at least one notice matches opts and returns the
// matching notices. The daemon waits at most serverTimeout and then returns
// an empty list; ctx bounds the whole call.
func (c *Client) WaitNotices(ctx context.Context, serverTimeout time.Duration, opts *NoticesOptions) ([]*Notice, error) {
	q := opts.query()
	q.Set("timeout", serverTimeout.String())
	return c.notices(ctx, q)
}

func (c *Client) notices(ctx context.Context, q url.Values) ([]*Notice, error) {
	rsp, err := c.do(ctx, &request{method: http.MethodGet, path: "/v1/notices", query: q})
	if err != nil {
		return nil, err
	}
	var out []*Notice
	if err := rsp.decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

// Notice returns the notice with the given ID.
func (c *Client) Notice(ctx context.Context, id string) (*Notice, error) {
	rsp, err := c.do(ctx, &request{method: http.MethodGet, path: "/v1/notices/" + url.PathEscape(id)})
	if err != nil {
		return nil, err
	}
	var n Notice
	if err := rsp.decode(&n); err != nil {
		return nil, err
	}
	return &n, nil
}
