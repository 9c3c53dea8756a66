package system

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pebble-project/pebble/internal/apierr"
	"github.com/pebble-project/pebble/internal/changes"
	"github.com/pebble-project/pebble/internal/checks"
	"github.com/pebble-project/pebble/internal/daemon"
	"github.com/pebble-project/pebble/internal/handover"
	"github.com/pebble-project/pebble/internal/planstate"
	"github.com/pebble-project/pebble/internal/reaper"
	"github.com/pebble-project/pebble/internal/servstate"
	"github.com/pebble-project/pebble/internal/version"
)

// The in-place upgrade (docs/upgrade.md): POST /v1/daemon's "upgrade"
// starts a change whose one task checks the new binary, quiesces the API,
// writes the hand-over and execs the binary in this process. The new daemon
// reads the hand-over in build and start, and finds the task Done.

// kindUpgrade is the kind of the upgrade change and of its one task.
const kindUpgrade = "upgrade"

// checkTimeout bounds how long the new binary may take to answer the
// hand-over check.
const checkTimeout = 10 * time.Second

// execEndTimeout bounds the wait for exec sessions to end before the
// upgrade goes on.
const execEndTimeout = 5 * time.Second

// errExecUpgrade is the error of an exec session ended by an upgrade.
var errExecUpgrade = errors.New("exec aborted: daemon is upgrading")

// systemPart is the name of this package's part of a hand-over.
const systemPart = "system"

// handedSystem is this package's part of a hand-over.
type handedSystem struct {
	// LockFD is the descriptor holding the directory's lock.
	LockFD int `json:"lock-fd"`
	// Change is the ID of the upgrade change.
	Change string `json:"change"`
	// QuietSince is when the old daemon stopped accepting connections.
	QuietSince time.Time `json:"quiet-since"`
}

// upgradeTask is the data of an upgrade task.
type upgradeTask struct {
	Binary string `json:"binary"`
}

// upgrader carries out upgrades for the API. It exists only when the daemon
// knows the command line to execute again (Options.ExecArgs).
type upgrader struct {
	p *parts
	// busy is set while an upgrade change is not ready.
	busy atomic.Bool
}

// registerUpgrade registers the upgrade task kind. A task interrupted by a
// stop of the daemon failed, unless this daemon is the new one it handed
// over to: then it is done.
func (p *parts) registerUpgrade(chg *changes.Manager) {
	interrupted := "daemon stopped before the upgrade finished"
	if p.handover != nil {
		interrupted = ""
	}
	u := &upgrader{p: p}
	chg.Register(kindUpgrade, changes.Kind{Run: u.run, Interrupted: interrupted})
	if p.opts.ExecArgs != nil {
		p.upgrader = u
	}
}

// Upgrade starts the upgrade change; binary "" means the daemon's own
// executable, as it is on disk now.
func (u *upgrader) Upgrade(binary string) (string, error) {
	binary, err := upgradeBinary(binary)
	if err != nil {
		return "", apierr.Errorf(apierr.BadRequest, "%v", err)
	}
	if !u.busy.CompareAndSwap(false, true) {
		return "", apierr.Errorf(apierr.BadRequest, "cannot upgrade: an upgrade is already in progress")
	}
	summary := fmt.Sprintf("Upgrade daemon from %q", binary)
	c := u.p.changes.Add(changes.NewChange{
		Kind:    kindUpgrade,
		Summary: summary,
		Tasks:   []changes.TaskSpec{{Kind: kindUpgrade, Summary: summary, Data: upgradeTask{Binary: binary}}},
	})
	return c.ID, nil
}

// upgradeBinary resolves the binary of an upgrade request: an absolute
// path to a regular, executable file.
func upgradeBinary(binary string) (string, error) {
	if binary == "" {
		self, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("cannot find the daemon's executable: %w", err)
		}
		binary = self
	}
	if !filepath.IsAbs(binary) {
		return "", fmt.Errorf("cannot upgrade: binary %q is not an absolute path", binary)
	}
	st, err := os.Stat(binary)
	if err != nil {
		return "", fmt.Errorf("cannot upgrade: %w", err)
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("cannot upgrade: %q is not an executable file", binary)
	}
	return binary, nil
}

// run is the upgrade task. It returns only when the upgrade did not
// happen; then the old daemon carries on, and a warning notice says why.
func (u *upgrader) run(ctx context.Context, t *changes.Task) error {
	defer u.busy.Store(false)
	var data upgradeTask
	if err := t.Get(&data); err != nil {
		return err
	}
	err := u.upgrade(ctx, t, data.Binary)
	u.p.log.Noticef("Cannot upgrade daemon from %q: %v", data.Binary, err)
	u.p.notices.AddWarning(fmt.Sprintf("cannot upgrade daemon from %q: %v", data.Binary, err))
	return err
}

// upgrade checks the binary, quiesces, hands over and execs; it returns
// only on failure, with everything it quiesced serving again.
func (u *upgrader) upgrade(ctx context.Context, t *changes.Task, binary string) error {
	p := u.p
	newVersion, err := u.check(ctx, binary)
	if err != nil {
		return fmt.Errorf("new binary %s", err)
	}
	t.Logf("New binary answered the hand-over check: version %s.", newVersion)
	endCtx, cancel := context.WithTimeout(ctx, execEndTimeout)
	p.ops.EndExecs(endCtx, errExecUpgrade)
	cancel()
	defer p.ops.ReopenExecs()
	start := time.Now()
	if err := p.api.Quiesce(); err != nil {
		return err
	}
	doc := handover.New(version.Version)
	// Checks stop counting before the services they act on freeze.
	err = p.checks.HandOver(doc)
	if err == nil {
		err = p.services.HandOver(ctx, doc)
		if err == nil {
			err = u.handOver(ctx, t, doc, start)
			if err == nil {
				t.Logf("Handing over from version %s to %s after %v of quiet.", version.Version, newVersion, time.Since(start).Round(time.Millisecond))
				err = u.exec(ctx, doc, binary)
			}
			p.services.Resume()
		}
	}
	p.checks.Resume()
	if rerr := p.api.Resume(); rerr != nil {
		p.log.Noticef("Cannot serve the API again after a failed upgrade: %v", rerr)
	}
	doc.Close()
	return err
}

// check runs the binary in check mode on a hand-over of the state as it is
// now, every part but without descriptors, and returns the version it
// answers with.
func (u *upgrader) check(ctx context.Context, binary string) (string, error) {
	doc, err := u.preview(ctx)
	if err != nil {
		return "", err
	}
	f, err := doc.Write()
	if err != nil {
		return "", err
	}
	defer f.Close()
	var out bytes.Buffer
	cmd := exec.Command(binary, u.p.opts.ExecArgs[1:]...)
	cmd.Args[0] = u.p.opts.ExecArgs[0]
	cmd.Env = append(handoverFreeEnv(), handover.EnvCheck+"=3")
	cmd.ExtraFiles = []*os.File{f}
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := reaper.StartCommand(cmd); err != nil {
		return "", fmt.Errorf("cannot start: %w", err)
	}
	timeout := time.NewTimer(checkTimeout)
	defer timeout.Stop()
	select {
	case <-reaper.Exited(cmd):
	case <-timeout.C:
		cmd.Process.Kill()
	case <-ctx.Done():
		cmd.Process.Kill()
	}
	res, _ := reaper.WaitCommand(cmd)
	answer, err := handover.ParseAnswer(out.Bytes())
	switch {
	case err != nil && !res.Success():
		return "", fmt.Errorf("%s (%s)", err, res)
	case err != nil:
		return "", err
	case !res.Success():
		return "", fmt.Errorf("answered the hand-over check but ended with %s", res)
	}
	return answer, nil
}

// preview returns a hand-over of the state as it is now, with every part
// but no descriptor (each is -1) and no output, stopping nothing.
func (u *upgrader) preview(ctx context.Context) (*handover.Document, error) {
	p := u.p
	doc := handover.New(version.Version)
	if err := doc.Put(systemPart, handedSystem{LockFD: -1}); err != nil {
		return nil, err
	}
	if err := p.api.PreviewHandover(doc); err != nil {
		return nil, err
	}
	if err := p.plans.HandOver(doc); err != nil {
		return nil, err
	}
	if err := p.checks.Preview(doc); err != nil {
		return nil, err
	}
	if err := p.services.Preview(ctx, doc); err != nil {
		return nil, err
	}
	return doc, nil
}

// handOver fills doc with every owner's part.
func (u *upgrader) handOver(ctx context.Context, t *changes.Task, doc *handover.Document, quietSince time.Time) error {
	p := u.p
	if err := p.api.Handover(doc); err != nil {
		return err
	}
	if err := p.plans.HandOver(doc); err != nil {
		return err
	}
	lockFD, err := doc.Pass(p.lock.f)
	if err != nil {
		return err
	}
	if err := doc.Put(systemPart, handedSystem{LockFD: lockFD, Change: t.ChangeID(), QuietSince: quietSince.Round(0)}); err != nil {
		return err
	}
	// What the new daemon loads from the state file is all there.
	return p.store.Sync(ctx)
}

// exec writes doc and executes binary in this process. It returns only
// when the exec failed.
func (u *upgrader) exec(ctx context.Context, doc *handover.Document, binary string) error {
	f, err := doc.Write()
	if err != nil {
		return err
	}
	fd, err := doc.Pass(f)
	if err != nil {
		f.Close()
		return err
	}
	if err := u.p.store.Sync(ctx); err != nil {
		return err
	}
	env := append(handoverFreeEnv(), handover.EnvFD+"="+strconv.Itoa(fd))
	err = syscall.Exec(binary, u.p.opts.ExecArgs, env)
	return fmt.Errorf("cannot execute %q: %w", binary, err)
}

// handoverFreeEnv is the daemon's environment without hand-over variables.
func handoverFreeEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, handover.EnvFD+"=") || strings.HasPrefix(kv, handover.EnvCheck+"=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// takeLock takes back the directory lock the old daemon handed over, and
// reports whether there was one.
func (p *parts) takeLock() (*dirLock, bool, error) {
	if p.handover == nil {
		return nil, false, nil
	}
	doc := p.handover
	var part handedSystem
	found, err := doc.Get(systemPart, &part)
	if err != nil || !found {
		return nil, false, err
	}
	f, err := doc.Take(part.LockFD, lockFileName)
	if err != nil {
		return nil, false, err
	}
	return &dirLock{f: f}, true, nil
}

// tookOver logs the end of an upgrade, once the new daemon serves.
func (p *parts) tookOver() {
	p.handover.CloseUntaken()
	var part handedSystem
	p.handover.Get(systemPart, &part)
	p.log.Noticef("Took over from version %s; the API was quiet for %v.", p.handover.Version, time.Since(part.QuietSince).Round(time.Millisecond))
}

// CheckHandover reads every part of doc this binary knows, as a new daemon
// would, without acting on any: the check mode of an upgrade.
func CheckHandover(doc *handover.Document) error {
	var part handedSystem
	if _, err := doc.Get(systemPart, &part); err != nil {
		return err
	}
	for _, check := range []func(*handover.Document) error{
		daemon.CheckHandover, planstate.CheckHandover, checks.CheckHandover, servstate.CheckHandover,
	} {
		if err := check(doc); err != nil {
			return err
		}
	}
	return nil
}
