package servstate

import (
	"errors"
	"os"
	"os/exec"
	"sort"
	"syscall"

	"github.com/pebble-project/pebble/internal/envfile"
	"github.com/pebble-project/pebble/internal/osutil"
	"github.com/pebble-project/pebble/internal/plan"
)

// buildCommand returns a fresh exec.Cmd for one run of svc: argv from the
// plan's command (the [ ... ] group's brackets removed, argv[0] resolved in
// the daemon's PATH), environment, credentials, working directory, its own
// process group, stdin /dev/null and stdout+stderr into out, the write end
// of the run's output pipe (logs.Pipe).
func buildCommand(svc *plan.Service, workload *plan.Workload, out *os.File) (*exec.Cmd, error) {
	args, err := commandArgs(svc)
	if err != nil {
		return nil, err
	}
	if len(args) == 0 {
		return nil, errors.New("empty command")
	}

	var base map[string]string
	if workload != nil {
		base = workload.Environment
	}
	env, err := envfile.Layered(base, svc.EnvironmentFile, svc.Environment)
	if err != nil {
		return nil, err
	}
	as := svc.RunAs(workload)
	uid, gid, err := osutil.NormalizeUIDGID(as.UserID, as.GroupID, as.User, as.Group)
	if err != nil {
		return nil, err
	}
	if err := osutil.FillUserEnv(env, uid); err != nil {
		return nil, err
	}

	cmd := exec.Command(args[0], args[1:]...)
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	cmd.Env = os.Environ()
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+env[k]) // os/exec keeps the last of duplicates
	}
	cmd.Dir = svc.WorkingDir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if uid != nil && (*uid != os.Getuid() || *gid != os.Getgid()) {
		cmd.SysProcAttr.Credential = &syscall.Credential{
			Uid:    uint32(*uid),
			Gid:    uint32(*gid),
			Groups: []uint32{}, // no supplementary groups
		}
	}
	// One pipe for both, so stdout and stderr interleave as written; a
	// file is handed to the process as it is, without os/exec copying.
	cmd.Stdout = out
	cmd.Stderr = out
	return cmd, nil
}

// commandArgs returns argv for a plan command: its words with the
// default arguments of a trailing [ ... ] group appended, brackets removed.
func commandArgs(svc *plan.Service) ([]string, error) {
	base, extra, err := svc.ParseCommand()
	if err != nil {
		return nil, err
	}
	return append(base, extra...), nil
}
