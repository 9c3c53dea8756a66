package statefile

import (
	"context"
	"encoding/json"
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
	var sections map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(data, &sections))
	assert.JSONEq(t, `3`, string(sections["counter"]))

	none, err := Open("")
	require.NoError(t, err)
	defer none.Close()
	assert.NoError(t, none.Save(context.Background()))
}
