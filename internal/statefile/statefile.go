// Package statefile owns the daemon's state file, $PEBBLE/.pebble.state.
//
// The file has the layout Pebble v1.32 writes, so that Pebble can read what
// this daemon leaves behind and the other way round: one JSON object whose
// top-level keys ("changes", "tasks", "notices", "last-change-id", ...) are
// owned by the package that keeps that data, plus a "data" object of
// miscellaneous entries ("identities", and the patch level that versions the
// file). Owners register a function that returns the current value of their
// keys. Writers never write the file themselves: they call MarkDirty, and a
// single flusher goroutine marshals every key and replaces the file
// atomically (temporary file, fsync, rename, fsync of the directory). Marks
// that arrive while a write is in progress are folded into the next write, so
// a burst of a thousand state transitions costs a handful of writes, not a
// thousand (group commit).
//
// Keys and data entries nobody registers (written by Pebble, or by a newer
// daemon) are carried over verbatim. A file that does not parse, or whose
// patch level this daemon does not know, is moved aside (SetAside) and the
// daemon starts from an empty state, so nothing is lost silently.
//
// Sync waits until everything marked before the call is on disk; the API
// calls it before telling a client that something happened, so a crash never
// loses what a client was told.
//
// The package does not interpret the owners' values and does not know about
// changes or services.
package statefile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Patch levels of the file, as Pebble numbers them. At level 1 (Pebble
// v1.26) the identities are a top-level key; from level 2 (Pebble v1.32)
// they are an entry of "data". A file keeps the level it was found at, so
// a Pebble v1.26 can still read it after this daemon ran; a new file gets
// NewPatchLevel.
const (
	NewPatchLevel = 2
	oldPatchLevel = 1
)

// The keys of the "data" object the Store itself maintains.
const (
	dataKey          = "data"
	patchLevelKey    = "patch-level"
	patchSublevelKey = "patch-sublevel"
	startOfOpKey     = "start-of-operation-time"
	levelOneTopLevel = "identities" // a data entry that is a top-level key at level 1
)

// Fields are top-level keys of the state file and their values; a value
// must be accepted by json.Marshal (json.RawMessage and Object are copied
// as they are).
type Fields map[string]any

// Object is a JSON object given as its encoded members, each `"key":value`,
// which the flusher writes between braces as they are: an owner of many
// members (the tasks of every change, say) keeps each one's encoding and
// never joins them into one large copy per write.
type Object [][]byte

// MarshalJSON joins the members between braces.
func (o Object) MarshalJSON() ([]byte, error) {
	return encodeObject(make([]byte, 0, o.size()), o), nil
}

// size is the length of the object's encoding.
func (o Object) size() int {
	n := 2
	for _, m := range o {
		n += len(m) + 1
	}
	return n
}

// encodeObject appends the object of members o to buf.
func encodeObject(buf []byte, o Object) []byte {
	buf = append(buf, '{')
	for i, m := range o {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, m...)
	}
	return append(buf, '}')
}

// Store is the state file and its flusher. Its methods are safe for
// concurrent use. A Store with an empty path keeps nothing on disk
// (PEBBLE_PERSIST=never) and Sync returns at once.
type Store struct {
	path string

	mu           sync.Mutex
	cond         *sync.Cond
	owners       []func() Fields
	keys         map[string]bool // top-level keys with an owner
	data         map[string]func() any
	loaded       map[string]json.RawMessage // top-level keys other than "data"
	loadedData   map[string]json.RawMessage // entries of "data"
	patchLevel   int
	asidePath    string
	asideErr     error
	removedTemps []string
	marked       uint64 // generation of the latest MarkDirty
	flushed      uint64 // generation known to be on disk
	attempts     uint64 // writes started
	failed       uint64 // the latest write that failed (its number among attempts)
	err          error  // the error of write number failed
	failing      bool   // the latest write to finish failed
	closed       bool   // no more kicks are accepted
	lazyArmed    bool   // a MarkLazy's write is due within lazyDelay
	stopped      bool   // the flusher has finished
	writes       uint64
	buf          []byte // the flusher's encoding buffer, kept while writes follow each other
	size         int    // bytes of the last file written
	kick         chan struct{}
	done         chan struct{}
}

// Open reads the state file at path, if it exists, and starts the flusher.
// It first removes the temporaries a killed writer left next to path
// (RemoveTemporaries; RemovedTemporaries reports them), so the caller must
// own path's directory, as the daemon's directory lock ensures.
// An empty path means no persistence. A file that does not parse as a state
// file, or has a patch level this daemon does not know, is renamed to
// "<path>.corrupt-<time>" and the store starts empty; SetAside reports it.
// Open fails only if the file can be neither read nor moved aside.
func Open(path string) (*Store, error) {
	s := &Store{
		path:       path,
		keys:       make(map[string]bool),
		data:       make(map[string]func() any),
		loaded:     make(map[string]json.RawMessage),
		loadedData: make(map[string]json.RawMessage),
		patchLevel: NewPatchLevel,
		kick:       make(chan struct{}, 1),
		done:       make(chan struct{}),
	}
	s.cond = sync.NewCond(&s.mu)
	if path != "" {
		removed, err := RemoveTemporaries(path)
		if err != nil {
			return nil, err
		}
		s.removedTemps = removed
		if err := s.load(); err != nil {
			return nil, err
		}
	}
	if _, ok := s.loadedData[startOfOpKey]; !ok {
		s.loadedData[startOfOpKey], _ = json.Marshal(time.Now().UTC())
	}
	go s.flusher()
	return s, nil
}

// load reads the file into s.loaded and s.loadedData, moving an unreadable
// one aside.
func (s *Store) load() error {
	data, err := os.ReadFile(s.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("cannot read state file: %w", err)
	}
	top, dataEntries, level, err := parse(data)
	if err != nil {
		aside := s.path + ".corrupt-" + time.Now().UTC().Format("20060102T150405.000000000Z")
		if rerr := os.Rename(s.path, aside); rerr != nil {
			return fmt.Errorf("cannot parse state file %q (%v) nor move it aside: %w", s.path, err, rerr)
		}
		s.asidePath, s.asideErr = aside, fmt.Errorf("cannot parse state file %q: %w", s.path, err)
		return nil
	}
	if level == oldPatchLevel {
		if raw, ok := top[levelOneTopLevel]; ok {
			dataEntries[levelOneTopLevel] = raw
			delete(top, levelOneTopLevel)
		}
	}
	s.loaded, s.loadedData, s.patchLevel = top, dataEntries, level
	return nil
}

// parse splits a state file into its top-level keys other than "data", the
// entries of "data", and the patch level.
func parse(file []byte) (top, data map[string]json.RawMessage, level int, err error) {
	trimmed := bytes.TrimSpace(file)
	if len(trimmed) == 0 {
		return nil, nil, 0, errors.New("the file is empty")
	}
	if err := json.Unmarshal(trimmed, &top); err != nil || top == nil {
		if !json.Valid(trimmed) {
			return nil, nil, 0, fmt.Errorf("not JSON: %v", err)
		}
		return nil, nil, 0, fmt.Errorf("the file holds %s, not a JSON object", jsonKind(trimmed))
	}
	rawData, ok := top[dataKey]
	if !ok {
		return nil, nil, 0, fmt.Errorf("no %q object: not a Pebble state file", dataKey)
	}
	delete(top, dataKey)
	if err := json.Unmarshal(rawData, &data); err != nil || data == nil {
		return nil, nil, 0, fmt.Errorf("%q is not a JSON object", dataKey)
	}
	if err := json.Unmarshal(data[patchLevelKey], &level); err != nil {
		return nil, nil, 0, fmt.Errorf("invalid %q in %q: %s", patchLevelKey, dataKey, data[patchLevelKey])
	}
	if level != oldPatchLevel && level != NewPatchLevel {
		return nil, nil, 0, fmt.Errorf("unknown patch level %d (this daemon reads levels %d and %d)", level, oldPatchLevel, NewPatchLevel)
	}
	return top, data, level, nil
}

// jsonKind names the kind of a valid JSON value for a message.
func jsonKind(value []byte) string {
	switch value[0] {
	case 'n':
		return "null"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	default:
		return "a number"
	}
}

// SetAside reports the state file Open found unreadable: the path it was
// moved to and why. The path is empty if there was none.
func (s *Store) SetAside() (path string, reason error) {
	return s.asidePath, s.asideErr
}

// RemovedTemporaries reports the names of the temporaries Open removed.
func (s *Store) RemovedTemporaries() []string {
	return s.removedTemps
}

// Loaded returns the raw JSON of a top-level key as it was in the file when
// the store was opened, or nil if the key was absent.
func (s *Store) Loaded(key string) json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loaded[key]
}

// LoadedData returns the raw JSON of an entry of the "data" object as it was
// when the store was opened, or nil if it was absent.
func (s *Store) LoadedData(key string) json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loadedData[key]
}

// Register names a top-level key and the function that returns its current
// value, which json.Marshal must accept. The function is called from the
// flusher goroutine; it must take whatever lock guards its data and must not
// call back into the Store.
func (s *Store) Register(key string, snapshot func() any) {
	s.RegisterFields([]string{key}, func() Fields { return Fields{key: snapshot()} })
}

// RegisterFields is Register for an owner of several top-level keys that
// must be written from one consistent snapshot (changes and their tasks, for
// example). The snapshot returns a value for each of keys.
func (s *Store) RegisterFields(keys []string, snapshot func() Fields) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, key := range keys {
		if s.keys[key] || key == dataKey {
			panic("statefile: key registered twice: " + key)
		}
		s.keys[key] = true
	}
	s.owners = append(s.owners, snapshot)
}

// RegisterData is Register for an entry of the "data" object.
func (s *Store) RegisterData(key string, snapshot func() any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.data[key]; dup || key == patchLevelKey || key == patchSublevelKey {
		panic("statefile: data entry registered twice: " + key)
	}
	s.data[key] = snapshot
}

// MarkDirty records that some section changed and asks for a write. It never
// blocks on I/O.
func (s *Store) MarkDirty() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.marked++
	s.kickLocked()
}

// lazyDelay is the longest a MarkLazy waits for a write to join.
const lazyDelay = 500 * time.Millisecond

// MarkLazy records a change no client has been told about yet (a notice
// of a service restarting, say): it is written with the next write, and at
// the latest lazyDelay from now, so a crash-looping service costs a write
// per lazyDelay rather than one per transition. Sync, which the API calls
// before it tells a client anything, writes it at once. It never blocks on
// I/O.
func (s *Store) MarkLazy() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.marked++
	if s.lazyArmed || s.closed {
		return
	}
	s.lazyArmed = true
	time.AfterFunc(lazyDelay, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.lazyArmed = false
		if s.flushed < s.marked {
			s.kickLocked()
		}
	})
}

// kickLocked wakes the flusher; s.mu must be held.
func (s *Store) kickLocked() {
	if s.closed {
		return
	}
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Sync waits until every change marked before the call is written, or ctx
// ends. It returns the error of a write that started after the call and
// failed: an earlier failure is not reported again, since the flusher
// retries it, and a Sync after the disk recovered succeeds.
func (s *Store) Sync(ctx context.Context) error {
	return s.wait(ctx, false)
}

// Durable waits until every change marked before the call is written,
// however many attempts that takes (the flusher retries a failed write), or
// until ctx ends or the store closes; then it returns why it gave up.
func (s *Store) Durable(ctx context.Context) error {
	return s.wait(ctx, true)
}

// wait waits until everything marked before the call is on disk; unless
// retry is set it also returns at the first write started after the call
// that fails.
func (s *Store) wait(ctx context.Context, retry bool) error {
	if s.path == "" {
		return nil
	}
	s.mu.Lock()
	target, since := s.marked, s.attempts
	if s.flushed >= target {
		// Everything is on disk already: the common case of a read.
		s.mu.Unlock()
		return nil
	}
	s.kickLocked()
	s.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	defer stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.flushed < target && (retry || s.failed <= since) && !s.stopped {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.cond.Wait()
	}
	switch {
	case s.flushed >= target:
		return nil
	case s.err == nil:
		return errors.New("state file closed")
	}
	return s.err
}

// roomSlack is what Writable asks the file system to have free beyond the
// size of the last file written, for the state to grow by a request.
const roomSlack = 64 << 10

// Writable reports whether a change made now can be saved. While the latest
// write failed, it tries a write at once and returns that write's error;
// otherwise it returns an error only when the file system has no room for
// another copy of the file (which the atomic replacement needs). The API
// calls it before it makes a change a client asked for, so that an error
// answer means nothing changed.
func (s *Store) Writable(ctx context.Context) error {
	if s.path == "" {
		return nil
	}
	s.mu.Lock()
	failing, size := s.failing, s.size
	s.mu.Unlock()
	if failing {
		if err := s.Sync(ctx); err != nil {
			return err
		}
	}
	dir := filepath.Dir(s.path)
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return nil // no figure to judge by: let the write itself tell
	}
	free := st.Bavail
	if os.Geteuid() == 0 {
		free = st.Bfree // root may use the blocks reserved for it
	}
	need := uint64(size + roomSlack)
	if have := free * uint64(st.Bsize); have < need {
		return fmt.Errorf("cannot write %q: %w (%d bytes free, %d needed)", s.path, syscall.ENOSPC, have, need)
	}
	if st.Files > 0 && st.Ffree == 0 {
		return fmt.Errorf("cannot write %q: %w (no free inode)", s.path, syscall.ENOSPC)
	}
	return nil
}

// Writes reports how many times the file has been written, for tests and
// benchmarks.
func (s *Store) Writes() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// Close writes any pending state and stops the flusher.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return s.err
	}
	s.closed = true
	close(s.kick)
	s.mu.Unlock()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flushed < s.marked {
		return s.err
	}
	return nil
}

// The flusher retries a failed write (a full disk, say) after retryMin,
// doubling the wait up to retryMax, until one succeeds.
const (
	retryMin = 50 * time.Millisecond
	retryMax = 2 * time.Second
)

func (s *Store) flusher() {
	defer close(s.done)
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	wait := retryMin
	for {
		select {
		case _, open := <-s.kick:
			if !open {
				s.flushOnce()
				s.finish()
				return
			}
		case <-retry.C:
		}
		if s.flushOnce() == nil {
			wait = retryMin
			retry.Stop()
			continue
		}
		retry.Reset(wait)
		wait = min(2*wait, retryMax)
	}
}

// finish records that the flusher has stopped and wakes every Sync.
func (s *Store) finish() {
	s.mu.Lock()
	s.stopped = true
	s.cond.Broadcast()
	s.mu.Unlock()
}

// flushOnce writes the file if anything was marked since the last
// successful write, and returns the write's error.
func (s *Store) flushOnce() error {
	s.mu.Lock()
	target := s.marked
	if target == s.flushed {
		s.mu.Unlock()
		return nil
	}
	s.attempts++
	attempt := s.attempts
	owners := s.owners
	dataNames := make([]string, 0, len(s.data))
	for name := range s.data {
		dataNames = append(dataNames, name)
	}
	sort.Strings(dataNames)
	dataFuncs := make([]func() any, len(dataNames))
	for i, name := range dataNames {
		dataFuncs[i] = s.data[name]
	}
	// What was loaded but has no owner (yet) is carried over unchanged, so
	// Pebble's sections and a partial daemon lose nothing.
	out := make(map[string]any, len(s.loaded)+8)
	for key, raw := range s.loaded {
		out[key] = raw
	}
	data := make(map[string]any, len(s.loadedData)+len(dataNames)+2)
	for key, raw := range s.loadedData {
		data[key] = raw
	}
	level := s.patchLevel
	s.mu.Unlock()

	var err error
	var size int
	if s.path != "" {
		for _, snapshot := range owners {
			for key, v := range snapshot() {
				out[key] = v
			}
		}
		for i, name := range dataNames {
			data[name] = dataFuncs[i]()
		}
		if v, ok := data[levelOneTopLevel]; ok && level == oldPatchLevel {
			out[levelOneTopLevel] = v
			delete(data, levelOneTopLevel)
		}
		data[patchLevelKey] = level
		if _, ok := data[patchSublevelKey]; !ok {
			data[patchSublevelKey] = 0
		}
		var dataJSON []byte
		if dataJSON, err = encode(nil, data); err == nil {
			out[dataKey] = json.RawMessage(dataJSON)
			s.buf, err = encode(s.buf[:0], out)
			size = len(s.buf)
		}
		if err == nil {
			err = WriteAtomic(s.path, s.buf, 0o600)
		}
		if len(s.kick) == 0 {
			// No write follows at once: the buffer, as large as the file,
			// is not worth keeping while the daemon idles.
			s.buf = nil
		}
	}

	s.mu.Lock()
	if err == nil {
		s.flushed = max(s.flushed, target)
		if s.path != "" {
			s.writes++
			s.size = size
		}
		s.failing = false
	} else {
		s.failed, s.err, s.failing = attempt, err, true
	}
	s.cond.Broadcast()
	s.mu.Unlock()
	return err
}

// encode appends the values to buf as one JSON object with sorted keys and
// returns the extended buffer. Values that are already JSON (json.RawMessage,
// Object) are copied as they are: the encoder would otherwise re-validate
// and re-compact them on every write, which is most of the cost of a large
// state. The buffer is grown once, to the size of those values.
func encode(buf []byte, sections map[string]any) ([]byte, error) {
	names := make([]string, 0, len(sections))
	size := 2
	for name, v := range sections {
		names = append(names, name)
		size += len(name) + 4
		switch v := v.(type) {
		case json.RawMessage:
			size += len(v)
		case Object:
			size += v.size()
		}
	}
	sort.Strings(names)
	buf = slices.Grow(buf, size)
	buf = append(buf, '{')
	for i, name := range names {
		if i > 0 {
			buf = append(buf, ',')
		}
		key, _ := json.Marshal(name)
		buf = append(append(buf, key...), ':')
		switch v := sections[name].(type) {
		case json.RawMessage:
			if len(v) == 0 {
				buf = append(buf, "null"...)
			} else {
				buf = append(buf, v...)
			}
		case Object:
			buf = encodeObject(buf, v)
		default:
			data, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("cannot encode state file key %q: %w", name, err)
			}
			buf = append(buf, data...)
		}
	}
	return append(buf, '}'), nil
}

// WriteAtomic replaces path with data: it writes a temporary file in the same
// directory (named by tempName), syncs it, renames it over path and syncs the
// directory, so a reader sees either the old or the new content, also after a
// crash. A temporary a crash leaves behind is removed by RemoveTemporaries.
func WriteAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := createTemp(path)
	if err != nil {
		return fmt.Errorf("cannot write %q: %w", path, err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("cannot write %q: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("cannot write %q: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("cannot write %q: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cannot write %q: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("cannot write %q: %w", path, err)
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// tempPrefix is how the names of path's temporaries start: a dot, path's
// base name and ".tmp-", followed by decimal digits only (tempName).
func tempPrefix(path string) string {
	return "." + filepath.Base(path) + ".tmp-"
}

// isTempName reports whether name is one of path's temporaries: its prefix
// followed by one or more decimal digits and nothing else.
func isTempName(path, name string) bool {
	digits, ok := strings.CutPrefix(name, tempPrefix(path))
	if !ok || digits == "" {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// createTemp creates a new temporary file for path, next to it, readable and
// writable by its owner only.
func createTemp(path string) (*os.File, error) {
	dir := filepath.Dir(path)
	for {
		name := filepath.Join(dir, tempPrefix(path)+strconv.FormatUint(uint64(rand.Uint32()), 10))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		return f, err
	}
}

// RemoveTemporaries removes the temporaries of path that a writer killed
// between creating and renaming them left behind: regular files in path's
// directory named as WriteAtomic names them, and nothing else. It returns
// the names it removed. Only the one process that owns path may call it:
// another writer's temporary in progress would be removed too.
func RemoveTemporaries(path string) ([]string, error) {
	dir := filepath.Dir(path)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot remove temporary state files: %w", err)
	}
	var removed []string
	for _, e := range entries {
		if !e.Type().IsRegular() || !isTempName(path, e.Name()) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return removed, fmt.Errorf("cannot remove temporary state file: %w", err)
		}
		removed = append(removed, e.Name())
	}
	return removed, nil
}
