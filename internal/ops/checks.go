package ops

import (
	"context"
	"errors"
	"fmt"

	"github.com/pebble-project/pebble/internal/apierr"
	"github.com/pebble-project/pebble/internal/checks"
	"github.com/pebble-project/pebble/internal/plan"
)

// Checks lists the checks of the plan (api.md §12.1): level matches exactly
// ("" keeps all), names filters when not empty.
func (o *Ops) Checks(level string, names []string) []checks.Info {
	return o.checks.Checks(plan.CheckLevel(level), names)
}

// ChecksAction starts or stops checks (api.md §12.2) and returns the names
// of those actually started or stopped, sorted (never nil). A stop writes
// the security event sys_monitor_disabled for every name requested, with
// user naming the caller (behaviour.md §12).
func (o *Ops) ChecksAction(user, action string, names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, apierr.Errorf(apierr.BadRequest, "must specify checks for %s action", action)
	}
	var changed []string
	var err error
	switch action {
	case "start":
		changed, err = o.checks.StartChecks(names)
	case "stop":
		for _, name := range names {
			o.securityEvent("WARN", fmt.Sprintf("sys_monitor_disabled:%s,%s", user, name), "Stopping check "+name)
		}
		changed, err = o.checks.StopChecks(names)
	default:
		return nil, apierr.Errorf(apierr.BadRequest, "invalid action %q", action)
	}
	if errors.Is(err, checks.ErrNotFound) {
		return nil, apierr.Errorf(apierr.BadRequest, "cannot %s checks: %v", action, err)
	}
	if err != nil {
		return nil, apierr.Errorf(apierr.Internal, "cannot %s checks: %v", action, err)
	}
	if changed == nil {
		changed = []string{}
	}
	return changed, nil
}

// RefreshCheck runs a check now and waits for it (api.md §12.3,
// behaviour.md §7.7). It returns the check's info after the run and the
// run's error text ("" on success).
func (o *Ops) RefreshCheck(ctx context.Context, name string) (checks.Info, string, error) {
	if name == "" {
		return checks.Info{}, "", apierr.Errorf(apierr.BadRequest, "must specify check name")
	}
	res, err := o.checks.Refresh(ctx, name)
	if errors.Is(err, checks.ErrNotFound) {
		return checks.Info{}, "", apierr.Errorf(apierr.NotFound, "cannot find check with name %q", name)
	}
	if err != nil {
		return checks.Info{}, "", err
	}
	var text string
	if res.Err != nil {
		text = checks.ErrorText(res.Err)
	}
	return res.Info, text, nil
}
