package osutil

import (
	"os"
	"path/filepath"
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
	assert.Equal(t, 1570*time.Millisecond, u.User, "utime and cutime")
	assert.Equal(t, 530*time.Millisecond, u.System, "stime and cstime")
	assert.Equal(t, uint64(256*os.Getpagesize()), u.RSS)
	_, err = parseProcUsage(42, []byte("42 (x) S 1"))
	assert.Error(t, err)
}

func TestReadProcUsageSelf(t *testing.T) {
	u, err := ReadProcUsage(os.Getpid())
	require.NoError(t, err)
	assert.NotZero(t, u.RSS)
}

// TestReadProcIOAndFDs: the test process's storage I/O, peak RSS and fds
// are read; a descriptor it opens shows in the count, and a file it
// writes and syncs in write_bytes.
func TestReadProcIOAndFDs(t *testing.T) {
	pid := os.Getpid()
	before, err := CountFDs(pid)
	require.NoError(t, err)
	f, err := os.Create(filepath.Join(t.TempDir(), "data"))
	require.NoError(t, err)
	defer f.Close()
	after, err := CountFDs(pid)
	require.NoError(t, err)
	assert.Equal(t, before+1, after)

	io0, err := ReadProcIO(pid)
	require.NoError(t, err)
	_, err = f.Write(make([]byte, 1<<20))
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	io1, err := ReadProcIO(pid)
	require.NoError(t, err)
	if io1.WriteBytes == io0.WriteBytes {
		t.Skip("skipping: the file system of the test directory does not account written bytes (tmpfs?)")
	}
	assert.GreaterOrEqual(t, io1.WriteBytes-io0.WriteBytes, uint64(1<<20))

	u, err := ReadProcUsage(pid)
	require.NoError(t, err)
	peak, err := ReadPeakRSS(pid)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, peak, u.RSS, "a high-water mark read later is at least what was resident before")
	_, err = ReadProcIO(1 << 30)
	assert.ErrorIs(t, err, os.ErrNotExist)
}
