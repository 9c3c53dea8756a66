package servstate

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/plan"
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
			assert.InDelta(t, u.CPU, u.CPUUser+u.CPUSystem, float64(time.Millisecond), "user and system make the total")
			assert.True(t, u.HasFDs)
			assert.GreaterOrEqual(t, u.FDs, 2*3, "two processes with at least stdin, stdout and stderr")
			assert.True(t, u.HasMemoryPeak)
			assert.GreaterOrEqual(t, u.MemoryPeak, u.Memory)
			assert.True(t, u.HasIO, "the daemon may read /proc/<pid>/io of its children")
			require.NoError(t, f.m.Stop(ctx, "burn", nil))
			stopped := f.m.Usage(nil)
			require.Len(t, stopped, 1)
			assert.Equal(t, 0, stopped[0].Processes)
			assert.Zero(t, stopped[0].Memory)
			assert.Zero(t, stopped[0].FDs)
			assert.GreaterOrEqual(t, stopped[0].MemoryPeak, u.MemoryPeak, "the peak outlives the run")
			assert.GreaterOrEqual(t, stopped[0].CPU, u.CPU, "the counter never decreases")

			require.NoError(t, f.m.Start(ctx, "burn", nil))
			again := f.m.Usage([]string{"burn"})
			require.Len(t, again, 1)
			assert.GreaterOrEqual(t, again[0].CPU, stopped[0].CPU, "a new run adds to the counter")
			t.Logf("first run %v, after restart %v", u, again[0])
		})
	}
}

// TestMeter: readings that restart from zero with each run add up to
// counters that never decrease, each counter on its own.
func TestMeter(t *testing.T) {
	var m meter
	all := counterSet{true, true, true, true, true}
	vec := func(v uint64) counterVec { return counterVec{v, v, v, v, v} }
	m.observe(10, vec(5), all)
	assert.Equal(t, uint64(5), m.total(cntCPU))
	m.observe(10, vec(3), all)
	assert.Equal(t, uint64(5), m.total(cntCPU), "a process left the tree")
	m.observe(10, vec(4), all)
	assert.Equal(t, uint64(6), m.total(cntWrite))
	m.observe(11, vec(1), all)
	assert.Equal(t, uint64(7), m.total(cntUser), "a new run starts from zero")
	m.endRun()
	m.observe(12, vec(2), all)
	assert.Equal(t, uint64(9), m.total(cntSystem), "a run ended by endRun is added once")
	m.observe(12, counterVec{cntRead: 10}, counterSet{cntRead: true})
	assert.Equal(t, uint64(9), m.total(cntCPU), "a counter the reading lacks keeps its figure")
	assert.Equal(t, uint64(17), m.total(cntRead))
	assert.False(t, (&meter{}).seen[cntRead])
}

// TestUsageOfRunNeverRead: a run that ended before any reading is counted,
// with and without cgroups: from its cgroup's last cpu.stat, or from what
// wait4 reported for its main process, which waited for dd.
func TestUsageOfRunNeverRead(t *testing.T) {
	for _, noCgroups := range []bool{false, true} {
		t.Run(fmt.Sprintf("noCgroups=%v", noCgroups), func(t *testing.T) {
			svc := sh("brief", "dd if=/dev/zero of=/dev/null bs=1M count=1500 2>/dev/null")
			svc.OnSuccess = plan.ActionIgnore
			f := newFixture(t, newPlan(svc), func(o *Options) { o.NoCgroups = noCgroups })
			if err := f.m.Start(context.Background(), "brief", nil); err != nil {
				assert.ErrorContains(t, err, "exited quickly with code 0", "a run shorter than the okay delay")
			}
			testutil.WaitFor(t, 30*time.Second, func() error {
				if info := f.info(t, "brief"); info.Current != StatusInactive {
					return fmt.Errorf("brief is %s", info.Current)
				}
				return nil
			})
			us := f.m.Usage(nil)
			require.Len(t, us, 1)
			t.Logf("usage of a run never read: %+v", us[0])
			assert.Greater(t, us[0].CPUSystem, time.Duration(0), "1500 MiB read from /dev/zero")
			assert.True(t, us[0].HasIO, "wait4's blocks read and written")
		})
	}
}
