package servstate

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/plan"
)

// TestShutdownBudget: the budget follows the kill-delay of the services that
// are active, as they were started, never below the default kill-delay.
func TestShutdownBudget(t *testing.T) {
	slow := sh("slow", "sleep 100")
	slow.KillDelay = plan.OptionalDuration{Value: 8 * time.Second, IsSet: true}
	quick := sh("quick", "sleep 100")
	quick.KillDelay = plan.OptionalDuration{Value: 2 * time.Second, IsSet: true}
	f := newFixture(t, newPlan(slow, quick), nil) // kill-fail delay 1s
	ctx := context.Background()
	const failDelay = time.Second

	assert.Equal(t, plan.DefaultKillDelay+failDelay+shutdownMargin, f.m.ShutdownBudget(), "nothing active")

	require.NoError(t, f.m.Start(ctx, "quick", nil))
	assert.Equal(t, plan.DefaultKillDelay+failDelay+shutdownMargin, f.m.ShutdownBudget(), "kill-delay below the default")

	require.NoError(t, f.m.Start(ctx, "slow", nil))
	assert.Equal(t, 8*time.Second+failDelay+shutdownMargin, f.m.ShutdownBudget(), "slow running")

	// A new plan does not change what the running service's stop will use.
	shorter := *slow
	shorter.KillDelay = plan.OptionalDuration{Value: time.Second, IsSet: true}
	f.m.SetPlan(newPlan(&shorter, quick))
	assert.Equal(t, 8*time.Second+failDelay+shutdownMargin, f.m.ShutdownBudget(), "after a plan change")

	require.NoError(t, f.m.Stop(ctx, "slow", nil))
	assert.Equal(t, plan.DefaultKillDelay+failDelay+shutdownMargin, f.m.ShutdownBudget(), "slow stopped")
}
