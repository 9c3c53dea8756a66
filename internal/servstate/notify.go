package servstate

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"maps"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/pebble-project/pebble/internal/cgroup"
	"github.com/pebble-project/pebble/internal/osutil"
	"github.com/pebble-project/pebble/internal/plan"
	"golang.org/x/sys/unix"
)

// The notify socket of readiness `notify: true` (docs/readiness.md): one
// datagram socket in the abstract namespace per run, named to the process
// in $NOTIFY_SOCKET, speaking systemd's sd_notify protocol. The kernel
// attaches each sender's credentials (SO_PASSCRED), and only datagrams from
// a process of the run are taken.

// maxStatusText bounds the STATUS= text kept for the API.
const maxStatusText = 256

// maxNotifyDatagram is the largest datagram read; longer ones are cut.
const maxNotifyDatagram = 4096

// notifySocket is the notify socket of one run.
type notifySocket struct {
	conn *net.UnixConn
	addr string // "@pebble-notify-<random>"
	// ended is closed when the reader returns (readNotes).
	ended chan struct{}
}

// notifyNote is what one accepted datagram said.
type notifyNote struct {
	run       int
	ready     bool
	reloading bool
	stopping  bool
	status    *string // STATUS=, if given
}

// openNotify opens a fresh notify socket.
func openNotify() (*notifySocket, error) {
	var random [12]byte
	if _, err := rand.Read(random[:]); err != nil {
		return nil, err
	}
	addr := "@pebble-notify-" + hex.EncodeToString(random[:])
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return nil, errors.New("cannot open notify socket: " + err.Error())
	}
	raw, err := conn.SyscallConn()
	if err == nil {
		ctlErr := raw.Control(func(fd uintptr) {
			err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
		})
		if ctlErr != nil {
			err = ctlErr
		}
	}
	if err != nil {
		conn.Close()
		return nil, errors.New("cannot open notify socket: " + err.Error())
	}
	return &notifySocket{conn: conn, addr: addr}, nil
}

// close closes the socket; its reader then ends. A nil socket is fine.
func (ns *notifySocket) close() {
	if ns != nil {
		ns.conn.Close()
	}
}

// command is buildCommand with env on top of the plan's environment and
// NOTIFY_SOCKET added when ns is not nil.
func (ns *notifySocket) command(svc *plan.Service, workload *plan.Workload, env map[string]string, out *os.File) (*exec.Cmd, error) {
	cmd, err := buildCommand(svc, workload, out)
	if err == nil {
		for _, k := range slices.Sorted(maps.Keys(env)) {
			cmd.Env = append(cmd.Env, k+"="+env[k]) // os/exec keeps the last of duplicates
		}
	}
	if err == nil && ns != nil {
		cmd.Env = append(cmd.Env, "NOTIFY_SOCKET="+ns.addr)
	}
	return cmd, err
}

// readNotes starts the reader of the current run's notify socket.
func (s *service) readNotes() {
	s.notify.ended = make(chan struct{})
	s.m.wg.Add(1)
	go s.readNotify(s.notify, s.run, s.tree)
}

// detachNotify stops the reader of the notify socket, applying what it
// read meanwhile, and leaves the socket open: a datagram sent from now on
// waits in it (handover.go).
func (s *service) detachNotify() {
	s.notify.conn.SetReadDeadline(time.Now())
	for {
		select {
		case n := <-s.notes:
			if n.run == s.run {
				s.notified(n)
			}
		case <-s.notify.ended:
			return
		}
	}
}

// readNotify reads the datagrams of run's socket until it is closed (or
// its read deadline passes, see detachNotify) and hands those from the
// run's processes to the service's goroutine.
func (s *service) readNotify(ns *notifySocket, run int, tree *procTree) {
	defer s.m.wg.Done()
	defer close(ns.ended)
	buf := make([]byte, maxNotifyDatagram)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
	warned := false
	for {
		n, oobn, _, _, err := ns.conn.ReadMsgUnix(buf, oob)
		if err != nil {
			return // closed
		}
		pid := senderPID(oob[:oobn])
		if !tree.contains(pid) {
			if !warned {
				s.m.logf("Cannot accept notify message for service %q from PID %d: not one of its processes", s.name, pid)
				warned = true
			}
			continue
		}
		note := parseNotify(buf[:n])
		note.run = run
		select {
		case s.notes <- note:
		case <-s.m.done:
			return
		case <-s.gone:
			return
		}
	}
}

// senderPID returns the PID of a datagram's SCM_CREDENTIALS, or 0.
func senderPID(oob []byte) int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0
	}
	for _, m := range msgs {
		if cred, err := unix.ParseUnixCredentials(&m); err == nil {
			return int(cred.Pid)
		}
	}
	return 0
}

// parseNotify reads the KEY=VALUE lines of a datagram.
func parseNotify(data []byte) notifyNote {
	var n notifyNote
	for line := range strings.SplitSeq(string(data), "\n") {
		key, value, _ := strings.Cut(line, "=")
		switch key {
		case "READY":
			n.ready = value == "1"
		case "RELOADING":
			n.reloading = value == "1"
		case "STOPPING":
			n.stopping = value == "1"
		case "STATUS":
			if len(value) > maxStatusText {
				value = value[:maxStatusText]
			}
			n.status = &value
		}
	}
	return n
}

// contains reports whether pid is a live process of the tree: in its
// cgroup, or else the main process, in its process group or below it.
func (t *procTree) contains(pid int) bool {
	if pid <= 0 {
		return false
	}
	if t.cgroup != "" {
		return slices.Contains(cgroup.Procs(t.cgroup), pid)
	}
	for range 64 { // up the parents, within reason
		st, err := osutil.ReadProcStat(pid)
		if err != nil {
			return false
		}
		if st.PID == t.leader || st.PGID == t.leader {
			return true
		}
		if st.PPID <= 1 {
			return false
		}
		pid = st.PPID
	}
	return false
}

// closeNotify closes the current run's notify socket, if any.
func (s *service) closeNotify() {
	s.notify.close()
	s.notify = nil
}

// notified applies a datagram of the current run.
func (s *service) notified(n notifyNote) {
	switch {
	case n.reloading:
		s.phase = "reloading"
	case n.stopping:
		s.phase = "stopping"
	}
	if n.status != nil {
		s.mu.Lock()
		s.life.statusText = *n.status
		s.mu.Unlock()
	}
	if n.ready {
		s.phase = ""
		s.handle(event{kind: evReady, source: readyNotify})
		return
	}
	s.publishLifecycle(s.config())
}
