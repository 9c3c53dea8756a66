// Package system is the composition root of the daemon: it builds the state
// file, plan, service manager, changes and HTTP API, connects them, and owns
// their start and stop order. It holds no behaviour beyond that wiring and
// the daemon's lifetime (signals, shutdown requests, exit code).
package system

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pebble-project/pebble/internal/changes"
	"github.com/pebble-project/pebble/internal/checks"
	"github.com/pebble-project/pebble/internal/checks/checker"
	"github.com/pebble-project/pebble/internal/daemon"
	"github.com/pebble-project/pebble/internal/execs"
	"github.com/pebble-project/pebble/internal/identities"
	"github.com/pebble-project/pebble/internal/logfwd"
	"github.com/pebble-project/pebble/internal/logger"
	"github.com/pebble-project/pebble/internal/notices"
	"github.com/pebble-project/pebble/internal/ops"
	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/planstate"
	"github.com/pebble-project/pebble/internal/reaper"
	"github.com/pebble-project/pebble/internal/servstate"
	"github.com/pebble-project/pebble/internal/statefile"
	"github.com/pebble-project/pebble/internal/version"
)

// Options configure one run of the daemon.
type Options struct {
	// Dir is $PEBBLE; it must be absolute.
	Dir string
	// SocketPath is the API socket; "" means Dir/.pebble.socket.
	SocketPath string
	// CreateDirs creates Dir (mode 0700, with parents) when it is missing.
	CreateDirs bool
	// Hold skips autostart of startup: enabled services.
	Hold bool
	// Verbose copies service output to Stdout.
	Verbose bool
	// Debug enables DEBUG log lines.
	Debug bool
	// Persist keeps state in Dir/.pebble.state; false for PEBBLE_PERSIST=never.
	Persist bool
	// ServiceArgs replaces the [ ... ] default arguments of services (run --args).
	ServiceArgs map[string][]string
	// HTTPAddress, if set, also serves the open API on this TCP address.
	HTTPAddress string
	// CopyOnce, if it names a directory, is copied into Dir before start
	// when Dir is missing or empty (PEBBLE_COPY_ONCE).
	CopyOnce string
	// Stdout receives service output in verbose mode; Stderr the daemon log.
	Stdout, Stderr io.Writer
	// IdentitiesFile, if set, names a YAML file whose identities are
	// applied after startup like "update-identities --replace" (run
	// --identities).
	IdentitiesFile string
	// NoSignals leaves SIGINT, SIGTERM and SIGQUIT to the caller, which
	// stops the daemon through ctx (pebble enter exec forwards them to the
	// command instead).
	NoSignals bool
	// Ready, if set, is called once the API is served and, unless Hold,
	// the autostart change has finished (successfully or not). Cancel
	// Run's ctx to stop the daemon (pebble enter).
	Ready func()
}

// Exit codes of the daemon (cli.md §4.1).
const (
	exitOK    = 0
	exitError = 1
)

// Timing of shutdown (behaviour.md §1).
const (
	defaultKillDelay = 5 * time.Second
	killFailDelay    = 5 * time.Second
)

// Run runs the daemon until SIGINT, SIGTERM or SIGQUIT arrives, ctx ends, or
// a service action shuts it down. It returns the exit code of cli.md §4.1,
// or an error (exit code 1) when the daemon cannot start.
func Run(ctx context.Context, opts Options) (int, error) {
	if opts.Stderr == nil {
		opts.Stderr = io.Discard
	}
	if opts.Stdout == nil {
		opts.Stdout = io.Discard
	}
	log := logger.New(opts.Stderr, opts.Debug)

	// Signals are caught first, so one that arrives during start-up still
	// leads to an orderly stop.
	sigs := make(chan os.Signal, 4)
	if !opts.NoSignals {
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT)
		defer signal.Stop(sigs)
	}

	if err := reaper.Start(); err != nil {
		return exitError, err
	}
	defer reaper.Stop()

	if filepath.IsAbs(opts.Dir) {
		if err := copyOnce(opts.CopyOnce, opts.Dir); err != nil {
			return exitError, err
		}
	}
	if err := checkDir(opts.Dir, opts.CreateDirs); err != nil {
		return exitError, err
	}
	statePath := ""
	if opts.Persist {
		statePath = filepath.Join(opts.Dir, ".pebble.state")
	}
	store, err := statefile.Open(statePath)
	if err != nil {
		return exitError, err
	}
	defer store.Close()
	if aside, reason := store.SetAside(); aside != "" {
		log.Noticef("Cannot use state file: %v; moved it to %q and starting with an empty state", reason, aside)
	}

	plans, err := planstate.Load(filepath.Join(opts.Dir, "layers"))
	if err != nil {
		return exitError, fmt.Errorf("cannot load plan: %w", err)
	}
	for name := range plans.Plan().Services {
		if plan.IsDeprecatedServiceName(name) {
			log.Noticef("Using keyword %q as a service name is deprecated", name)
		}
	}

	fwd := logfwd.New(logfwd.Options{Logf: log.Noticef, UserAgent: "pebble/" + version.Version})
	defer closeForwarding(fwd)

	shutdown := make(chan int, 1)
	var verbose io.Writer
	if opts.Verbose {
		verbose = opts.Stdout
	}
	services, err := servstate.New(servstate.Options{
		Logf:    log.Noticef,
		Verbose: verbose,
		Store:   store,
		Dir:     opts.Dir,
		Shutdown: func(code int) {
			select {
			case shutdown <- code:
			default:
			}
		},
		Starting: fwd.ServiceStarting,
	})
	if err != nil {
		return exitError, err
	}
	defer services.Close()
	plans.Subscribe(services.SetPlan)
	plans.Subscribe(fwd.SetPlan)

	var chg *changes.Manager
	ntc, err := notices.New(notices.Options{
		Store:        store,
		ChangeExists: func(id string) bool { _, err := chg.Change(id); return err == nil },
	})
	if err != nil {
		return exitError, err
	}
	defer ntc.Close()
	ids, err := identities.New(store)
	if err != nil {
		return exitError, err
	}
	chg, err = changes.New(changes.Options{Store: store, Logf: log.Noticef, OnStatus: func(c changes.ChangeInfo) {
		// A public change-update notice for every status change (api.md §13.1).
		ntc.Add(nil, notices.ChangeUpdate, c.ID, notices.AddOptions{Data: c.NoticeData})
	}})
	if err != nil {
		return exitError, err
	}
	chk := checks.New(checks.Options{
		Changes:    chg,
		OnFailure:  services,
		Logf:       log.Noticef,
		NewChecker: func(c *plan.Check) checks.Checker { return checker.New(c) },
	})
	o := ops.New(ops.Options{
		Plans: plans, Services: services, Changes: chg,
		Notices: ntc, Identities: ids, SecurityEvent: log.SecurityEvent,
		Checks: chk,
		Execs:  execs.New(execs.Options{Logf: log.Noticef}),
	})
	chg.Start()
	defer chg.Close()
	defer chk.Close()
	ntc.Start()
	// Checks start with the plan, whatever --hold says (behaviour.md §7.8).
	plans.Subscribe(chk.SetPlan)

	// Processes left by a daemon that died without stopping its services
	// are killed before anything new starts, so no service runs twice.
	if killed, err := services.KillLeftovers(ctx); err != nil {
		log.Noticef("Cannot kill processes left by a previous daemon: %v", err)
	} else if len(killed) > 0 {
		log.Noticef("Killed services left running by a previous daemon: %s", strings.Join(killed, ", "))
		ntc.AddWarning("services left running by a previous daemon were killed: " + strings.Join(killed, ", "))
	}

	socket := opts.SocketPath
	if socket == "" {
		socket = filepath.Join(opts.Dir, ".pebble.socket")
	}
	d, err := daemon.New(daemon.Options{
		SocketPath:  socket,
		HTTPAddress: opts.HTTPAddress,
		Ops:         o,
		State:       store,
		LogTargets:  fwd,
		Logf:        log.Noticef,
		Version:     version.Version,
		BootID:      bootID(),
		// Security events go to the daemon log as JSON (behaviour.md §12).
		SecurityEvent: log.SecurityEvent,
		Metrics:       []daemon.MetricsSource{services, chk, fwd},
	})
	if err != nil {
		return exitError, err
	}
	if err := d.Listen(); err != nil {
		return exitError, err
	}
	log.SecurityEvent("WARN", fmt.Sprintf("sys_startup:%d", os.Getuid()), "Starting daemon")
	log.Noticef("Started daemon.")

	if len(opts.ServiceArgs) > 0 {
		l, err := plan.ServiceArgsLayer(plans.Plan(), opts.ServiceArgs)
		if err == nil {
			err = plans.AppendLayer(l)
		}
		if err != nil {
			d.Stop()
			return exitError, err
		}
	}
	d.Serve()
	if opts.IdentitiesFile != "" {
		if err := applyIdentitiesFile(ctx, o, opts.IdentitiesFile); err != nil {
			d.Stop()
			return exitError, err
		}
	}

	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	ready := opts.Ready
	if ready == nil {
		ready = func() {}
	}
	if !opts.Hold {
		go func() {
			autostart(runCtx, o, log)
			ready()
		}()
	} else {
		ready()
	}

	code := exitOK
	select {
	case sig := <-sigs:
		log.Noticef("Exiting on %s signal.", sig)
	case <-ctx.Done():
		log.Noticef("Exiting: %v.", context.Cause(ctx))
	case code = <-shutdown:
		log.Noticef("Server exiting! Reason: <nil>")
	}
	log.SecurityEvent("WARN", fmt.Sprintf("sys_shutdown:%d", os.Getuid()), "Shutting down daemon")
	cancelRun()
	chk.Close() // no check acts on services while they stop
	stopServices(o, plans, services, log)
	d.Stop()
	closeForwarding(fwd)
	return code, nil
}

// forwardingFlushTime bounds the final flush of log forwarding at exit
// (behaviour.md §9.4).
const forwardingFlushTime = 2 * time.Second

// closeForwarding sends what the log targets still hold, within
// forwardingFlushTime.
func closeForwarding(fwd *logfwd.Manager) {
	ctx, cancel := context.WithTimeout(context.Background(), forwardingFlushTime)
	defer cancel()
	fwd.Close(ctx)
}

// autostart starts the default services through the same verb the API uses.
func autostart(ctx context.Context, o *ops.Ops, log *logger.Logger) {
	id, err := o.ServiceAction(ctx, "autostart", nil)
	if err != nil {
		log.Noticef("Cannot start default services: %v", err)
		return
	}
	c, err := o.WaitChange(ctx, id)
	if err != nil {
		return
	}
	if c.Err != "" {
		log.Noticef("Cannot start default services: %s", c.Err)
		return
	}
	log.Noticef("Started default services with change %s.", id)
}

// stopServices stops every active service as one change and waits for it at
// most the shutdown budget of behaviour.md §1.
func stopServices(o *ops.Ops, plans *planstate.State, services *servstate.Manager, log *logger.Logger) {
	active := services.ActiveServices()
	if len(active) == 0 {
		return
	}
	budget := defaultKillDelay
	p := plans.Plan()
	for _, name := range active {
		if s := p.Services[name]; s != nil {
			if kd := s.EffectiveKillDelay(); kd > budget {
				budget = kd
			}
		}
	}
	budget += killFailDelay + 100*time.Millisecond
	log.Noticef("Stopping all running services.")
	id, err := o.StopAll()
	if err != nil || id == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	if _, err := o.WaitChange(ctx, id); err != nil {
		log.Noticef("Cannot stop running services: timeout stopping running services")
	}
}

// checkDir checks $PEBBLE as `pebble run` requires it (cli.md §4).
func checkDir(dir string, create bool) error {
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("directory %q must be absolute", dir)
	}
	if create {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("cannot create directory %q: %w", dir, err)
		}
	}
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

// bootID is the kernel's boot ID, or a fresh random UUID when the daemon is
// PID 1 (a container shares the host's boot ID).
func bootID() string {
	if os.Getpid() != 1 {
		if data, err := os.ReadFile("/proc/sys/kernel/random/boot_id"); err == nil {
			return strings.TrimSpace(string(data))
		}
	}
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
