package system

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pebble-project/pebble/internal/daemon"
)

// lockFileName is the file in $PEBBLE whose flock marks the directory as
// taken by a running daemon: one daemon per directory.
const lockFileName = ".pebble.lock"

// socketProbeTimeout bounds the connection attempt that tells whether the
// daemon holding a directory's lock answers on the socket.
const socketProbeTimeout = time.Second

// dirLock is the exclusive lock of one $PEBBLE, held for the daemon's whole
// life. The kernel releases it when the daemon exits, however it exits.
type dirLock struct {
	f *os.File
}

// lockDir takes the exclusive lock of dir without waiting. When another
// daemon holds it, the error is Pebble's for a socket already in use if that
// daemon answers on socket, and one naming the directory otherwise. Failing
// changes nothing: the lock file already exists when someone holds it.
func lockDir(dir, socket string) (*dirLock, error) {
	path := filepath.Join(dir, lockFileName)
	// os.OpenFile sets O_CLOEXEC: services never inherit the lock.
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open lock file: %w", err)
	}
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if err == nil {
		return &dirLock{f: f}, nil
	}
	f.Close()
	if errors.Is(err, unix.EWOULDBLOCK) {
		return nil, inUseError(dir, socket)
	}
	return nil, fmt.Errorf("cannot lock directory %q: %w", dir, err)
}

// inUseError describes a directory whose lock another daemon holds.
func inUseError(dir, socket string) error {
	if conn, err := net.DialTimeout("unix", socket, socketProbeTimeout); err == nil {
		conn.Close()
		return daemon.SocketInUse(socket)
	}
	return fmt.Errorf("cannot lock directory %q: another daemon is running on it", dir)
}

// release gives the lock up. The lock file stays: removing it would let a
// daemon that opened it before the removal lock a file nobody else sees.
func (l *dirLock) release() {
	l.f.Close()
}
