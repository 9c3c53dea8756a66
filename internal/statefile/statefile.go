// Package statefile owns the daemon's state file, $PEBBLE/.pebble.state.
//
// The file holds one JSON object whose keys are sections; each section is
// owned by one package (changes, services, ...), which registers a function
// that returns the section's current value. Writers never write the file
// themselves: they call MarkDirty, and a single flusher goroutine marshals
// every section and replaces the file atomically (temporary file, fsync,
// rename, fsync of the directory). Marks that arrive while a write is in
// progress are folded into the next write, so a burst of a thousand state
// transitions costs a handful of writes, not a thousand (group commit).
//
// Sync waits until everything marked before the call is on disk; the API
// calls it before telling a client that something happened, so a crash never
// loses what a client was told.
//
// The package does not interpret sections and does not know about changes or
// services.
package statefile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// Store is the state file and its flusher. Its methods are safe for
// concurrent use. A Store with an empty path keeps nothing on disk
// (PEBBLE_PERSIST=never) and Sync returns at once.
type Store struct {
	path string

	mu       sync.Mutex
	cond     *sync.Cond
	sections map[string]func() any
	loaded   map[string]json.RawMessage
	marked   uint64 // generation of the latest MarkDirty
	flushed  uint64 // generation known to be on disk
	err      error  // last write error, reported by Sync
	closed   bool   // no more kicks are accepted
	stopped  bool   // the flusher has finished
	writes   uint64
	kick     chan struct{}
	done     chan struct{}
}

// Open reads the state file at path, if it exists, and starts the flusher.
// An empty path means no persistence. A file that exists but does not parse is
// an error: the daemon must not silently start from nothing.
func Open(path string) (*Store, error) {
	s := &Store{
		path:     path,
		sections: make(map[string]func() any),
		loaded:   make(map[string]json.RawMessage),
		kick:     make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	s.cond = sync.NewCond(&s.mu)
	if path != "" {
		data, err := os.ReadFile(path)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("cannot read state file: %w", err)
		default:
			if err := json.Unmarshal(data, &s.loaded); err != nil {
				return nil, fmt.Errorf("cannot parse state file %q: %w", path, err)
			}
		}
	}
	go s.flusher()
	return s, nil
}

// Loaded returns the raw JSON of a section as it was in the file when the
// store was opened, or nil if the section was absent.
func (s *Store) Loaded(section string) json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loaded[section]
}

// Register names a section and the function that returns its current value.
// The function is called from the flusher goroutine; it must take whatever
// lock guards its data and return a value that json.Marshal accepts. It must
// not call back into the Store.
func (s *Store) Register(section string, snapshot func() any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.sections[section]; dup {
		panic("statefile: section registered twice: " + section)
	}
	s.sections[section] = snapshot
}

// MarkDirty records that some section changed and asks for a write. It never
// blocks on I/O.
func (s *Store) MarkDirty() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.marked++
	s.kickLocked()
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
// ends. It returns the write error, if the last write failed.
func (s *Store) Sync(ctx context.Context) error {
	if s.path == "" {
		return nil
	}
	s.mu.Lock()
	target := s.marked
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
	for s.flushed < target && s.err == nil && !s.stopped {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.cond.Wait()
	}
	return s.err
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
	return s.err
}

func (s *Store) flusher() {
	defer close(s.done)
	for range s.kick {
		s.flushOnce()
	}
	s.flushOnce()
	s.mu.Lock()
	s.stopped = true
	s.cond.Broadcast()
	s.mu.Unlock()
}

func (s *Store) flushOnce() {
	s.mu.Lock()
	target := s.marked
	if target == s.flushed {
		s.mu.Unlock()
		return
	}
	names := make([]string, 0, len(s.sections))
	for name := range s.sections {
		names = append(names, name)
	}
	sort.Strings(names)
	funcs := make([]func() any, len(names))
	for i, name := range names {
		funcs[i] = s.sections[name]
	}
	// Sections that were loaded but whose owner has not registered (yet) are
	// carried over unchanged, so an older or partial daemon loses nothing.
	out := make(map[string]any, len(s.loaded)+len(names))
	for name, raw := range s.loaded {
		out[name] = raw
	}
	s.mu.Unlock()

	var err error
	if s.path != "" {
		for i, name := range names {
			out[name] = funcs[i]()
		}
		var data []byte
		data, err = encode(out)
		if err == nil {
			err = WriteAtomic(s.path, data, 0o600)
		}
	}

	s.mu.Lock()
	if err == nil {
		s.flushed = target
		if s.path != "" {
			s.writes++
		}
	}
	s.err = err
	s.cond.Broadcast()
	s.mu.Unlock()
}

// encode writes the sections as one JSON object with sorted keys. Sections
// that are already JSON (json.RawMessage) are copied as they are: the
// encoder would otherwise re-validate and re-compact them on every write,
// which is most of the cost of a large state.
func encode(sections map[string]any) ([]byte, error) {
	names := make([]string, 0, len(sections))
	for name := range sections {
		names = append(names, name)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, name := range names {
		if i > 0 {
			buf.WriteByte(',')
		}
		key, _ := json.Marshal(name)
		buf.Write(key)
		buf.WriteByte(':')
		switch v := sections[name].(type) {
		case json.RawMessage:
			if len(v) == 0 {
				buf.WriteString("null")
			} else {
				buf.Write(v)
			}
		default:
			data, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("cannot encode state section %q: %w", name, err)
			}
			buf.Write(data)
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// WriteAtomic replaces path with data: it writes a temporary file in the same
// directory, syncs it, renames it over path and syncs the directory, so a
// reader sees either the old or the new content, also after a crash.
func WriteAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
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
