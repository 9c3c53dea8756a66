package ops

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/pebble-project/pebble/internal/changes"
	"github.com/pebble-project/pebble/internal/notices"
)

// AddNotice records an occurrence of a custom notice owned by uid
// (api.md §13.3) and returns its ID once it is on disk.
func (o *Ops) AddNotice(ctx context.Context, uid uint32, typ, key string, repeatAfter time.Duration, data map[string]string) (string, error) {
	if notices.Type(typ) != notices.Custom {
		return "", errorf(BadRequest, "invalid type %q (can only add \"custom\" notices)", typ)
	}
	if err := notices.ValidateCustomKey(key); err != nil {
		return "", errorf(BadRequest, "%s", err.Error())
	}
	id := o.notices.Add(&uid, notices.Custom, key, notices.AddOptions{Data: data, RepeatAfter: repeatAfter})
	return id, o.Sync(ctx)
}

// Notices returns the notices f matches, oldest repeat first.
func (o *Ops) Notices(f notices.Filter) []notices.Notice {
	return o.notices.Notices(f)
}

// WaitNotices returns as soon as a notice matches f, or ctx's error.
func (o *Ops) WaitNotices(ctx context.Context, f notices.Filter) ([]notices.Notice, error) {
	ns, err := o.notices.Wait(ctx, f)
	if errors.Is(err, notices.ErrClosed) {
		return nil, errorf(Internal, "daemon is stopping")
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

// RecordChangeUpdates returns the changes.Options.OnStatus hook that
// records a public change-update notice (api.md §13.1) for every change
// status transition it is called for: key the change ID, data the change
// kind and, for check changes, the check's name.
func RecordChangeUpdates(n *notices.Manager) func(changes.ChangeInfo) {
	return func(c changes.ChangeInfo) {
		data := map[string]string{"kind": c.Kind}
		if c.Kind == "perform-check" || c.Kind == "recover-check" {
			if name := checkName(c); name != "" {
				data["check-name"] = name
			}
		}
		n.Add(nil, notices.ChangeUpdate, c.ID, notices.AddOptions{Data: data})
	}
}

// checkName finds the name of the check a check change is about: change
// data "check-name", else the first task's data "check-name" or
// "check-details": {"name": ...}.
func checkName(c changes.ChangeInfo) string {
	if name, ok := c.Data["check-name"].(string); ok {
		return name
	}
	if len(c.Tasks) == 0 || len(c.Tasks[0].Data) == 0 {
		return ""
	}
	var data struct {
		CheckName    string `json:"check-name"`
		CheckDetails struct {
			Name string `json:"name"`
		} `json:"check-details"`
	}
	if json.Unmarshal(c.Tasks[0].Data, &data) != nil {
		return ""
	}
	if data.CheckName != "" {
		return data.CheckName
	}
	return data.CheckDetails.Name
}
