package osutil

import (
	"io/fs"
	"syscall"

	"golang.org/x/sys/unix"
)

// ReadKernelFile reads a file the kernel generates (/proc, cgroupfs) with
// plain system calls. os.ReadFile also registers the descriptor with the
// runtime's poller and asks for the file's size, which for these small
// files costs more than the read: GET /v1/services?stats=true reads
// several per process. Errors are *fs.PathError, so errors.Is(err,
// fs.ErrNotExist) holds for a file or process that does not exist.
func ReadKernelFile(path string) ([]byte, error) {
	fd, err := openRetry(path, unix.O_RDONLY)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	buf := make([]byte, 0, 1024)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		case n == 0:
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
}

// CountDirEntries returns how many entries a kernel directory such as
// /proc/<pid>/fd has, "." and ".." left out, with plain system calls (see
// ReadKernelFile).
func CountDirEntries(path string) (int, error) {
	fd, err := openRetry(path, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return 0, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	var buf [4096]byte
	var names []string
	count := 0
	for {
		n, err := unix.Getdents(fd, buf[:])
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, &fs.PathError{Op: "readdirent", Path: path, Err: err}
		case n == 0:
			return count, nil
		}
		_, _, names = syscall.ParseDirent(buf[:n], -1, names[:0])
		count += len(names)
	}
}

// openRetry opens path close-on-exec, again after EINTR.
func openRetry(path string, flags int) (int, error) {
	for {
		fd, err := unix.Open(path, flags|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}
