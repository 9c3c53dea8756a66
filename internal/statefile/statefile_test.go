package statefile

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/testutil"
)

// TestShrinkingWrites writes a large state and, reusing the flusher's buffer
// (a mark arrives during the first write), a smaller one: the file holds
// the second and nothing of the first.
func TestShrinkingWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".pebble.state")
	s, err := Open(path)
	require.NoError(t, err)
	big := Object{[]byte(`"a":"` + strings.Repeat("x", 1<<16) + `"`)}
	var calls atomic.Int64
	s.Register("members", func() any {
		if calls.Add(1) == 1 {
			s.MarkDirty() // the next write follows at once
			return big
		}
		return Object{[]byte(`"b":1`)}
	})
	s.MarkDirty()
	require.NoError(t, s.Sync(context.Background()))
	require.NoError(t, s.Close())
	assert.GreaterOrEqual(t, calls.Load(), int64(2))
	file := readState(t, path)
	assert.JSONEq(t, `{"b":1}`, string(file["members"]))
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".pebble.state")
	s, err := Open(path)
	require.NoError(t, err)
	var n atomic.Int64
	s.Register("counter", func() any { return n.Load() })
	s.Register("raw", func() any { return json.RawMessage(`{"a":[1,2]}`) })
	s.Register("members", func() any { return Object{[]byte(`"1":{"x":1}`), []byte(`"2":[]`)} })
	s.Register("none", func() any { return Object(nil) })
	n.Store(7)
	s.MarkDirty()
	require.NoError(t, s.Sync(context.Background()))
	require.NoError(t, s.Close())

	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	file := readState(t, path)
	assert.JSONEq(t, `7`, string(file["counter"]))
	assert.JSONEq(t, `{"a":[1,2]}`, string(file["raw"]))
	assert.JSONEq(t, `{"1":{"x":1},"2":[]}`, string(file["members"]))
	assert.JSONEq(t, `{}`, string(file["none"]))
	var data map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(file["data"], &data))
	assert.JSONEq(t, `2`, string(data["patch-level"]), "a new file has Pebble v1.32's patch level")
	assert.JSONEq(t, `0`, string(data["patch-sublevel"]))
	assert.Contains(t, data, "start-of-operation-time")

	// Reopened, sections are there to load, and sections nobody registers
	// are carried over on the next write.
	s2, err := Open(path)
	require.NoError(t, err)
	assert.JSONEq(t, `7`, string(s2.Loaded("counter")))
	s2.Register("raw", func() any { return json.RawMessage(`"new"`) })
	s2.MarkDirty()
	require.NoError(t, s2.Sync(context.Background()))
	require.NoError(t, s2.Close())
	file2 := readState(t, path)
	assert.JSONEq(t, `7`, string(file2["counter"]))
	assert.JSONEq(t, `"new"`, string(file2["raw"]))
	assert.JSONEq(t, string(file["data"]), string(file2["data"]), "data is kept, also the start-of-operation time")

	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary files are left behind")
}

// openCounter opens a store at path whose one key, "n", holds the counter
// it returns; the store is closed when the test ends.
func openCounter(t *testing.T, path string) (*Store, *atomic.Int64) {
	s, err := Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	n := new(atomic.Int64)
	s.Register("n", func() any { return n.Load() })
	return s, n
}

func TestGroupCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".pebble.state")
	s, n := openCounter(t, path)
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
	assert.Equal(t, "2000", string(readState(t, path)["n"]), "Sync returns only once the latest value is on disk")
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

func readState(t *testing.T, path string) map[string]json.RawMessage {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var file map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(data, &file), "%s", data)
	return file
}

func TestUnreadableFileIsSetAside(t *testing.T) {
	for _, tc := range []struct{ name, content, reason string }{
		{"corrupt", `{"data":{"patch-level":2},`, "not JSON: unexpected end of JSON input"},
		{"empty", ``, "the file is empty"},
		{"blank", " \n", "the file is empty"},
		{"null", `null`, "the file holds null, not a JSON object"},
		{"array", `[1]`, "the file holds an array, not a JSON object"},
		{"empty array", `[]`, "the file holds an array, not a JSON object"},
		{"string", `"x"`, "the file holds a string, not a JSON object"},
		{"number", `0`, "the file holds a number, not a JSON object"},
		{"empty object", `{}`, `no "data" object: not a Pebble state file`},
		{"data null", `{"data":null}`, `"data" is not a JSON object`},
		{"no data", `{"changes":{"last-change-id":3,"changes":[]}}`, `no "data" object: not a Pebble state file`},
		{"data not an object", `{"data":7}`, `"data" is not a JSON object`},
		{"no patch level", `{"data":{}}`, `invalid "patch-level" in "data"`},
		{"unknown patch level", `{"data":{"patch-level":3},"changes":{}}`, "unknown patch level 3 (this daemon reads levels 1 and 2)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, ".pebble.state")
			require.NoError(t, os.WriteFile(path, []byte(tc.content), 0o600))
			s, err := Open(path)
			require.NoError(t, err)
			aside, reason := s.SetAside()
			require.Error(t, reason)
			assert.Contains(t, reason.Error(), "cannot parse state file "+strconv.Quote(path)+": "+tc.reason)
			assert.Equal(t, dir, filepath.Dir(aside))
			assert.True(t, strings.HasPrefix(filepath.Base(aside), ".pebble.state.corrupt-"), aside)
			kept, err := os.ReadFile(aside)
			require.NoError(t, err)
			assert.Equal(t, tc.content, string(kept), "the unreadable file is kept as it was")
			assert.Nil(t, s.Loaded("changes"))

			s.Register("x", func() any { return 1 })
			s.MarkDirty()
			require.NoError(t, s.Close())
			assert.Equal(t, "1", string(readState(t, path)["x"]), "the daemon starts afresh")
		})
	}
}

func TestReadableFileIsNotSetAside(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".pebble.state")
	require.NoError(t, os.WriteFile(path, []byte(`{"data":{"patch-level":2}}`), 0o600))
	s, err := Open(path)
	require.NoError(t, err)
	defer s.Close()
	aside, reason := s.SetAside()
	assert.Empty(t, aside)
	assert.NoError(t, reason)
}

// Keys and data entries nobody registers, such as those of a newer Pebble,
// are written back byte for byte.
func TestUnknownKeysAreKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".pebble.state")
	orig := `{"data":{"patch-level":2,"patch-sublevel":1,"pairing":{"x":[1, 2.50]},"identities":{"a":1}},` +
		`"future":{"deep":[true, null, "s"]},"mine":0}`
	require.NoError(t, os.WriteFile(path, []byte(orig), 0o600))
	s, err := Open(path)
	require.NoError(t, err)
	assert.JSONEq(t, `{"a":1}`, string(s.LoadedData("identities")))
	s.Register("mine", func() any { return 5 })
	s.RegisterData("identities", func() any { return map[string]int{"b": 2} })
	s.MarkDirty()
	require.NoError(t, s.Close())

	file := readState(t, path)
	assert.Equal(t, `{"deep":[true, null, "s"]}`, string(file["future"]))
	assert.Equal(t, `5`, string(file["mine"]))
	var data map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(file["data"], &data))
	assert.Equal(t, `{"x":[1, 2.50]}`, string(data["pairing"]))
	assert.Equal(t, `1`, string(data["patch-sublevel"]))
	assert.Equal(t, `2`, string(data["patch-level"]))
	assert.JSONEq(t, `{"b":2}`, string(data["identities"]))
}

// A file at Pebble v1.26's patch level keeps its level and its top-level
// identities, so that Pebble v1.26 can read it again.
func TestPatchLevelOneIsKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".pebble.state")
	require.NoError(t, os.WriteFile(path, []byte(`{"data":{"patch-level":1,"patch-sublevel":0},"identities":{"a":1}}`), 0o600))
	s, err := Open(path)
	require.NoError(t, err)
	assert.JSONEq(t, `{"a":1}`, string(s.LoadedData("identities")))
	assert.Nil(t, s.Loaded("identities"))
	s.RegisterData("identities", func() any { return map[string]int{"b": 2} })
	s.MarkDirty()
	require.NoError(t, s.Close())

	file := readState(t, path)
	assert.JSONEq(t, `{"b":2}`, string(file["identities"]))
	var data map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(file["data"], &data))
	assert.Equal(t, `1`, string(data["patch-level"]))
	assert.NotContains(t, data, "identities")
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

// A writer killed between creating and renaming its temporary leaves it
// behind; the next Open removes those, and only those: files named like
// them but not by WriteAtomic, and directories, stay.
func TestOpenRemovesStaleTemporaries(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".pebble.state")
	require.NoError(t, WriteAtomic(path, []byte(`{"data":{"patch-level":2},"x":1}`), 0o600))
	stale := []string{"..pebble.state.tmp-1", "..pebble.state.tmp-4294967295"}
	for _, name := range stale {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(`{"half`), 0o600))
	}
	f, err := createTemp(path)
	require.NoError(t, err, "a temporary as a killed writer leaves it")
	require.NoError(t, f.Close())
	stale = append(stale, filepath.Base(f.Name()))
	others := []string{
		"..pebble.state.tmp-",       // no digits
		"..pebble.state.tmp-12x",    // not only digits
		".pebble.state.tmp-12",      // another naming
		"..other.state.tmp-12",      // another file's
		"..pebble.state.tmp-12.bak", // a user's copy
		".pebble.state.corrupt-20261202T035000.000000000Z",
	}
	for _, name := range others {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), nil, 0o600))
	}
	require.NoError(t, os.Mkdir(filepath.Join(dir, "..pebble.state.tmp-7"), 0o700))

	s, err := Open(path)
	require.NoError(t, err)
	defer s.Close()
	assert.ElementsMatch(t, stale, s.RemovedTemporaries())
	for _, name := range stale {
		assert.NoFileExists(t, filepath.Join(dir, name))
	}
	for _, name := range others {
		assert.FileExists(t, filepath.Join(dir, name))
	}
	assert.DirExists(t, filepath.Join(dir, "..pebble.state.tmp-7"))
	assert.JSONEq(t, `1`, string(s.Loaded("x")), "the state file itself is read")
}

// TestLazyMarks: lazy marks made every 3 ms for about 300 ms (a
// crash-looping service's notices) share a write or two instead of one
// each (MarkDirty makes one per write's time, 15 or more), the last is
// written within lazyDelay, and a Sync writes one at once.
func TestLazyMarks(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".pebble.state")
	s, n := openCounter(t, path)
	require.NoError(t, s.Save(context.Background()))

	before := s.Writes()
	const marks = 100
	tick := time.NewTicker(3 * time.Millisecond)
	for i := range marks {
		<-tick.C
		n.Store(int64(i + 1))
		s.MarkLazy()
	}
	tick.Stop()
	testutil.WaitFor(t, 5*time.Second, func() error {
		if got := string(readState(t, path)["n"]); got != strconv.Itoa(marks) {
			return fmt.Errorf("n is %s on disk", got)
		}
		return nil
	})
	writes := s.Writes() - before
	t.Logf("%d lazy marks 3 ms apart: %d writes", marks, writes)
	assert.LessOrEqual(t, writes, uint64(4), "lazy marks are folded into a write per lazyDelay")

	n.Store(-1)
	s.MarkLazy()
	require.NoError(t, s.Sync(context.Background()))
	assert.Equal(t, "-1", string(readState(t, path)["n"]), "a Sync writes a lazy mark at once")
}
