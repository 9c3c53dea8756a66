package notices

import (
	"encoding/json"
	"fmt"
	"maps"
	"time"
)

// Type is the type of a notice.
type Type string

// The notice types of api.md §13.1.
const (
	// ChangeUpdate is recorded when a change is created and whenever its
	// status changes; the key is the change ID.
	ChangeUpdate Type = "change-update"
	// Custom notices are recorded by clients.
	Custom Type = "custom"
	// Warning notices have the message as key.
	Warning Type = "warning"
	// ServiceUpdate is recorded for every transition of a service (not in
	// Pebble; docs/service-events.md); the key is the service name.
	ServiceUpdate Type = "service-update"
)

// knownTypes are the types Valid accepts.
var knownTypes = []Type{ChangeUpdate, Custom, Warning, ServiceUpdate}

// Valid reports whether t is one of the known types.
func (t Type) Valid() bool {
	return contains(knownTypes, t)
}

// Durable reports whether an occurrence of a notice of type t is on disk
// before a client hears of it. Service-update notices are not: an
// occurrence asks for no write of the state file of its own and is saved
// with the next one (or at Close), so a crash-looping service costs no
// writes and a long-poll for it never waits for the disk
// (docs/service-events.md).
func (t Type) Durable() bool { return t != ServiceUpdate }

// Defaults of api.md §13.
const (
	// ExpireAfter is how long after its last repeat a notice expires.
	ExpireAfter = 7 * 24 * time.Hour
	// WarningRepeatAfter is the repeat-after of warnings.
	WarningRepeatAfter = 24 * time.Hour
)

// Notice is a snapshot of a notice. Its map belongs to the caller.
type Notice struct {
	ID string
	// UserID is the owner's UID; nil for a public notice.
	UserID        *uint32
	Type          Type
	Key           string
	FirstOccurred time.Time
	LastOccurred  time.Time
	LastRepeated  time.Time
	Occurrences   int
	// LastData is the data of the latest occurrence; nil when it had none.
	LastData map[string]string
	// RepeatAfter is that of the latest occurrence; 0 means none.
	RepeatAfter time.Duration
	ExpireAfter time.Duration
}

// noticeJSON is the wire and state-file shape of a notice (api.md §13.1).
type noticeJSON struct {
	ID            string            `json:"id"`
	UserID        *uint32           `json:"user-id"`
	Type          Type              `json:"type"`
	Key           string            `json:"key"`
	FirstOccurred time.Time         `json:"first-occurred"`
	LastOccurred  time.Time         `json:"last-occurred"`
	LastRepeated  time.Time         `json:"last-repeated"`
	Occurrences   int               `json:"occurrences"`
	LastData      map[string]string `json:"last-data,omitempty"`
	RepeatAfter   string            `json:"repeat-after,omitempty"`
	ExpireAfter   string            `json:"expire-after,omitempty"`
}

// MarshalJSON encodes the notice in the shape of api.md §13.1: durations as
// Go duration strings, times in UTC.
func (n Notice) MarshalJSON() ([]byte, error) {
	j := noticeJSON{
		ID: n.ID, UserID: n.UserID, Type: n.Type, Key: n.Key,
		FirstOccurred: n.FirstOccurred.UTC(), LastOccurred: n.LastOccurred.UTC(), LastRepeated: n.LastRepeated.UTC(),
		Occurrences: n.Occurrences, LastData: n.LastData,
	}
	if n.RepeatAfter != 0 {
		j.RepeatAfter = n.RepeatAfter.String()
	}
	if n.ExpireAfter != 0 {
		j.ExpireAfter = n.ExpireAfter.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes the shape MarshalJSON writes.
func (n *Notice) UnmarshalJSON(data []byte) error {
	var j noticeJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	*n = Notice{
		ID: j.ID, UserID: j.UserID, Type: j.Type, Key: j.Key,
		FirstOccurred: j.FirstOccurred, LastOccurred: j.LastOccurred, LastRepeated: j.LastRepeated,
		Occurrences: j.Occurrences, LastData: j.LastData,
	}
	var err error
	if j.RepeatAfter != "" {
		if n.RepeatAfter, err = time.ParseDuration(j.RepeatAfter); err != nil {
			return fmt.Errorf("invalid repeat-after: %w", err)
		}
	}
	if j.ExpireAfter != "" {
		if n.ExpireAfter, err = time.ParseDuration(j.ExpireAfter); err != nil {
			return fmt.Errorf("invalid expire-after: %w", err)
		}
	}
	return nil
}

// expired reports whether the notice has expired at now.
func (n *Notice) expired(now time.Time) bool {
	return n.ExpireAfter > 0 && n.LastRepeated.Add(n.ExpireAfter).Before(now)
}

// clone returns a copy that shares nothing mutable with n.
func (n *Notice) clone() Notice {
	c := *n
	if n.UserID != nil {
		uid := *n.UserID
		c.UserID = &uid
	}
	c.LastData = maps.Clone(n.LastData)
	return c
}

// Filter selects notices. The zero Filter matches every public notice.
type Filter struct {
	// AllUsers matches the notices of every user (and public ones); UserID
	// is then ignored.
	AllUsers bool
	// UserID, if set, also matches the notices owned by this user.
	// Public notices always match.
	UserID *uint32
	// Types, if not empty, keeps only notices of these types.
	Types []Type
	// Keys, if not empty, keeps only notices with one of these keys.
	Keys []string
	// After, if not zero, keeps only notices last repeated strictly after it.
	After time.Time
}

func (f *Filter) matches(n *Notice) bool {
	if !f.AllUsers && n.UserID != nil && (f.UserID == nil || *f.UserID != *n.UserID) {
		return false
	}
	if len(f.Types) > 0 && !contains(f.Types, n.Type) {
		return false
	}
	if len(f.Keys) > 0 && !contains(f.Keys, n.Key) {
		return false
	}
	if !f.After.IsZero() && !n.LastRepeated.After(f.After) {
		return false
	}
	return true
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
