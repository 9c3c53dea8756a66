package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/pebble-project/pebble/internal/handover"
)

// Upgrader starts an in-place upgrade of the daemon (docs/upgrade.md);
// internal/system satisfies it.
type Upgrader interface {
	// Upgrade starts the change that re-executes the daemon from binary
	// ("" for its own executable) and returns its ID.
	Upgrade(binary string) (changeID string, err error)
}

// errUpgrading is the cause of a long-poll's context while the daemon
// hands over to a new binary.
var errUpgrading = errors.New("daemon is upgrading")

// handoverPart is the name of the daemon's part of a hand-over.
const handoverPart = "daemon"

// listenersPart is the daemon's part of a hand-over: the descriptors of its
// listeners, in the order of Listen (the socket, then --http).
type listenersPart struct {
	Listeners []passedListener `json:"listeners"`
}

type passedListener struct {
	FD      int    `json:"fd"`
	Network string `json:"network"`
	Address string `json:"address"`
}

// Quiesce stops serving without closing the listeners: new connections wait
// in the kernel's backlog for whoever serves next. Long-polls answer as for
// a stop (a change wait with a 503 "daemon is upgrading" error to retry),
// keep-alives end, and requests in flight get the shutdown grace to be
// answered; connections still open after it are counted in the daemon log
// and cut at the exec. Resume undoes it.
func (d *Daemon) Quiesce() error {
	held := make([]*os.File, 0, len(d.listeners))
	for _, l := range d.listeners {
		f, err := l.(interface{ File() (*os.File, error) }).File()
		if err != nil {
			for _, f := range held {
				f.Close()
			}
			return fmt.Errorf("cannot keep listener %q: %w", l.Addr(), err)
		}
		held = append(held, f)
	}
	d.held = held
	d.closeListeners()
	d.wg.Wait()
	d.server.SetKeepAlivesEnabled(false)
	d.api.setQuiet(true)
	d.awaitConns("Cannot answer every request before the upgrade: cutting %d connections.")
	return nil
}

// Resume serves again on the listeners Quiesce kept: the upgrade did not
// happen.
func (d *Daemon) Resume() error {
	listeners := make([]net.Listener, 0, len(d.held))
	for _, f := range d.held {
		l, err := net.FileListener(f)
		if err != nil {
			return fmt.Errorf("cannot serve again on %q: %w", f.Name(), err)
		}
		f.Close()
		listeners = append(listeners, l)
	}
	d.held = nil
	d.listeners = listeners
	d.api.setQuiet(false)
	d.server.SetKeepAlivesEnabled(true)
	d.Serve()
	return nil
}

// Handover passes the listeners kept by Quiesce to doc.
func (d *Daemon) Handover(doc *handover.Document) error {
	var part listenersPart
	for i, f := range d.held {
		fd, err := doc.Pass(f)
		if err != nil {
			return err
		}
		network, addr := "unix", d.opts.SocketPath
		if i > 0 {
			network, addr = "tcp", d.opts.HTTPAddress
		}
		part.Listeners = append(part.Listeners, passedListener{FD: fd, Network: network, Address: addr})
	}
	return doc.Put(handoverPart, part)
}

// PreviewHandover puts the daemon's part into doc as Handover would, with
// no descriptor passed (each is -1): the document of the new binary's
// check run.
func (d *Daemon) PreviewHandover(doc *handover.Document) error {
	var part listenersPart
	for i := range d.listeners {
		network, addr := "unix", d.opts.SocketPath
		if i > 0 {
			network, addr = "tcp", d.opts.HTTPAddress
		}
		part.Listeners = append(part.Listeners, passedListener{FD: -1, Network: network, Address: addr})
	}
	return doc.Put(handoverPart, part)
}

// CheckHandover reads the daemon's part of doc as Adopt would, without
// taking anything.
func CheckHandover(doc *handover.Document) error {
	_, err := readListeners(doc)
	return err
}

// readListeners returns the daemon's part of doc, checked; nil when it has
// none.
func readListeners(doc *handover.Document) (*listenersPart, error) {
	var part listenersPart
	found, err := doc.Get(handoverPart, &part)
	if err != nil || !found {
		return nil, err
	}
	for _, p := range part.Listeners {
		if p.Network != "unix" && p.Network != "tcp" {
			return nil, fmt.Errorf("cannot adopt listener %q: unknown network %q", p.Address, p.Network)
		}
	}
	return &part, nil
}

// Adopt takes the listeners handed over in doc instead of opening new ones
// (Listen). It reports false when doc has none.
func (d *Daemon) Adopt(doc *handover.Document) (bool, error) {
	part, err := readListeners(doc)
	if err != nil || part == nil {
		return false, err
	}
	for _, p := range part.Listeners {
		f, err := doc.Take(p.FD, p.Network+":"+p.Address)
		if err != nil {
			d.closeListeners()
			return false, err
		}
		l, err := net.FileListener(f)
		f.Close()
		if err != nil {
			d.closeListeners()
			return false, fmt.Errorf("cannot adopt listener %q: %w", p.Address, err)
		}
		if ul, ok := l.(*net.UnixListener); ok {
			ul.SetUnlinkOnClose(false)
		}
		d.listeners = append(d.listeners, l)
	}
	return true, nil
}

// awaitConns waits, at most the shutdown grace, until no connection is
// open, and logs how many it gave up on with message.
func (d *Daemon) awaitConns(message string) {
	grace := time.NewTimer(d.opts.ShutdownGrace)
	defer grace.Stop()
	// A connection that went idle just as keep-alives ended stays open:
	// it is closed on the next tick.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-d.conns.allClosed():
			return
		case <-tick.C:
			d.server.SetKeepAlivesEnabled(false)
		case <-grace.C:
			d.opts.Logf(message, d.conns.count())
			return
		}
	}
}

// setQuiet starts (true) or ends a quiet period: while it lasts, long-polls
// end with the cause errUpgrading.
func (a *api) setQuiet(on bool) {
	a.quietMu.Lock()
	defer a.quietMu.Unlock()
	if on {
		a.endQuiet()
		return
	}
	a.quieted, a.endQuiet = context.WithCancel(context.Background())
}

// quietCtx returns a context that ends when the current quiet period
// begins (or has already begun).
func (a *api) quietCtx() context.Context {
	a.quietMu.Lock()
	defer a.quietMu.Unlock()
	return a.quieted
}

// postDaemon serves POST /v1/daemon: {"action": "upgrade", "binary": path}.
func (a *api) postDaemon(r *http.Request, cl *caller) response {
	var req struct {
		Action string `json:"action"`
		Binary string `json:"binary"`
	}
	if resp := decodeJSON(r, decodeDataBody, &req); resp != nil {
		return resp
	}
	switch req.Action {
	case "upgrade":
	case "":
		return badRequest("daemon action must be given")
	default:
		return badRequest("invalid daemon action %q", req.Action)
	}
	if a.upgrader == nil {
		return errorStatus(http.StatusNotImplemented, "", "cannot upgrade: this daemon was not started by \"pebble run\"")
	}
	id, err := a.upgrader.Upgrade(req.Binary)
	if err != nil {
		return errorResponse(err)
	}
	return asyncResponse(id, nil)
}
