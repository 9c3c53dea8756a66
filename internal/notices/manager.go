package notices

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/pebble-project/pebble/internal/statefile"
)

// The top-level keys of the state file this package owns, as Pebble names
// them: an array of notices in the shape of api.md §13.1, in ID order, and
// the last ID handed out.
const (
	noticesKey = "notices"
	lastIDKey  = "last-notice-id"
)

// Pruning defaults (behaviour.md §10.3).
const (
	DefaultPruneInterval = 10 * time.Minute
	DefaultMaxNotices    = 1000
)

// ErrClosed is returned by Wait when the manager closes while it waits.
var ErrClosed = errors.New("notices manager closed")

// Options configure a Manager. Every field may be left zero.
type Options struct {
	// Store persists the "notices" section; nil keeps notices in memory.
	Store *statefile.Store
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// ChangeExists reports whether a change still exists; pruning deletes
	// the change-update notices of changes that are gone. nil keeps them.
	ChangeExists func(id string) bool
	// PruneInterval is how often Start's loop prunes; 0 means 10 minutes.
	PruneInterval time.Duration
	// MaxNotices is how many notices pruning keeps at most; 0 means 1000.
	MaxNotices int
}

// AddOptions describe one occurrence of a notice.
type AddOptions struct {
	// Data is the occurrence's data; it becomes the notice's last-data.
	Data map[string]string
	// RepeatAfter: a repeat within this long of the previous one does not
	// update last-repeated. 0 means every occurrence repeats.
	RepeatAfter time.Duration
}

// key identifies a notice: its owner (-1 for public), type and key.
type key struct {
	uid int64
	typ Type
	key string
}

func keyOf(uid *uint32, typ Type, k string) key {
	id := int64(-1)
	if uid != nil {
		id = int64(*uid)
	}
	return key{id, typ, k}
}

// entry is the manager's record of a notice; guarded by Manager.mu.
type entry struct {
	Notice
	json []byte // cached encoding, nil after a change
}

// Manager owns the notices. Its methods are safe for concurrent use.
type Manager struct {
	store        *statefile.Store
	now          func() time.Time
	changeExists func(string) bool
	pruneEvery   time.Duration
	maxNotices   int

	done     chan struct{}
	wg       sync.WaitGroup
	startOne sync.Once
	closeOne sync.Once

	mu       sync.Mutex
	byKey    map[key]*entry
	byID     map[string]*entry
	warnings map[string]*entry // public warnings by key
	lastID   int
	// lastStamp is the latest last-repeated time handed out; every new
	// one is strictly later.
	lastStamp time.Time
	// changed is closed and replaced whenever a notice is recorded.
	changed chan struct{}
	// deferred is set by an occurrence of a type that is not Durable, until
	// the next snapshot.
	deferred bool
}

// New builds a Manager and loads the "notices" section of opts.Store, if any.
func New(opts Options) (*Manager, error) {
	m := &Manager{
		store:        opts.Store,
		now:          opts.Now,
		changeExists: opts.ChangeExists,
		pruneEvery:   cmp.Or(opts.PruneInterval, DefaultPruneInterval),
		maxNotices:   cmp.Or(opts.MaxNotices, DefaultMaxNotices),
		done:         make(chan struct{}),
		byKey:        make(map[key]*entry),
		byID:         make(map[string]*entry),
		warnings:     make(map[string]*entry),
		changed:      make(chan struct{}),
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.store != nil {
		if err := m.load(m.store.Loaded(noticesKey), m.store.Loaded(lastIDKey)); err != nil {
			return nil, err
		}
		m.store.RegisterFields([]string{noticesKey, lastIDKey}, m.snapshot)
	}
	return m, nil
}

// Start prunes once and then every PruneInterval until Close.
func (m *Manager) Start() {
	m.startOne.Do(func() {
		m.Prune()
		m.wg.Add(1)
		go m.pruneLoop()
	})
}

// Close stops pruning, ends every Wait with ErrClosed, and asks for a
// write of the state file if an occurrence of a type that is not Durable
// is not saved yet.
func (m *Manager) Close() {
	m.closeOne.Do(func() {
		close(m.done)
		m.mu.Lock()
		pending := m.deferred
		m.mu.Unlock()
		if pending {
			m.markDirty()
		}
	})
	m.wg.Wait()
}

func (m *Manager) pruneLoop() {
	defer m.wg.Done()
	ticker := time.NewTicker(m.pruneEvery)
	defer ticker.Stop()
	for {
		select {
		case <-m.done:
			return
		case <-ticker.C:
			m.Prune()
		}
	}
}

// Add records an occurrence of the notice (userID, typ, k) and returns its
// ID. userID nil makes the notice public. A new notice, or one that had
// expired, starts with one occurrence; an existing one counts one more,
// and its last-repeated time moves only when opts.RepeatAfter is 0 or has
// passed since the previous repeat. Its last-occurred time, last data and
// repeat-after always follow the latest occurrence. Add does not validate
// keys or data: the API does that for the notices clients add.
func (m *Manager) Add(userID *uint32, typ Type, k string, opts AddOptions) string {
	m.mu.Lock()
	now := m.now().UTC().Round(0)
	kk := keyOf(userID, typ, k)
	e := m.byKey[kk]
	if e != nil && e.expired(now) {
		m.deleteLocked(e)
		e = nil
	}
	repeated := true
	if e == nil {
		m.lastID++
		e = &entry{Notice: Notice{
			ID: strconv.Itoa(m.lastID), Type: typ, Key: k,
			FirstOccurred: now, ExpireAfter: ExpireAfter,
		}}
		if userID != nil {
			uid := *userID
			e.UserID = &uid
		}
		m.byKey[kk] = e
		m.byID[e.ID] = e
		if typ == Warning && userID == nil {
			m.warnings[k] = e
		}
	} else if opts.RepeatAfter > 0 && now.Sub(e.LastRepeated) < opts.RepeatAfter {
		repeated = false
	}
	e.Occurrences++
	e.LastOccurred = now
	e.LastData = maps.Clone(opts.Data)
	if len(e.LastData) == 0 {
		e.LastData = nil
	}
	e.RepeatAfter = opts.RepeatAfter
	e.json = nil
	id := e.ID
	if repeated {
		e.LastRepeated = m.stampLocked(now)
		close(m.changed)
		m.changed = make(chan struct{})
	}
	m.deferred = m.deferred || !typ.Durable()
	m.mu.Unlock()
	if typ.Durable() {
		m.markDirty()
	}
	return id
}

// AddWarning records a public warning with the given message
// (repeat-after 24 hours).
func (m *Manager) AddWarning(message string) string {
	return m.Add(nil, Warning, message, AddOptions{RepeatAfter: WarningRepeatAfter})
}

// stampLocked returns now, or a time just after the latest one handed out
// if now is not later (a clock step or a coarse clock).
func (m *Manager) stampLocked(now time.Time) time.Time {
	if !now.After(m.lastStamp) {
		now = m.lastStamp.Add(time.Nanosecond)
	}
	m.lastStamp = now
	return now
}

// Notices returns the unexpired notices that f matches, sorted by
// last-repeated time (oldest first).
func (m *Manager) Notices(f Filter) []Notice {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.matchLocked(&f, m.now())
}

func (m *Manager) matchLocked(f *Filter, now time.Time) []Notice {
	var out []Notice
	if len(f.Keys) > 0 && len(f.Keys) <= 8 {
		// The common case of a client waiting on a few keys: look them up
		// instead of scanning every notice.
		seen := make(map[*entry]bool)
		for _, k := range f.Keys {
			for _, e := range m.keyedLocked(k, f) {
				if !seen[e] && !e.expired(now) && f.matches(&e.Notice) {
					seen[e] = true
					out = append(out, e.clone())
				}
			}
		}
	} else {
		for _, e := range m.byID {
			if !e.expired(now) && f.matches(&e.Notice) {
				out = append(out, e.clone())
			}
		}
	}
	slices.SortFunc(out, func(a, b Notice) int { return a.LastRepeated.Compare(b.LastRepeated) })
	return out
}

// keyedLocked returns the notices with key k that f's users and types may
// match.
func (m *Manager) keyedLocked(k string, f *Filter) []*entry {
	var out []*entry
	if f.AllUsers {
		for _, e := range m.byID {
			if e.Key == k {
				out = append(out, e)
			}
		}
		return out
	}
	types := f.Types
	if len(types) == 0 {
		types = knownTypes
	}
	for _, t := range types {
		if e := m.byKey[keyOf(nil, t, k)]; e != nil {
			out = append(out, e)
		}
		if f.UserID != nil {
			if e := m.byKey[keyOf(f.UserID, t, k)]; e != nil {
				out = append(out, e)
			}
		}
	}
	return out
}

// Notice returns the notice with the given ID, unless it is unknown or
// expired.
func (m *Manager) Notice(id string) (Notice, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.byID[id]
	if e == nil || e.expired(m.now()) {
		return Notice{}, false
	}
	return e.clone(), true
}

// Wait returns the notices f matches as soon as there is at least one. It
// returns ctx's error when ctx ends first and ErrClosed when the manager
// closes first. It starts no goroutine.
func (m *Manager) Wait(ctx context.Context, f Filter) ([]Notice, error) {
	for {
		m.mu.Lock()
		out := m.matchLocked(&f, m.now())
		changed := m.changed
		m.mu.Unlock()
		if len(out) > 0 {
			return out, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-m.done:
			return nil, ErrClosed
		}
	}
}

// LatestWarning returns the last-repeated time of the newest unexpired
// warning, or the zero time when there is none.
func (m *Manager) LatestWarning() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	var latest time.Time
	if len(m.warnings) == 0 {
		return latest
	}
	now := m.now()
	for _, e := range m.warnings {
		if !e.expired(now) && e.LastRepeated.After(latest) {
			latest = e.LastRepeated
		}
	}
	return latest
}

// Prune deletes expired notices and change-update notices whose change is
// gone, then the least recently occurred notices beyond MaxNotices
// (behaviour.md §10.3).
func (m *Manager) Prune() {
	m.mu.Lock()
	now := m.now()
	deleted := false
	var keep []*entry
	for _, e := range m.byID {
		if e.expired(now) || e.Type == ChangeUpdate && m.changeExists != nil && !m.changeExists(e.Key) {
			m.deleteLocked(e)
			deleted = true
			continue
		}
		keep = append(keep, e)
	}
	if extra := len(keep) - m.maxNotices; extra > 0 {
		slices.SortFunc(keep, func(a, b *entry) int { return a.LastOccurred.Compare(b.LastOccurred) })
		for _, e := range keep[:extra] {
			m.deleteLocked(e)
		}
		deleted = true
	}
	m.mu.Unlock()
	if deleted {
		m.markDirty()
	}
}

func (m *Manager) deleteLocked(e *entry) {
	delete(m.byKey, keyOf(e.UserID, e.Type, e.Key))
	delete(m.byID, e.ID)
	if m.warnings[e.Key] == e {
		delete(m.warnings, e.Key)
	}
}

// markDirty asks for a write of the notices. A notice is news to no client
// until one reads it, and every read syncs the state file first, so the
// write may wait to join others (a crash-looping service adds several
// notices per restart).
func (m *Manager) markDirty() {
	if m.store != nil {
		m.store.MarkLazy()
	}
}

// snapshot returns the package's keys of the state file; only notices that
// changed since the previous snapshot are encoded again.
func (m *Manager) snapshot() statefile.Fields {
	type part struct {
		id   int
		json []byte
	}
	m.mu.Lock()
	parts := make([]part, 0, len(m.byID))
	for _, e := range m.byID {
		if e.json == nil {
			e.json, _ = json.Marshal(e.Notice) // a Notice always marshals
		}
		id, _ := strconv.Atoi(e.ID)
		parts = append(parts, part{id, e.json})
	}
	last := m.lastID
	m.deferred = false
	m.mu.Unlock()

	slices.SortFunc(parts, func(a, b part) int { return cmp.Compare(a.id, b.id) })
	buf := []byte{'['}
	for i, p := range parts {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, p.json...)
	}
	buf = append(buf, ']')
	return statefile.Fields{noticesKey: json.RawMessage(buf), lastIDKey: last}
}

// load rebuilds the notices from the raw keys of a state file; either may
// be nil.
func (m *Manager) load(rawNotices, rawLastID json.RawMessage) error {
	var list []json.RawMessage
	if rawNotices != nil {
		if err := json.Unmarshal(rawNotices, &list); err != nil {
			return fmt.Errorf("cannot parse %q of state file: %w", noticesKey, err)
		}
	}
	if rawLastID != nil {
		if err := json.Unmarshal(rawLastID, &m.lastID); err != nil {
			return fmt.Errorf("cannot parse %q of state file: %w", lastIDKey, err)
		}
	}
	for i, r := range list {
		var n Notice
		if err := json.Unmarshal(r, &n); err != nil {
			return fmt.Errorf("cannot parse notice %d of state file: %w", i, err)
		}
		e := &entry{Notice: n}
		m.byKey[keyOf(n.UserID, n.Type, n.Key)] = e
		m.byID[n.ID] = e
		if n.Type == Warning && n.UserID == nil {
			m.warnings[n.Key] = e
		}
		if n.LastRepeated.After(m.lastStamp) {
			m.lastStamp = n.LastRepeated
		}
		if id, err := strconv.Atoi(n.ID); err == nil && id > m.lastID {
			m.lastID = id
		}
	}
	return nil
}
