package servstate

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/testutil"
)

// TestUsage checks the per-service figures with and without cgroups: a
// service whose child burns CPU shows that CPU time, its processes and
// their memory, and its CPU counter never goes down across a restart.
func TestUsage(t *testing.T) {
	for _, noCgroups := range []bool{false, true} {
		t.Run(fmt.Sprintf("noCgroups=%v", noCgroups), func(t *testing.T) {
			// The child burns CPU for a while, then both sleep.
			svc := sh("burn", `(i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; exec sleep 100) & exec sleep 100`)
			f := newFixture(t, newPlan(svc, sh("idle", "sleep 100")), func(o *Options) { o.NoCgroups = noCgroups })
			if !noCgroups && f.m.cgroups == nil {
				t.Skip("skipping: cgroup v2 is not writable here")
			}
			ctx := context.Background()
			assert.Empty(t, f.m.Usage(nil), "services never started have no usage")
			require.NoError(t, f.m.Start(ctx, "burn", nil))
			var u Usage
			testutil.WaitFor(t, 30*time.Second, func() error {
				us := f.m.Usage([]string{"burn"})
				if len(us) != 1 {
					return fmt.Errorf("usage: %+v", us)
				}
				u = us[0]
				if u.CPU < 200*time.Millisecond || u.Processes != 2 || u.Memory == 0 {
					return fmt.Errorf("usage so far: %+v", u)
				}
				return nil
			})
			require.NoError(t, f.m.Stop(ctx, "burn", nil))
			stopped := f.m.Usage(nil)
			require.Len(t, stopped, 1)
			assert.Equal(t, 0, stopped[0].Processes)
			assert.Zero(t, stopped[0].Memory)
			assert.GreaterOrEqual(t, stopped[0].CPU, u.CPU, "the counter never decreases")

			require.NoError(t, f.m.Start(ctx, "burn", nil))
			again := f.m.Usage([]string{"burn"})
			require.Len(t, again, 1)
			assert.GreaterOrEqual(t, again[0].CPU, stopped[0].CPU, "a new run adds to the counter")
			t.Logf("first run %v, after restart %v", u, again[0])
		})
	}
}

func TestUsageBook(t *testing.T) {
	var b usageBook
	assert.Equal(t, 5*time.Second, b.observe("a", 10, 5*time.Second))
	assert.Equal(t, 5*time.Second, b.observe("a", 10, 3*time.Second), "a process left the tree")
	assert.Equal(t, 6*time.Second, b.observe("a", 10, 4*time.Second))
	assert.Equal(t, 7*time.Second, b.observe("a", 11, time.Second), "a new run starts from zero")
	assert.Equal(t, 7*time.Second, b.total("a"))
	assert.Zero(t, b.total("b"))
}
