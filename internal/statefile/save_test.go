package statefile

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSaveWritesAtOnce: Save puts the file on disk even when no section was
// marked dirty, and does nothing without a path.
func TestSaveWritesAtOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".pebble.state")
	s, err := Open(path)
	require.NoError(t, err)
	defer s.Close()
	s.Register("counter", func() any { return 3 })
	_, err = os.Stat(path)
	require.ErrorIs(t, err, os.ErrNotExist)

	require.NoError(t, s.Save(context.Background()))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.JSONEq(t, `{"counter":3}`, string(data))

	none, err := Open("")
	require.NoError(t, err)
	defer none.Close()
	assert.NoError(t, none.Save(context.Background()))
}
