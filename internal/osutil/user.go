package osutil

import (
	"errors"
	"fmt"
	"os/user"
	"strconv"
)

// ErrUserGroupRequired is returned by NormalizeUIDGID when a group is given
// without a user.
var ErrUserGroupRequired = errors.New("must specify user, not just group")

// NormalizeUIDGID resolves the user, user-id, group and group-id settings of
// a service, exec check or exec request into a UID and GID, following
// layers.md §3.3. A nil result means "not set": both are nil when nothing was
// given, and the GID defaults to the user's primary group.
func NormalizeUIDGID(uid, gid *int, username, groupname string) (*int, *int, error) {
	if uid == nil && gid == nil && username == "" && groupname == "" {
		return nil, nil, nil
	}
	if username != "" {
		u, err := user.Lookup(username)
		if err != nil {
			return nil, nil, err
		}
		n, err := strconv.Atoi(u.Uid)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot parse UID %q of user %q", u.Uid, username)
		}
		if uid != nil && *uid != n {
			return nil, nil, fmt.Errorf("user %q UID (%d) does not match user-id (%d)", username, n, *uid)
		}
		uid = &n
	}
	if groupname != "" {
		g, err := user.LookupGroup(groupname)
		if err != nil {
			return nil, nil, err
		}
		n, err := strconv.Atoi(g.Gid)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot parse GID %q of group %q", g.Gid, groupname)
		}
		if gid != nil && *gid != n {
			return nil, nil, fmt.Errorf("group %q GID (%d) does not match group-id (%d)", groupname, n, *gid)
		}
		gid = &n
	}
	if uid == nil {
		return nil, nil, ErrUserGroupRequired
	}
	if gid == nil {
		u, err := user.LookupId(strconv.Itoa(*uid))
		if err != nil {
			return nil, nil, err
		}
		n, err := strconv.Atoi(u.Gid)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot parse primary GID %q of user %q", u.Gid, u.Username)
		}
		gid = &n
	}
	return uid, gid, nil
}

// FillUserEnv sets HOME and USER in env from the user database entry of uid
// where they are missing or empty (behaviour.md §3, api.md §16.1). A nil uid
// means the daemon's own user: env is left alone.
func FillUserEnv(env map[string]string, uid *int) error {
	if uid == nil || (env["HOME"] != "" && env["USER"] != "") {
		return nil
	}
	u, err := user.LookupId(strconv.Itoa(*uid))
	if err != nil {
		return err
	}
	if env["HOME"] == "" {
		env["HOME"] = u.HomeDir
	}
	if env["USER"] == "" {
		env["USER"] = u.Username
	}
	return nil
}
