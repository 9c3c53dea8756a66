package checks

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/pebble-project/pebble/internal/checks/checker"
	"github.com/pebble-project/pebble/internal/plan"
)

func TestEffectiveConfig(t *testing.T) {
	uid := 0
	p := &plan.Plan{
		Services: map[string]*plan.Service{
			"svc": {Name: "svc", Environment: map[string]string{"A": "svc", "B": "svc"}, WorkingDir: "/svc", UserID: &uid},
			"wl":  {Name: "wl", Workload: "w", Environment: map[string]string{"B": "svc"}, EnvironmentFile: "/run/wl.env"},
		},
		Workloads: map[string]*plan.Workload{"w": {Name: "w", Environment: map[string]string{"A": "w", "B": "w"}, User: "root"}},
	}
	c := &plan.Check{Name: "c", Exec: &plan.ExecCheck{Command: "true", ServiceContext: "svc", Environment: map[string]string{"B": "check"}}}
	got := effectiveConfig(p, c)
	assert.Equal(t, map[string]string{"A": "svc", "B": "check"}, got.Exec.Environment)
	assert.Equal(t, "/svc", got.Exec.WorkingDir)
	assert.Equal(t, &uid, got.Exec.UserID)
	assert.Nil(t, c.Exec.UserID, "the plan's check is not modified")

	assert.Nil(t, got.Exec.ContextEnvironment)
	assert.Empty(t, got.Exec.ContextEnvironmentFile)

	// The workload's environment and the service's environment-file go
	// under the service's and the check's (the checker layers them).
	c.Exec.WorkingDir = "/mine"
	c.Exec.ServiceContext = "wl"
	got = effectiveConfig(p, c)
	assert.Equal(t, map[string]string{"B": "check"}, got.Exec.Environment)
	assert.Equal(t, map[string]string{"A": "w", "B": "w"}, got.Exec.ContextEnvironment)
	assert.Equal(t, "/run/wl.env", got.Exec.ContextEnvironmentFile)
	assert.Equal(t, "/mine", got.Exec.WorkingDir)
	assert.Equal(t, "root", got.Exec.User)

	assert.True(t, sameRun(&plan.Check{Name: "c", Startup: plan.CheckStartupDisabled}, &plan.Check{Name: "c"}))
	assert.False(t, sameRun(&plan.Check{Name: "c", Level: plan.AliveLevel}, &plan.Check{Name: "c"}))
}

// slowChecker blocks until its context ends.
type slowChecker struct{}

func (slowChecker) Check(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

func (slowChecker) Close() {}

// failChecker fails with details.
type failChecker struct{}

func (failChecker) Check(context.Context) error {
	return &checker.Error{Message: "boom", Details: "out"}
}
func (failChecker) Close() {}

func TestRunCheck(t *testing.T) {
	err := runCheck(t.Context(), slowChecker{}, 50*time.Millisecond)
	assert.EqualError(t, err, "check timed out after 50ms")

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err = runCheck(ctx, slowChecker{}, time.Minute)
	assert.ErrorIs(t, err, context.Canceled)

	err = runCheck(t.Context(), failChecker{}, time.Minute)
	assert.Equal(t, "boom", err.Error())
	assert.Equal(t, "boom; out", ErrorText(err))
	assert.Equal(t, "plain", ErrorText(errors.New("plain")))
	assert.Equal(t, "boom", ErrorText(&checker.Error{Message: "boom"}))
}
