package memtrim

import (
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/pebble-project/pebble/internal/testutil"
)

func TestMain(m *testing.M) { testutil.Main(m) }

// counting makes a Trimmer whose trims are sent on the returned channel.
func counting(quiet time.Duration) (*Trimmer, chan time.Time) {
	trims := make(chan time.Time, 10)
	t := New(quiet)
	t.trim = func() { trims <- time.Now() }
	return t, trims
}

func TestTrimsOnceAfterTheLastPoke(t *testing.T) {
	const quiet = 50 * time.Millisecond
	tr, trims := counting(quiet)
	defer tr.Stop()
	var last time.Time
	for range 5 {
		last = time.Now()
		tr.Poke()
		time.Sleep(quiet / 5)
	}
	at := <-trims
	if gap := at.Sub(last); gap < quiet {
		t.Errorf("trimmed %v after the last poke, want at least %v", gap, quiet)
	}
	select {
	case <-trims:
		t.Error("trimmed twice for one burst of pokes")
	case <-time.After(2 * quiet):
	}
	tr.Poke()
	<-trims // a later burst trims again
}

func TestStopCancels(t *testing.T) {
	tr, trims := counting(10 * time.Millisecond)
	tr.Poke()
	tr.Stop()
	tr.Poke()
	select {
	case <-trims:
		t.Error("trimmed after Stop")
	case <-time.After(50 * time.Millisecond):
	}
}

func heapFree() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/free:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// sink holds TestReturnsFreedHeap's garbage until it drops it.
var sink [][]byte

// TestReturnsFreedHeap frees 16 MiB of heap and checks that a trim leaves
// no free page held: each is given back to the operating system.
func TestReturnsFreedHeap(t *testing.T) {
	debug.FreeOSMemory()
	sink = make([][]byte, 64)
	for i := range sink {
		sink[i] = make([]byte, 256<<10)
		sink[i][0] = 1
	}
	sink = nil
	done := make(chan struct{})
	tr := New(time.Millisecond)
	defer tr.Stop()
	tr.trim = func() { debug.FreeOSMemory(); close(done) }
	tr.Poke()
	<-done
	if free := heapFree(); free > 1<<20 {
		t.Errorf("%d bytes of free heap held after the trim, want under 1 MiB", free)
	}
}
