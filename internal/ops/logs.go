package ops

import (
	"slices"

	"github.com/pebble-project/pebble/internal/logs"
)

// LogBuffers returns the output buffers of the named services, in name
// order, for GET /v1/logs (api.md §14): every service in the plan when
// names is empty. Services that never started, or are not in the plan,
// have none.
func (o *Ops) LogBuffers(names []string) []*logs.Buffer {
	if len(names) == 0 {
		for name := range o.plans.Plan().Services {
			names = append(names, name)
		}
	}
	var bufs []*logs.Buffer
	for _, name := range sortedUnique(names) {
		if buf := o.services.Buffer(name); buf != nil {
			bufs = append(bufs, buf)
		}
	}
	return bufs
}

func sortedUnique(names []string) []string {
	out := slices.Clone(names)
	slices.Sort(out)
	return slices.Compact(out)
}
