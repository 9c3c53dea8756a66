package notices

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/statefile"
	"github.com/pebble-project/pebble/internal/testutil"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 20, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newManager(t *testing.T, opts Options) *Manager {
	t.Helper()
	m, err := New(opts)
	require.NoError(t, err)
	t.Cleanup(m.Close)
	return m
}

func uid(n uint32) *uint32 { return &n }

func TestAddAndRepeat(t *testing.T) {
	clock := newClock()
	m := newManager(t, Options{Now: clock.Now})
	t0 := clock.Now()
	id := m.Add(uid(1000), Custom, "example.com/a", AddOptions{Data: map[string]string{"k": "v"}, RepeatAfter: time.Hour})
	assert.Equal(t, "1", id)

	clock.Advance(time.Minute) // within repeat-after: occurs, but does not repeat
	assert.Equal(t, "1", m.Add(uid(1000), Custom, "example.com/a", AddOptions{RepeatAfter: time.Hour}))
	n, ok := m.Notice("1")
	require.True(t, ok)
	assert.Equal(t, Notice{
		ID: "1", UserID: uid(1000), Type: Custom, Key: "example.com/a",
		FirstOccurred: t0, LastOccurred: t0.Add(time.Minute), LastRepeated: t0,
		Occurrences: 2, RepeatAfter: time.Hour, ExpireAfter: ExpireAfter,
	}, n)

	clock.Advance(time.Hour) // repeat-after elapsed
	m.Add(uid(1000), Custom, "example.com/a", AddOptions{Data: map[string]string{"x": "y"}})
	n, _ = m.Notice("1")
	assert.Equal(t, 3, n.Occurrences)
	assert.Equal(t, t0.Add(61*time.Minute), n.LastRepeated)
	assert.Equal(t, map[string]string{"x": "y"}, n.LastData)
	assert.Zero(t, n.RepeatAfter)

	// Another user, or public, is another notice.
	assert.Equal(t, "2", m.Add(uid(1001), Custom, "example.com/a", AddOptions{}))
	assert.Equal(t, "3", m.Add(nil, Custom, "example.com/a", AddOptions{}))
}

func TestExpiry(t *testing.T) {
	clock := newClock()
	m := newManager(t, Options{Now: clock.Now})
	m.Add(nil, Custom, "example.com/a", AddOptions{})
	clock.Advance(ExpireAfter + time.Second)
	_, ok := m.Notice("1")
	assert.False(t, ok, "expired notices are never returned")
	assert.Empty(t, m.Notices(Filter{}))
	// A new occurrence of an expired notice starts a new one.
	assert.Equal(t, "2", m.Add(nil, Custom, "example.com/a", AddOptions{}))
	n, _ := m.Notice("2")
	assert.Equal(t, 1, n.Occurrences)
}

func TestFilters(t *testing.T) {
	clock := newClock()
	m := newManager(t, Options{Now: clock.Now})
	m.Add(nil, ChangeUpdate, "1", AddOptions{Data: map[string]string{"kind": "start"}})
	clock.Advance(time.Second)
	m.Add(uid(1000), Custom, "example.com/a", AddOptions{})
	clock.Advance(time.Second)
	m.Add(uid(2000), Custom, "example.com/b", AddOptions{})
	clock.Advance(time.Second)
	m.AddWarning("disk full")
	clock.Advance(time.Second)
	m.Add(nil, ServiceUpdate, "web", AddOptions{Data: map[string]string{"event": "started"}})

	ids := func(ns []Notice) []string {
		var out []string
		for _, n := range ns {
			out = append(out, n.ID)
		}
		return out
	}
	tests := []struct {
		name string
		f    Filter
		want []string
	}{
		{"public only", Filter{}, []string{"1", "4", "5"}},
		{"own and public", Filter{UserID: uid(1000)}, []string{"1", "2", "4", "5"}},
		{"all users", Filter{AllUsers: true, UserID: uid(5)}, []string{"1", "2", "3", "4", "5"}},
		{"types", Filter{AllUsers: true, Types: []Type{Custom}}, []string{"2", "3"}},
		{"service-update", Filter{Types: []Type{ServiceUpdate}}, []string{"5"}},
		{"service key without types", Filter{Keys: []string{"web"}}, []string{"5"}},
		{"keys", Filter{UserID: uid(2000), Keys: []string{"example.com/b", "1"}}, []string{"1", "3"}},
		{"keys of another user", Filter{UserID: uid(1000), Keys: []string{"example.com/b"}}, nil},
		{"keys all users", Filter{AllUsers: true, Keys: []string{"example.com/b"}}, []string{"3"}},
		{"after", Filter{AllUsers: true, After: clock.Now().Add(-3 * time.Second)}, []string{"3", "4", "5"}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, ids(m.Notices(tt.f)), tt.name)
	}
}

func TestStampsStrictlyIncrease(t *testing.T) {
	clock := newClock() // never advances
	m := newManager(t, Options{Now: clock.Now})
	var last time.Time
	for i := 0; i < 5; i++ {
		m.Add(nil, ChangeUpdate, "1", AddOptions{})
		ns := m.Notices(Filter{})
		require.Len(t, ns, 1)
		assert.True(t, ns[0].LastRepeated.After(last), "repeat %d", i)
		last = ns[0].LastRepeated
		// A client passing the newest last-repeated as "after" sees
		// nothing until the next occurrence.
		assert.Empty(t, m.Notices(Filter{After: last}))
	}
}

// waitFunc is Manager.Wait as a stack trace names it: the tests of waiting
// wait until their waiters are parked in it, so that they test the wait and
// not an early return.
const waitFunc = "internal/notices.(*Manager).Wait"

func TestWaitWakesOnAdd(t *testing.T) {
	m := newManager(t, Options{})
	// After the manager, so that the check runs before the manager closes:
	// the wait itself leaves nothing behind.
	testutil.CheckLeaks(t)
	got := make(chan []Notice, 1)
	ctx := t.Context()
	go func() {
		ns, err := m.Wait(ctx, Filter{Types: []Type{Custom}})
		assert.NoError(t, err)
		got <- ns
	}()
	testutil.WaitBlockedIn(t, 5*time.Second, 1, waitFunc)
	// Unrelated notices wake the waiter, which goes back to waiting.
	m.Add(nil, ChangeUpdate, "1", AddOptions{})
	testutil.WaitBlockedIn(t, 5*time.Second, 1, waitFunc)
	select {
	case <-got:
		t.Fatal("wait returned for a notice its filter does not match")
	default:
	}
	added := time.Now()
	m.Add(nil, Custom, "example.com/x", AddOptions{})
	select {
	case ns := <-got:
		require.Len(t, ns, 1)
		assert.Equal(t, "example.com/x", ns[0].Key)
		t.Logf("wait returned %v after the notice was added", time.Since(added))
	case <-time.After(5 * time.Second):
		t.Fatal("wait did not return")
	}
}

func TestWaitEndsWithContext(t *testing.T) {
	m := newManager(t, Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	ns, err := m.Wait(ctx, Filter{})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Empty(t, ns)

	done := make(chan error, 1)
	go func() {
		_, err := m.Wait(context.Background(), Filter{})
		done <- err
	}()
	testutil.WaitBlockedIn(t, 5*time.Second, 1, waitFunc)
	m.Close()
	assert.ErrorIs(t, <-done, ErrClosed)
}

func TestLatestWarning(t *testing.T) {
	clock := newClock()
	m := newManager(t, Options{Now: clock.Now})
	assert.True(t, m.LatestWarning().IsZero())
	m.AddWarning("one")
	clock.Advance(time.Hour)
	m.AddWarning("two")
	assert.Equal(t, clock.Now(), m.LatestWarning())
	clock.Advance(time.Hour)
	m.AddWarning("two") // within 24h: no repeat
	assert.Equal(t, clock.Now().Add(-time.Hour), m.LatestWarning())
	clock.Advance(ExpireAfter)
	assert.True(t, m.LatestWarning().IsZero(), "expired warnings do not count")
}

func TestPrune(t *testing.T) {
	clock := newClock()
	exists := map[string]bool{"1": true}
	m := newManager(t, Options{Now: clock.Now, MaxNotices: 3, ChangeExists: func(id string) bool { return exists[id] }})
	m.Add(nil, ChangeUpdate, "1", AddOptions{})
	m.Add(nil, ChangeUpdate, "2", AddOptions{}) // its change is gone
	m.Add(nil, Custom, "example.com/old", AddOptions{})
	clock.Advance(ExpireAfter + time.Minute)
	for _, k := range []string{"a", "b", "c", "d"} {
		m.Add(nil, Custom, "example.com/"+k, AddOptions{})
		clock.Advance(time.Second)
	}
	m.Add(nil, ChangeUpdate, "1", AddOptions{}) // repeated: not expired
	m.Prune()
	var keys []string
	for _, n := range m.Notices(Filter{AllUsers: true}) {
		keys = append(keys, n.Key)
	}
	assert.Equal(t, []string{"example.com/c", "example.com/d", "1"}, keys)
}

func TestPersistence(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".pebble.state")
	st, err := statefile.Open(path)
	require.NoError(t, err)
	m, err := New(Options{Store: st})
	require.NoError(t, err)
	m.Add(uid(0), Custom, "example.com/a", AddOptions{Data: map[string]string{"k": "v"}, RepeatAfter: time.Minute})
	m.Add(nil, ChangeUpdate, "7", AddOptions{Data: map[string]string{"kind": "start"}})
	want := m.Notices(Filter{AllUsers: true})
	require.NoError(t, st.Sync(t.Context()))
	m.Close()
	require.NoError(t, st.Close())

	st2, err := statefile.Open(path)
	require.NoError(t, err)
	defer st2.Close()
	m2, err := New(Options{Store: st2})
	require.NoError(t, err)
	defer m2.Close()
	got := m2.Notices(Filter{AllUsers: true})
	require.Len(t, got, 2)
	for i := range want {
		assert.True(t, want[i].LastRepeated.Equal(got[i].LastRepeated))
		want[i].FirstOccurred, want[i].LastOccurred, want[i].LastRepeated = time.Time{}, time.Time{}, time.Time{}
		got[i].FirstOccurred, got[i].LastOccurred, got[i].LastRepeated = time.Time{}, time.Time{}, time.Time{}
	}
	assert.Equal(t, want, got)
	assert.Equal(t, "3", m2.Add(nil, Custom, "example.com/new", AddOptions{}), "IDs continue after a restart")
}

// TestNotDurable: a service-update occurrence asks for no write of the
// state file but is saved with the next one, or at close.
func TestNotDurable(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".pebble.state")
	st, err := statefile.Open(path)
	require.NoError(t, err)
	m := newManager(t, Options{Store: st})
	require.NoError(t, st.Save(t.Context()))
	writes := st.Writes()
	m.Add(nil, ServiceUpdate, "web", AddOptions{Data: map[string]string{"event": "started"}})
	require.NoError(t, st.Sync(t.Context()))
	assert.Equal(t, writes, st.Writes(), "a service-update notice asks for no write")
	m.Close()
	require.NoError(t, st.Close())

	st2, err := statefile.Open(path)
	require.NoError(t, err)
	defer st2.Close()
	m2 := newManager(t, Options{Store: st2})
	got := m2.Notices(Filter{Types: []Type{ServiceUpdate}})
	require.Len(t, got, 1, "saved at close")
	assert.Equal(t, map[string]string{"event": "started"}, got[0].LastData)
}

func TestValidateCustomKey(t *testing.T) {
	for _, k := range []string{"example.com/foo", "canonical.com/a-b/c1", "a.b.c/d/e"} {
		assert.NoError(t, ValidateCustomKey(k), k)
	}
	for _, k := range []string{"foo", "example.com", "Example.com/x", "example.com/a--b", "example.com/x/", "-a.com/x", "a.com//x"} {
		assert.EqualError(t, ValidateCustomKey(k), `invalid key "`+k+`" (must be in "example.com/path" format)`, k)
	}
	long := "example.com/" + string(make([]byte, 0))
	for len(long) <= MaxKeyBytes {
		long += "a"
	}
	assert.EqualError(t, ValidateCustomKey(long), "key must be 256 bytes or less")
}
