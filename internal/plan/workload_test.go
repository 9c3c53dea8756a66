package plan

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRunAs(t *testing.T) {
	zero, one := 0, 1
	tests := []struct {
		name     string
		svc      Service
		workload *Workload
		want     UserGroup
	}{
		{name: "nothing set", want: UserGroup{}},
		{name: "service's own",
			svc:  Service{UserID: &one, User: "u", GroupID: &zero, Group: "g"},
			want: UserGroup{UserID: &one, User: "u", GroupID: &zero, Group: "g"}},
		{name: "workload's",
			svc:      Service{Workload: "w"},
			workload: &Workload{Name: "w", UserID: &zero, User: "wu", GroupID: &one, Group: "wg"},
			want:     UserGroup{UserID: &zero, User: "wu", GroupID: &one, Group: "wg"}},
		{name: "workload without user runs as the daemon",
			svc:      Service{Workload: "w"},
			workload: &Workload{Name: "w", Environment: map[string]string{"A": "1"}},
			want:     UserGroup{}},
		{name: "names only",
			svc:      Service{Workload: "w"},
			workload: &Workload{Name: "w", User: "wu"},
			want:     UserGroup{User: "wu"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.svc.RunAs(tc.workload))
		})
	}
}
