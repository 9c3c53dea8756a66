package execs

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// openPTY opens a new pseudo-terminal pair. The master is non-blocking and
// registered with Go's poller, so closing it interrupts a pending Read or
// Write; the slave is for the child. When uid is set the slave is chowned
// to uid:gid, so the command owns its terminal.
func openPTY(uid, gid *uint32) (master, slave *os.File, err error) {
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot open pseudo-terminal: %w", err)
	}
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(mfd)
		return nil, nil, fmt.Errorf("cannot unlock pseudo-terminal: %w", err)
	}
	n, err := unix.IoctlGetUint32(mfd, unix.TIOCGPTN)
	if err != nil {
		unix.Close(mfd)
		return nil, nil, fmt.Errorf("cannot get pseudo-terminal number: %w", err)
	}
	name := "/dev/pts/" + strconv.FormatUint(uint64(n), 10)
	sfd, err := unix.Open(name, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(mfd)
		return nil, nil, fmt.Errorf("cannot open pseudo-terminal %s: %w", name, err)
	}
	if uid != nil {
		if err := unix.Fchown(sfd, int(*uid), int(*gid)); err != nil {
			unix.Close(mfd)
			unix.Close(sfd)
			return nil, nil, fmt.Errorf("cannot change owner of %s: %w", name, err)
		}
	}
	return os.NewFile(uintptr(mfd), "/dev/ptmx"), os.NewFile(uintptr(sfd), name), nil
}

// setSize sets the window size of the terminal whose master is f. It does
// not call f.Fd, which would put the master back into blocking mode.
func setSize(f *os.File, width, height int) error {
	if width <= 0 || height <= 0 || width > 0xffff || height > 0xffff {
		return fmt.Errorf("invalid terminal size %dx%d", width, height)
	}
	raw, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ioctlErr error
	err = raw.Control(func(fd uintptr) {
		ioctlErr = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Row: uint16(height), Col: uint16(width)})
	})
	if err != nil {
		return err
	}
	return ioctlErr
}
