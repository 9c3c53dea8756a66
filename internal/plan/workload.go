package plan

// UserGroup is the user and group settings a process runs with, as the
// plan gives them: IDs and names, resolved when the process starts
// (osutil.NormalizeUIDGID). The zero value is the daemon's own user.
type UserGroup struct {
	UserID  *int
	User    string
	GroupID *int
	Group   string
}

// RunAs returns the user and group of the service's processes, w being
// its workload (nil when it names none): the workload's settings when it
// has one, the service's own otherwise. Validation refuses a service with
// both a workload and user or group settings of its own, so neither is
// lost. The workload's environment comes first in the same way
// (envfile.Layered).
func (s *Service) RunAs(w *Workload) UserGroup {
	if w != nil {
		return UserGroup{UserID: w.UserID, User: w.User, GroupID: w.GroupID, Group: w.Group}
	}
	return UserGroup{UserID: s.UserID, User: s.User, GroupID: s.GroupID, Group: s.Group}
}
