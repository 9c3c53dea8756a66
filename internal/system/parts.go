package system

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pebble-project/pebble/internal/changes"
	"github.com/pebble-project/pebble/internal/checks"
	"github.com/pebble-project/pebble/internal/checks/checker"
	"github.com/pebble-project/pebble/internal/daemon"
	"github.com/pebble-project/pebble/internal/execs"
	"github.com/pebble-project/pebble/internal/handover"
	"github.com/pebble-project/pebble/internal/identities"
	"github.com/pebble-project/pebble/internal/logfwd"
	"github.com/pebble-project/pebble/internal/logger"
	"github.com/pebble-project/pebble/internal/memtrim"
	"github.com/pebble-project/pebble/internal/notices"
	"github.com/pebble-project/pebble/internal/ops"
	"github.com/pebble-project/pebble/internal/osutil"
	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/planstate"
	"github.com/pebble-project/pebble/internal/reaper"
	"github.com/pebble-project/pebble/internal/scheduler"
	"github.com/pebble-project/pebble/internal/servstate"
	"github.com/pebble-project/pebble/internal/statefile"
	"github.com/pebble-project/pebble/internal/version"
	"github.com/pebble-project/pebble/internal/workflow"
)

// forwardingFlushTime bounds the final flush of log forwarding at exit
// (behaviour.md §9.4).
const forwardingFlushTime = 2 * time.Second

// parts are the daemon's components, built and connected, with what undoes
// each of them.
type parts struct {
	opts Options
	log  *logger.Logger

	store      *statefile.Store
	plans      *planstate.State
	services   *servstate.Manager
	checks     *checks.Manager
	changes    *changes.Manager
	notices    *notices.Manager
	identities *identities.Manager
	forwarding *logfwd.Manager
	ops        *ops.Ops
	scheduler  *scheduler.Scheduler
	workflows  *workflow.Runner
	api        *daemon.Daemon
	// shutdown carries the exit code of a service's shutdown action.
	shutdown chan int
	// lock is the directory's lock.
	lock *dirLock
	// handover is what the daemon this one upgraded handed over; nil
	// at a normal start.
	handover *handover.Document
	// planTaken is set when the plan is the one handed over.
	planTaken bool
	// upgrader carries out upgrades; nil when they are refused.
	upgrader *upgrader

	// closers undo what build did, in build order; close runs them
	// backwards.
	closers []closer
}

// trimQuiet is how long after the last change became ready the daemon
// returns the memory left free to the system (memtrim).
const trimQuiet = time.Second

// closer is one step of close: what it closes, for the debug log, and how.
type closer struct {
	name  string
	close func()
}

// onClose registers f as the step that undoes the part just built.
func (p *parts) onClose(name string, f func()) {
	p.closers = append(p.closers, closer{name, f})
}

// close undoes build (and start) in reverse order: the API stops serving,
// then checks, changes, the service manager and notices stop, log forwarding
// flushes, the state file is saved, the reaper stops and the directory is
// unlocked last (behaviour.md §11 step 4). It runs once; later calls do
// nothing.
func (p *parts) close() {
	for i := len(p.closers) - 1; i >= 0; i-- {
		c := p.closers[i]
		start := time.Now()
		c.close()
		p.log.Debugf("Closed %s in %v.", c.name, time.Since(start).Round(time.Millisecond))
	}
	p.closers = nil
}

// build takes the directory's lock and opens every part of the daemon, up to
// the listening (not yet serving) API, in the order of cli.md §4. Processes
// a previous daemon left are killed, and the state file is written, before
// anything starts. On error, what was built is closed again.
func build(ctx context.Context, opts Options, log *logger.Logger, doc *handover.Document) (*parts, error) {
	p := &parts{opts: opts, log: log, shutdown: make(chan int, 1), handover: doc}
	if opts.SocketPath == "" {
		p.opts.SocketPath = filepath.Join(opts.Dir, ".pebble.socket")
	}
	err := p.claimDir()
	if err == nil {
		err = p.buildParts(ctx)
	}
	if err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

// claimDir checks $PEBBLE as `pebble run` requires it (cli.md §4), creating
// it first with --create-dirs or PEBBLE_COPY_ONCE, and takes its lock before
// anything in it changes; then PEBBLE_COPY_ONCE is applied.
func (p *parts) claimDir() error {
	dir := p.opts.Dir
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("directory %q must be absolute", dir)
	}
	if p.opts.CreateDirs || isDir(p.opts.CopyOnce) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("cannot create directory %q: %w", dir, err)
		}
	}
	if err := checkDir(dir); err != nil {
		return err
	}
	lock, handed, err := p.takeLock()
	if !handed && err == nil {
		lock, err = lockDir(dir, p.opts.SocketPath)
	}
	if err != nil {
		return err
	}
	p.lock = lock
	p.onClose("directory lock", lock.release)
	p.log.Debugf("Locked directory %q.", dir)
	return copyOnce(p.opts.CopyOnce, dir)
}

// checkDir checks that dir exists, is a directory and is writable (cli.md §4).
func checkDir(dir string) error {
	st, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("directory %q does not exist", dir)
	}
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("directory %q is not a directory", dir)
	}
	if unix.Access(dir, unix.W_OK) != nil {
		return fmt.Errorf("directory %q not writable", dir)
	}
	return nil
}

// buildParts opens the parts of a daemon whose directory is claimed.
func (p *parts) buildParts(ctx context.Context) error {
	// Processes handed over by an upgraded daemon are registered before
	// anything is reaped, so none of their exits is missed.
	adopted, err := servstate.Adopt(p.handover)
	if err != nil {
		return err
	}
	if err := reaper.Start(); err != nil {
		return err
	}
	p.onClose("reaper", reaper.Stop)

	statePath := ""
	if p.opts.Persist {
		statePath = filepath.Join(p.opts.Dir, ".pebble.state")
	}
	store, err := statefile.Open(statePath)
	if err != nil {
		return err
	}
	p.store = store
	p.onClose("state file", func() {
		if err := store.Close(); err != nil {
			p.log.Noticef("Cannot save state: %v", err)
		}
	})
	if aside, reason := store.SetAside(); aside != "" {
		p.log.Noticef("Cannot use state file: %v; moved it to %q and starting with an empty state", reason, aside)
	}
	if removed := store.RemovedTemporaries(); len(removed) > 0 {
		p.log.Noticef("Removed temporary state files left by a killed daemon: %s", strings.Join(removed, ", "))
	}
	// The plan an upgraded daemon ran goes on, layers added through the
	// API included; otherwise it is read from the layers directory.
	if p.plans, p.planTaken, err = planstate.TakeOver(p.handover); err != nil {
		return err
	}
	if !p.planTaken {
		if p.plans, err = planstate.Load(filepath.Join(p.opts.Dir, "layers")); err != nil {
			return fmt.Errorf("cannot load plan: %w", err)
		}
	}
	for name := range p.plans.Plan().Services {
		if plan.IsDeprecatedServiceName(name) {
			p.log.Noticef("Using keyword %q as a service name is deprecated", name)
		}
	}
	if err := p.buildServices(store, adopted); err != nil {
		return err
	}
	// The state file exists, with every section, before any service starts.
	if err := store.Save(ctx); err != nil {
		return fmt.Errorf("cannot write state file: %w", err)
	}
	p.log.Debugf("Wrote state file %q.", statePath)
	return p.buildAPI()
}

// buildServices builds log forwarding, notices, the service manager (which
// records service-update notices), identities, changes, checks and the verbs over them, then starts killing
// what a previous daemon on this directory left running.
func (p *parts) buildServices(store *statefile.Store, adopted *servstate.Adopted) error {
	log := p.log
	fwd := logfwd.New(logfwd.Options{Logf: log.Noticef, UserAgent: "pebble/" + version.Version})
	p.forwarding = fwd
	p.onClose("log forwarding", func() {
		ctx, cancel := context.WithTimeout(context.Background(), forwardingFlushTime)
		defer cancel()
		fwd.Close(ctx)
	})
	var chg *changes.Manager
	ntc, err := notices.New(notices.Options{
		Store:        store,
		ChangeExists: func(id string) bool { _, err := chg.Change(id); return err == nil },
	})
	if err != nil {
		return err
	}
	p.onClose("notices", ntc.Close)
	services, err := p.newServiceManager(store, fwd, ntc)
	if err != nil {
		return err
	}
	p.services = services
	p.onClose("service manager", services.Close)
	p.plans.Subscribe(services.SetPlan)
	p.plans.Subscribe(fwd.SetPlan)

	if aside, reason := store.SetAside(); aside != "" {
		ntc.AddWarning(fmt.Sprintf("cannot use state file: %v; moved it to %q and started with an empty state", reason, aside))
	}
	ids, err := identities.New(store)
	if err != nil {
		return err
	}
	// What a change freed goes back to the system once changes stop
	// ending (docs/running.md, memory).
	trimmer := memtrim.New(trimQuiet)
	chg, err = changes.New(changes.Options{Store: store, Logf: log.Noticef, TookOver: p.handover != nil, OnStatus: func(c changes.ChangeInfo) {
		// A public change-update notice for every status change (api.md §13.1).
		ntc.Add(nil, notices.ChangeUpdate, c.ID, notices.AddOptions{Data: c.NoticeData})
		if c.Ready {
			trimmer.Poke()
		}
	}})
	if err != nil {
		return err
	}
	p.checks = checks.New(checks.Options{
		Changes:    chg,
		OnFailure:  services,
		OnSuccess:  services,
		Logf:       log.Noticef,
		NewChecker: func(c *plan.Check) checks.Checker { return checker.New(c) },
	})
	// Checks handed over go on with their counters and runs.
	if err := p.checks.TakeOver(p.handover, p.plans.Plan()); err != nil {
		return err
	}
	p.ops = ops.New(ops.Options{
		Plans: p.plans, Services: services, Changes: chg, Checks: p.checks,
		Execs: execs.New(execs.Options{Logf: log.Noticef}),
	})
	p.workflows = workflow.New(workflow.Options{
		Plans: p.plans, Services: services, Checks: p.checks, Changes: chg, Sync: store.Sync,
		Dir: p.opts.Dir, Logf: log.Noticef,
	})
	p.changes, p.notices, p.identities = chg, ntc, ids
	p.registerUpgrade(chg)
	// Services handed over by an upgraded daemon are back before the
	// tasks of its changes carry on (docs/upgrade.md).
	if taken, err := services.TakeOver(adopted); err != nil {
		return err
	} else if len(taken) > 0 {
		log.Debugf("Took over services: %s.", strings.Join(taken, ", "))
	}
	chg.Start()
	p.onClose("changes", func() { chg.Close(); trimmer.Stop() })
	p.onClose("checks", p.checks.Close)
	ntc.Start()
	// Checks start with the plan, whatever --hold says (behaviour.md §7.8).
	p.plans.Subscribe(p.checks.SetPlan)

	// Processes left by a daemon that died without stopping its services
	// get SIGTERM now and are ended in the background: a start of their
	// service waits until they are gone, so no service runs twice, while
	// the API and the other services go ahead.
	killed, err := services.KillLeftovers()
	switch {
	case err != nil:
		log.Noticef("Cannot kill processes left by a previous daemon: %v", err)
	case len(killed) > 0:
		log.Noticef("Killing services left running by a previous daemon: %s", strings.Join(killed, ", "))
		ntc.AddWarning("services left running by a previous daemon were killed: " + strings.Join(killed, ", "))
	default:
		log.Debugf("No processes left by a previous daemon.")
	}
	p.startScheduler(services)
	return nil
}

// startScheduler starts the scheduled services' timers
// (docs/schedules.md): a due service is started as `pebble start` starts
// it, unless its last run is still active or in backoff. Schedules run
// whatever --hold says, like checks.
func (p *parts) startScheduler(services *servstate.Manager) {
	p.scheduler = scheduler.New(scheduler.Options{
		Start: func(name string) (string, error) { return p.ops.ServiceAction("start", []string{name}) },
		Busy: func(name string) bool {
			infos := services.Services([]string{name})
			return len(infos) == 1 && (infos[0].Current == servstate.StatusActive || infos[0].Current == servstate.StatusBackoff)
		},
		Logf: p.log.Noticef,
	})
	p.onClose("scheduler", p.scheduler.Close)
	p.plans.Subscribe(p.scheduler.SetPlan)
}

// disableControllersEnv names cgroup controllers (comma-separated) that
// service limits must not use, as if the host had none: the end-to-end
// tests' seam for reports of unenforced limits (docs/resource-limits.md).
const disableControllersEnv = "PEBBLE_TEST_DISABLE_CONTROLLERS"

// newServiceManager builds the service manager; a shutdown action of a
// service ends wait with its exit code, and every transition of a service
// is recorded as a service-update notice.
func (p *parts) newServiceManager(store *statefile.Store, fwd *logfwd.Manager, ntc *notices.Manager) (*servstate.Manager, error) {
	opts := servstate.Options{
		Logf:  p.log.Noticef,
		Store: store,
		Dir:   p.opts.Dir,
		Shutdown: func(code int) {
			select {
			case p.shutdown <- code:
			default:
			}
		},
		Starting: fwd.ServiceStarting,
		OnEvent: func(ev servstate.Event) {
			ntc.Add(nil, notices.ServiceUpdate, ev.Service, notices.AddOptions{Data: serviceUpdateData(ev)})
		},
		Warn:                func(msg string) { ntc.AddWarning(msg) },
		DisabledControllers: strings.FieldsFunc(os.Getenv(disableControllersEnv), func(r rune) bool { return r == ',' }),
	}
	if p.opts.Verbose {
		opts.Verbose = p.opts.Stdout
	}
	return servstate.New(opts)
}

// serviceUpdateData is the last-data of a service-update notice
// (docs/service-events.md): the event, and the exit code or the signal of
// the main process when an exit caused it, with the exit's reason when the
// OOM killer caused it (docs/resource-limits.md).
func serviceUpdateData(ev servstate.Event) map[string]string {
	data := map[string]string{"event": ev.Kind}
	switch {
	case ev.Exit == nil:
	case ev.Exit.Signal != 0:
		data["signal"] = osutil.SignalName(ev.Exit.Signal)
	default:
		data["exit-code"] = strconv.Itoa(ev.Exit.Code)
	}
	if ev.ExitReason != "" {
		data["exit-reason"] = ev.ExitReason
	}
	return data
}

// buildAPI opens the socket (and TCP address) of the API; start serves it.
func (p *parts) buildAPI() error {
	var upgrader daemon.Upgrader
	if p.upgrader != nil {
		upgrader = p.upgrader
	}
	api, err := daemon.New(daemon.Options{
		Upgrader:    upgrader,
		SocketPath:  p.opts.SocketPath,
		HTTPAddress: p.opts.HTTPAddress,
		Ops:         p.ops,
		Services:    p.services,
		Changes:     p.changes,
		Plan:        p.plans,
		Notices:     p.notices,
		Identities:  p.identities,
		Checks:      p.checks,
		State:       p.store,
		LogTargets:  p.forwarding,
		Schedules:   p.scheduler,
		Workflows:   p.workflows,
		Logf:        p.log.Noticef,
		LogLine:     p.log.Notice,
		Version:     version.Version,
		BootID:      bootID(),
		// Security events go to the daemon log as JSON (behaviour.md §12).
		SecurityEvent: p.log.SecurityEvent,
		Metrics:       []daemon.MetricsSource{p.services, p.checks, p.forwarding, selfMetrics{}},
	})
	if err != nil {
		return err
	}
	adopted := false
	if p.handover != nil {
		if adopted, err = api.Adopt(p.handover); err != nil {
			return err
		}
	}
	if !adopted {
		if err := api.Listen(); err != nil {
			return err
		}
	}
	p.api = api
	// Stop removes the socket file: it is registered only once the
	// socket is this daemon's.
	p.onClose("API server", api.Stop)
	p.log.Debugf("Listening on %q.", p.opts.SocketPath)
	return nil
}
