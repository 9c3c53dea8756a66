package statefile

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".pebble.state")
	s, err := Open(path)
	require.NoError(t, err)
	var n atomic.Int64
	s.Register("counter", func() any { return n.Load() })
	s.Register("raw", func() any { return json.RawMessage(`{"a":[1,2]}`) })
	n.Store(7)
	s.MarkDirty()
	require.NoError(t, s.Sync(context.Background()))
	require.NoError(t, s.Close())

	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.JSONEq(t, `{"counter":7,"raw":{"a":[1,2]}}`, string(data))

	// Reopened, sections are there to load, and sections nobody registers
	// are carried over on the next write.
	s2, err := Open(path)
	require.NoError(t, err)
	assert.JSONEq(t, `7`, string(s2.Loaded("counter")))
	s2.Register("raw", func() any { return json.RawMessage(`"new"`) })
	s2.MarkDirty()
	require.NoError(t, s2.Sync(context.Background()))
	require.NoError(t, s2.Close())
	data, err = os.ReadFile(path)
	require.NoError(t, err)
	assert.JSONEq(t, `{"counter":7,"raw":"new"}`, string(data))

	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary files are left behind")
}

func TestGroupCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".pebble.state")
	s, err := Open(path)
	require.NoError(t, err)
	defer s.Close()
	var n atomic.Int64
	s.Register("n", func() any { return n.Load() })
	const marks = 2000
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < marks/20; j++ {
				n.Add(1)
				s.MarkDirty()
			}
		}()
	}
	wg.Wait()
	require.NoError(t, s.Sync(context.Background()))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "{\"n\":2000}", string(data), "Sync returns only once the latest value is on disk")
	assert.Less(t, s.Writes(), uint64(marks), "marks are coalesced into fewer writes")
}

func TestSyncWithNothingDirtyReturnsAtOnce(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), ".pebble.state"))
	require.NoError(t, err)
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, s.Sync(ctx))
	assert.Equal(t, uint64(0), s.Writes())
}

func TestNoPersistence(t *testing.T) {
	s, err := Open("")
	require.NoError(t, err)
	s.Register("x", func() any { return 1 })
	s.MarkDirty()
	require.NoError(t, s.Sync(context.Background()))
	require.NoError(t, s.Close())
	assert.Equal(t, uint64(0), s.Writes())
}

func TestCorruptFileIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".pebble.state")
	require.NoError(t, os.WriteFile(path, []byte("{not json"), 0o600))
	_, err := Open(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot parse state file")
}

func TestWriteErrorReportedBySync(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", ".pebble.state") // the directory does not exist
	s, err := Open(path)
	require.NoError(t, err)
	defer s.Close()
	s.Register("x", func() any { return 1 })
	s.MarkDirty()
	err = s.Sync(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot write")
}

func TestSyncAfterCloseDoesNotHang(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), ".pebble.state"))
	require.NoError(t, err)
	s.Register("x", func() any { return 1 })
	require.NoError(t, s.Close())
	s.MarkDirty()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.Sync(ctx)
	assert.NoError(t, ctx.Err())
}
