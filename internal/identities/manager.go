package identities

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/pebble-project/pebble/internal/statefile"
)

// dataKey is the entry of the state file's "data" object this package
// owns (a top-level key in Pebble v1.26's files, which statefile handles).
const dataKey = "identities"

// Action is an operation of POST /v1/identities.
type Action string

// The actions of api.md §18.
const (
	Add     Action = "add"
	Update  Action = "update"
	Replace Action = "replace"
	Remove  Action = "remove"
)

// InvalidError is a request the identities cannot be changed with; its
// text is the API's 400 message.
type InvalidError struct{ msg string }

func (e *InvalidError) Error() string { return e.msg }

func invalidf(format string, args ...any) error {
	return &InvalidError{fmt.Sprintf(format, args...)}
}

// EventKind says what happened to one identity.
type EventKind string

// The security events of behaviour.md §12.
const (
	Created EventKind = "user_created"
	Updated EventKind = "user_updated"
	Deleted EventKind = "user_deleted"
)

// Event records what an Apply did to one identity, for the security log.
type Event struct {
	Kind   EventKind
	Name   string
	Access Access // the new access; "" for Deleted
}

// Security returns the security event (behaviour.md §12) of e, done on
// behalf of user: "user_created:<user>,<name>,<access>" and its
// description.
func (e Event) Security(user string) (event, description string) {
	arg := user + "," + e.Name
	description = fmt.Sprintf("User %s %s identity %s", user, strings.TrimPrefix(string(e.Kind), "user_"), e.Name)
	if e.Access != "" {
		arg += "," + string(e.Access)
		description += " with access " + string(e.Access)
	}
	return string(e.Kind) + ":" + arg, description
}

// Manager owns the identities. Its methods are safe for concurrent use.
type Manager struct {
	store *statefile.Store

	mu    sync.RWMutex
	byN   map[string]*Identity
	byUID map[uint32]string
}

// New builds a Manager and loads the "identities" section of store, if any
// (store may be nil).
func New(store *statefile.Store) (*Manager, error) {
	m := &Manager{store: store, byN: make(map[string]*Identity), byUID: make(map[uint32]string)}
	if store != nil {
		if raw := store.LoadedData(dataKey); raw != nil {
			if err := json.Unmarshal(raw, &m.byN); err != nil {
				return nil, fmt.Errorf("cannot parse %q of state file: %w", dataKey, err)
			}
			if m.byN == nil {
				m.byN = make(map[string]*Identity)
			}
			m.index()
		}
		store.RegisterData(dataKey, m.snapshot)
	}
	return m, nil
}

func (m *Manager) index() {
	m.byUID = make(map[uint32]string)
	for name, id := range m.byN {
		if id.Local != nil && id.Local.UserID != nil {
			m.byUID[*id.Local.UserID] = name
		}
	}
}

func (m *Manager) snapshot() any {
	m.mu.RLock()
	defer m.mu.RUnlock()
	data, _ := json.Marshal(m.byN) // identities always marshal
	return json.RawMessage(data)
}

// Masked returns every identity with its secrets masked.
func (m *Manager) Masked() map[string]*Identity {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make(map[string]*Identity, len(m.byN))
	for name, id := range m.byN {
		out[name] = id.Masked()
	}
	return out
}

// ByUID returns the local identity for a UID.
func (m *Manager) ByUID(uid uint32) (name string, access Access, ok bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	name, ok = m.byUID[uid]
	if !ok {
		return "", "", false
	}
	return name, m.byN[name].Access, true
}

// ByBasic returns the basic identity whose name is user and whose hash
// verifies password. An unknown user costs as much as a wrong password.
func (m *Manager) ByBasic(user, password string) (name string, access Access, ok bool) {
	m.mu.RLock()
	id := m.byN[user]
	var hashed string
	if id != nil && id.Basic != nil {
		hashed, access = id.Basic.Password, id.Access
	}
	m.mu.RUnlock()
	if hashed == "" {
		verifyPassword(dummyHash, []byte(password))
		return "", "", false
	}
	if !verifyPassword(hashed, []byte(password)) {
		return "", "", false
	}
	return user, access, true
}

// Apply performs one POST /v1/identities operation (api.md §18) as a whole
// or not at all, and returns what happened to each identity, sorted by
// name. Errors that the request caused are *InvalidError.
func (m *Manager) Apply(action Action, ids map[string]*Identity) ([]Event, error) {
	names := slices.Sorted(maps.Keys(ids))
	switch action {
	case Add, Update, Replace, Remove:
	default:
		return nil, invalidf("invalid action %q, must be %q, %q, %q, or %q", action, Add, Update, Replace, Remove)
	}
	for _, name := range names {
		id := ids[name]
		switch {
		case action == Remove && id != nil:
			return nil, invalidf("identity value for %q must be null for remove operation", name)
		case (action == Add || action == Update) && id == nil:
			return nil, invalidf("identity value for %q must not be null for %s operation", name, action)
		}
		if id != nil {
			if err := validate(name, id); err != nil {
				return nil, invalidf("invalid identity for %q: %v", name, err)
			}
		}
	}

	m.mu.Lock()
	var missing, existing []string
	for _, name := range names {
		if _, ok := m.byN[name]; ok {
			existing = append(existing, name)
		} else {
			missing = append(missing, name)
		}
	}
	switch {
	case action == Add && len(existing) > 0:
		m.mu.Unlock()
		return nil, invalidf("identities already exist: %s", strings.Join(existing, ", "))
	case (action == Update || action == Remove) && len(missing) > 0:
		m.mu.Unlock()
		return nil, invalidf("identities do not exist: %s", strings.Join(missing, ", "))
	}
	next := maps.Clone(m.byN)
	var events []Event
	for _, name := range names {
		id := ids[name]
		_, had := next[name]
		switch {
		case id == nil && had:
			delete(next, name)
			events = append(events, Event{Kind: Deleted, Name: name})
		case id == nil:
		case had:
			next[name] = id.clone()
			events = append(events, Event{Kind: Updated, Name: name, Access: id.Access})
		default:
			next[name] = id.clone()
			events = append(events, Event{Kind: Created, Name: name, Access: id.Access})
		}
	}
	if err := uniqueUIDs(next); err != nil {
		m.mu.Unlock()
		return nil, err
	}
	m.byN = next
	m.index()
	m.mu.Unlock()
	if m.store != nil {
		m.store.MarkDirty()
	}
	return events, nil
}

// uniqueUIDs checks that no two local identities share a user ID.
func uniqueUIDs(ids map[string]*Identity) error {
	seen := make(map[uint32]string)
	for _, name := range slices.Sorted(maps.Keys(ids)) {
		id := ids[name]
		if id.Local == nil || id.Local.UserID == nil {
			continue
		}
		uid := *id.Local.UserID
		if other, ok := seen[uid]; ok {
			return invalidf("cannot have multiple identities with user ID %d (%s, %s)", uid, other, name)
		}
		seen[uid] = name
	}
	return nil
}

// IsInvalid reports whether err is an *InvalidError.
func IsInvalid(err error) bool {
	var ie *InvalidError
	return errors.As(err, &ie)
}
