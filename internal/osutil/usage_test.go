package osutil

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseProcUsage(t *testing.T) {
	stat := "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 150 50 7 3 20 0 1 0 12345 10000000 256 18446744073709551615"
	u, err := parseProcUsage(42, []byte(stat))
	require.NoError(t, err)
	assert.Equal(t, 2100*time.Millisecond, u.CPU)
	assert.Equal(t, uint64(256*os.Getpagesize()), u.RSS)
	_, err = parseProcUsage(42, []byte("42 (x) S 1"))
	assert.Error(t, err)
}

func TestReadProcUsageSelf(t *testing.T) {
	u, err := ReadProcUsage(os.Getpid())
	require.NoError(t, err)
	assert.NotZero(t, u.RSS)
}
