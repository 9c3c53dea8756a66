package ops

import (
	"context"
	"errors"
	"time"

	"github.com/pebble-project/pebble/internal/apierr"
	"github.com/pebble-project/pebble/internal/notices"
)

// AddNotice records an occurrence of a custom notice owned by uid
// (api.md §13.3) and returns its ID.
func (o *Ops) AddNotice(uid uint32, typ, key string, repeatAfter time.Duration, data map[string]string) (string, error) {
	if notices.Type(typ) != notices.Custom {
		return "", apierr.Errorf(apierr.BadRequest, "invalid type %q (can only add \"custom\" notices)", typ)
	}
	if err := notices.ValidateCustomKey(key); err != nil {
		return "", apierr.Errorf(apierr.BadRequest, "%s", err.Error())
	}
	id := o.notices.Add(&uid, notices.Custom, key, notices.AddOptions{Data: data, RepeatAfter: repeatAfter})
	return id, nil
}

// Notices returns the notices f matches, oldest repeat first.
func (o *Ops) Notices(f notices.Filter) []notices.Notice {
	return o.notices.Notices(f)
}

// WaitNotices returns as soon as a notice matches f, or ctx's error.
func (o *Ops) WaitNotices(ctx context.Context, f notices.Filter) ([]notices.Notice, error) {
	ns, err := o.notices.Wait(ctx, f)
	if errors.Is(err, notices.ErrClosed) {
		return nil, apierr.Errorf(apierr.Internal, "daemon is stopping")
	}
	return ns, err
}

// Notice returns one notice.
func (o *Ops) Notice(id string) (notices.Notice, bool) {
	return o.notices.Notice(id)
}

// LatestWarning is the last-repeated time of the newest unexpired warning.
func (o *Ops) LatestWarning() time.Time {
	if o.notices == nil {
		return time.Time{}
	}
	return o.notices.LatestWarning()
}
