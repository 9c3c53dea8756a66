package checks

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Checker runs one check once per call of Check; internal/checks/checker
// has the http, tcp and exec implementations. Check must return promptly
// once ctx ends. Close releases what the checker keeps between runs.
type Checker interface {
	Check(ctx context.Context) error
	Close()
}

// detailed is a check failure that carries details (output or a response
// body) besides its message.
type detailed interface {
	ErrorDetails() string
}

// ErrorText is a check failure as the refresh API (admin only) and task
// logs show it: the message, then "; " and the details when there are any
// (behaviour.md §7.3); task logs of a private check leave the details out
// (logText). The daemon log shows err.Error(), the message alone.
func ErrorText(err error) string {
	var d detailed
	if errors.As(err, &d) {
		if details := d.ErrorDetails(); details != "" {
			return err.Error() + "; " + details
		}
	}
	return err.Error()
}

// logText is a failure as a check's task log shows it: ErrorText, except
// that a private check's details (its output) are replaced by a note.
func logText(err error, private bool) string {
	var d detailed
	if private && errors.As(err, &d) && d.ErrorDetails() != "" {
		return err.Error() + "; its output is not shown here: the service's log-access is admin"
	}
	return ErrorText(err)
}

// runCheck runs ck once, cut off after timeout. A run cut off by the
// timeout fails with "check timed out after <timeout>"; one cut off by ctx
// returns ctx's error.
func runCheck(ctx context.Context, ck Checker, timeout time.Duration) error {
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := ck.Check(runCtx)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if runCtx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("check timed out after %v", timeout)
	}
	return err
}
