// Package system is the composition root of the daemon: it builds the state
// file, plan, service manager, changes and HTTP API, connects them, and owns
// their start and stop order. It holds no behaviour beyond that wiring and
// the daemon's lifetime (signals, shutdown requests, exit code).
//
// Run has three phases: build (parts.go) takes the directory's lock, opens
// every part and registers how to close it; start applies --args and
// --identities, serves the API and starts the default services; after a stop
// condition, the active services are stopped and close undoes build in
// reverse order. A build or start that fails goes through the same close.
package system

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/pebble-project/pebble/internal/handover"
	"github.com/pebble-project/pebble/internal/logger"
	"github.com/pebble-project/pebble/internal/plan"
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
	// Debug enables DEBUG log lines (PEBBLE_DEBUG=1).
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
	// NoSignals leaves SIGINT, SIGTERM, SIGQUIT and SIGHUP to the caller,
	// which stops the daemon through ctx (pebble enter exec forwards them
	// to the command instead).
	NoSignals bool
	// ExecArgs is the command line (os.Args) an upgrade executes again
	// from the new binary (docs/upgrade.md); nil refuses upgrades.
	ExecArgs []string
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

// Run runs the daemon until SIGINT, SIGTERM or SIGQUIT arrives, ctx ends, or
// a service action shuts it down. SIGHUP is logged and ignored. It returns
// the exit code of cli.md §4.1, or an error (exit code 1) when the daemon
// cannot start.
func Run(ctx context.Context, opts Options) (int, error) {
	if opts.Stderr == nil {
		opts.Stderr = io.Discard
	}
	if opts.Stdout == nil {
		opts.Stdout = io.Discard
	}
	log := logger.New(opts.Stderr, opts.Debug)

	// Signals are caught first, so one that arrives during start-up still
	// leads to an orderly stop (or, for SIGHUP, to nothing).
	sigs := make(chan os.Signal, 4)
	if !opts.NoSignals {
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGHUP)
		defer signal.Stop(sigs)
	}

	// A daemon started by an upgrade reads what its predecessor handed
	// over before anything else, and removes $PEBBLE_HANDOVER.
	doc, err := handover.FromEnv(handover.EnvFD)
	if err != nil {
		return exitError, err
	}
	p, err := build(ctx, opts, log, doc)
	if err != nil {
		return exitError, err
	}
	defer p.close()
	if err := p.start(ctx); err != nil {
		// A client may have started a service since the API began serving.
		p.stopServices()
		return exitError, err
	}
	code := p.wait(ctx, sigs)
	p.stopServices()
	return code, nil
}

// start serves the API and starts what runs from the beginning, in the order
// of cli.md §4: --args, serving, --identities, then the autostart change in
// the background (Options.Ready is called when it is done).
func (p *parts) start(ctx context.Context) error {
	p.log.SecurityEvent("WARN", fmt.Sprintf("sys_startup:%d", os.Getuid()), "Starting daemon")
	p.log.Noticef("Started daemon.")
	// A plan handed over has the --args layer already.
	if len(p.opts.ServiceArgs) > 0 && !p.planTaken {
		l, err := plan.ServiceArgsLayer(p.plans.Plan(), p.opts.ServiceArgs)
		if err == nil {
			err = p.plans.AppendLayer(l)
		}
		if err != nil {
			return err
		}
	}
	p.api.Serve()
	if p.handover != nil {
		p.tookOver()
	}
	if p.opts.IdentitiesFile != "" {
		if err := applyIdentitiesFile(p.identities, p.log.SecurityEvent, p.opts.IdentitiesFile); err != nil {
			return err
		}
	}
	runCtx, cancel := context.WithCancel(ctx)
	p.onClose("autostart", cancel)
	ready := p.opts.Ready
	if ready == nil {
		ready = func() {}
	}
	// A daemon that took over from an upgraded one has its services as
	// they were: nothing is started.
	if p.opts.Hold || p.handover != nil {
		ready()
		return nil
	}
	go func() {
		p.autostart(runCtx)
		ready()
	}()
	return nil
}

// wait blocks until a stop condition and returns the exit code. SIGHUP does
// not stop the daemon: a container's PID 1 must survive its terminal going
// away.
func (p *parts) wait(ctx context.Context, sigs <-chan os.Signal) int {
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				p.log.Noticef("Received %s signal; ignoring it.", sig)
				continue
			}
			p.log.Noticef("Exiting on %s signal.", sig)
			return exitOK
		case <-ctx.Done():
			p.log.Noticef("Exiting: %v.", context.Cause(ctx))
			return exitOK
		case code := <-p.shutdown:
			p.log.Noticef("Server exiting! Reason: <nil>")
			return code
		}
	}
}

// autostart starts the default services through the same verb the API uses.
func (p *parts) autostart(ctx context.Context) {
	id, err := p.ops.ServiceAction("autostart", nil)
	if err != nil {
		p.log.Noticef("Cannot start default services: %v", err)
		return
	}
	c, err := p.changes.Wait(ctx, id)
	if err != nil {
		return
	}
	if c.Err != "" {
		p.log.Noticef("Cannot start default services: %s", c.Err)
		return
	}
	p.log.Noticef("Started default services with change %s.", id)
}

// stopServices is the graceful part of shutdown (behaviour.md §11): no check
// acts on services any more, and every active service is stopped as one
// change, waited for at most the service manager's shutdown budget.
func (p *parts) stopServices() {
	p.log.SecurityEvent("WARN", fmt.Sprintf("sys_shutdown:%d", os.Getuid()), "Shutting down daemon")
	p.checks.Close()
	if len(p.services.ActiveServices()) == 0 {
		return
	}
	budget := p.services.ShutdownBudget()
	p.log.Noticef("Stopping all running services.")
	id, err := p.ops.StopAll()
	if err != nil || id == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	start := time.Now()
	_, err = p.changes.Wait(ctx, id)
	if err == nil {
		err = p.services.AwaitStopping(ctx)
	}
	if err != nil {
		p.log.Noticef("Cannot stop running services: timeout stopping running services")
		return
	}
	p.log.Debugf("Stopped all running services in %v (budget %v).", time.Since(start).Round(time.Millisecond), budget)
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
