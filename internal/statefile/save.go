package statefile

import "context"

// Save writes the file now, with every registered section, and waits until
// it is on disk or ctx ends. The daemon calls it once at start-up, so that
// the file exists before any service starts even if nothing changes later.
// With no path (PEBBLE_PERSIST=never) it does nothing.
func (s *Store) Save(ctx context.Context) error {
	s.MarkDirty()
	return s.Sync(ctx)
}
