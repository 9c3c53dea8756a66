package ops

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pebble-project/pebble/internal/apierr"
	"github.com/pebble-project/pebble/internal/changes"
	"github.com/pebble-project/pebble/internal/envfile"
	"github.com/pebble-project/pebble/internal/execs"
	"github.com/pebble-project/pebble/internal/osutil"
	"github.com/pebble-project/pebble/internal/plan"
)

// kindExec is the change and task kind of exec.
const kindExec = "exec"

// defaultPath is PATH for commands whose environment has none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

func (o *Ops) registerExecTasks() {
	// An exec interrupted by a daemon restart has no process left; its
	// task is simply done (behaviour.md §10.2).
	o.changes.Register(kindExec, changes.Kind{Run: o.runExec, Interrupted: ""})
}

func (o *Ops) runExec(ctx context.Context, t *changes.Task) error {
	code, err := o.execs.Run(ctx, t.ID())
	if serr := t.Set(map[string]int{"exit-code": code}); serr != nil && err == nil {
		err = serr
	}
	return err
}

// EndExecs ends every exec session (execs.Manager.End) with cause, and
// waits, at most until ctx ends, for their changes to be ready: the exec
// sessions end before the daemon upgrades in place (docs/upgrade.md).
// Call ReopenExecs if the upgrade does not happen.
func (o *Ops) EndExecs(ctx context.Context, cause error) {
	for _, id := range o.execs.End(cause) {
		if _, chg, err := o.changes.Task(id); err == nil {
			o.changes.Wait(ctx, chg.ID)
		}
	}
}

// ReopenExecs lets exec sessions run again after EndExecs.
func (o *Ops) ReopenExecs() { o.execs.Reopen() }

// Exec creates the change that runs a command. The command starts once the
// client has connected the task's websockets.
func (o *Ops) Exec(ctx context.Context, req execs.Request) (execs.Started, error) {
	if len(req.Command) == 0 {
		return execs.Started{}, apierr.Errorf(apierr.BadRequest, "must specify command")
	}
	if err := checkExecText(req); err != nil {
		return execs.Started{}, err
	}
	if req.ServiceContext != "" {
		var err error
		if req, err = o.withServiceContext(req); err != nil {
			return execs.Started{}, err
		}
	}
	path, err := exec.LookPath(req.Command[0])
	if err != nil {
		return execs.Started{}, apierr.Errorf(apierr.BadRequest, "cannot find executable %q", req.Command[0])
	}
	uid, gid, err := osutil.NormalizeUIDGID(req.UserID, req.GroupID, req.User, req.Group)
	if err != nil {
		return execs.Started{}, apierr.Errorf(apierr.BadRequest, "%v", err)
	}
	env, err := execEnvironment(req.Environment, uid)
	if err != nil {
		return execs.Started{}, apierr.Errorf(apierr.BadRequest, "%v", err)
	}
	dir, what := req.WorkingDir, "working directory"
	if dir == "" {
		dir, what = env["HOME"], "home directory"
		if dir == "" {
			dir = "/"
		}
	}
	if st, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return execs.Started{}, apierr.Errorf(apierr.Internal, "cannot call exec: %s %q does not exist", what, dir)
	} else if err != nil {
		return execs.Started{}, apierr.Errorf(apierr.Internal, "cannot call exec: %v", err)
	} else if !st.IsDir() {
		return execs.Started{}, apierr.Errorf(apierr.Internal, "cannot call exec: %s %q not a directory", what, dir)
	}
	if req.Interactive && !req.Terminal {
		return execs.Started{}, apierr.Errorf(apierr.Internal, "cannot call exec: cannot use interactive mode without a terminal")
	}

	cmd := execs.Command{
		Path: path, Args: req.Command, Env: envList(env), Dir: dir,
		Terminal: req.Terminal, Interactive: req.Interactive, SplitStderr: req.SplitStderr,
		Width: req.Width, Height: req.Height, Timeout: req.Timeout,
	}
	if uid != nil && (*uid != os.Getuid() || *gid != os.Getgid()) {
		u, g := uint32(*uid), uint32(*gid)
		cmd.UID, cmd.GID = &u, &g
	}
	summary := fmt.Sprintf("Execute command %q", req.Command[0])
	var info changes.ChangeInfo
	o.execs.Add(cmd, func() string {
		info = o.changes.Add(changes.NewChange{
			Kind:    kindExec,
			Summary: summary,
			Tasks:   []changes.TaskSpec{{Kind: kindExec, Summary: summary}},
		})
		return info.Tasks[0].ID
	})
	return execs.Started{ChangeID: info.ID, TaskID: info.Tasks[0].ID, Environment: env, WorkingDir: dir}, nil
}

// checkExecText refuses command words, environment entries and a working
// directory that no process can be given (see plan.TextProblem), rather
// than starting a change that is bound to fail.
func checkExecText(req execs.Request) error {
	for i, arg := range req.Command {
		if bad := plan.TextProblem(arg); bad != "" {
			return apierr.Errorf(apierr.BadRequest, "cannot run command: argument %d %s: %q", i, bad, arg)
		}
	}
	names := slices.Sorted(maps.Keys(req.Environment))
	for _, name := range names {
		bad := plan.TextProblem(name)
		if bad == "" && (name == "" || strings.Contains(name, "=")) {
			bad = `is empty or contains "="`
		}
		if bad != "" {
			return apierr.Errorf(apierr.BadRequest, "cannot run command: environment variable name %q %s", name, bad)
		}
		if bad := plan.TextProblem(req.Environment[name]); bad != "" {
			return apierr.Errorf(apierr.BadRequest, "cannot run command: environment variable %q value %s", name, bad)
		}
	}
	if bad := plan.TextProblem(req.WorkingDir); bad != "" {
		return apierr.Errorf(apierr.BadRequest, "cannot run command: working directory %s: %q", bad, req.WorkingDir)
	}
	return nil
}

// withServiceContext fills the request's unset fields from a service's
// environment, user, group and working directory (api.md §16.1); the
// request's environment is merged on top of the service's.
func (o *Ops) withServiceContext(req execs.Request) (execs.Request, error) {
	p := o.plans.Plan()
	svc := p.Services[req.ServiceContext]
	if svc == nil {
		return req, apierr.Errorf(apierr.BadRequest, "context service %q not found", req.ServiceContext)
	}
	var base map[string]string
	w := p.Workloads[svc.Workload]
	if w != nil {
		base = w.Environment
	}
	env, err := envfile.Layered(base, svc.EnvironmentFile, svc.Environment)
	if err != nil {
		return req, apierr.Errorf(apierr.Internal, "cannot run command in the context of service %q: %v", req.ServiceContext, err)
	}
	for k, v := range req.Environment {
		env[k] = v
	}
	req.Environment = env
	as := svc.RunAs(w)
	if req.UserID == nil {
		req.UserID = as.UserID
	}
	if req.User == "" {
		req.User = as.User
	}
	if req.GroupID == nil {
		req.GroupID = as.GroupID
	}
	if req.Group == "" {
		req.Group = as.Group
	}
	if req.WorkingDir == "" {
		req.WorkingDir = svc.WorkingDir
	}
	return req, nil
}

// execEnvironment is the environment of an exec (api.md §16.1): the
// daemon's (without HOME and USER when running as another user), the
// request's on top, then defaults for PATH, HOME, USER and LANG.
func execEnvironment(requested map[string]string, uid *int) (map[string]string, error) {
	env := make(map[string]string)
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	if uid != nil && *uid != os.Getuid() {
		delete(env, "HOME")
		delete(env, "USER")
	}
	for k, v := range requested {
		env[k] = v
	}
	if env["PATH"] == "" {
		env["PATH"] = defaultPath
	}
	if err := osutil.FillUserEnv(env, uid); err != nil {
		return nil, err
	}
	if env["LANG"] == "" {
		env["LANG"] = "C.UTF-8"
	}
	return env, nil
}

func envList(env map[string]string) []string {
	list := make([]string, 0, len(env))
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)
	return list
}

// ExecSocket reserves websocket wsID of an exec task (api.md §16.3), with
// the spec's errors.
func (o *Ops) ExecSocket(taskID, wsID string) (*execs.Socket, error) {
	t, c, err := o.changes.Task(taskID)
	if err != nil {
		return nil, apierr.Errorf(apierr.NotFound, "cannot find task %q", taskID)
	}
	if t.Kind != kindExec {
		return nil, apierr.Errorf(apierr.BadRequest, "%q tasks do not have websockets", t.Kind)
	}
	sock, err := o.execs.Socket(taskID, wsID)
	switch {
	case err == nil:
		return sock, nil
	case errors.Is(err, execs.ErrConnected):
		return nil, apierr.Errorf(apierr.Internal, "%s websocket already connected", wsID)
	case errors.Is(err, execs.ErrFailed):
		// The exec finished before this connection, with an error (for
		// example it timed out waiting for its websockets). Its change
		// records the error as soon as the task has returned.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if c, err := o.changes.Wait(ctx, c.ID); err == nil && c.Err != "" {
			return nil, apierr.Errorf(apierr.Internal, "%s", c.Err)
		}
	case errors.Is(err, execs.ErrNoSession) && c.Err != "":
		return nil, apierr.Errorf(apierr.Internal, "%s", c.Err)
	}
	return nil, apierr.Errorf(apierr.NotFound, "cannot find %s websocket for task %q", wsID, taskID)
}
