package logs

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// pipeSize is the capacity asked of the kernel for a service's output
// pipe: room for the service to go on writing while the daemon's reader
// waits for the CPU. The kernel allocates its pages only as they fill.
const pipeSize = 1 << 20

// growPipe asks the kernel to make f, if it is a pipe that holds less,
// hold pipeSize bytes. A pipe that stays smaller only costs speed.
func growPipe(f *os.File) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		if size, err := unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0); err == nil && size < pipeSize {
			unix.FcntlInt(fd, unix.F_SETPIPE_SZ, pipeSize)
		}
	})
}

// readSize is the most a Pipe reads at once.
const readSize = 256 << 10

// smallReadSize is what a Pipe reads at once while its service writes
// little: a read that fills it makes the next read take readSize, and a
// large read that brings less than this goes back to small reads. The
// daemon's 100 quiet services then never make it allocate the large
// buffers, which would stay in its heap (and RSS) once freed.
const smallReadSize = 4 << 10

// readBufs and smallReadBufs hold the read buffers: a Pipe takes one only
// while the pipe has data, so an idle service holds none.
var (
	readBufs      = sync.Pool{New: func() any { b := make([]byte, readSize); return &b }}
	smallReadBufs = sync.Pool{New: func() any { b := make([]byte, smallReadSize); return &b }}
)

// readBufPool is the pool of the buffers of a read that is large or not.
func readBufPool(large bool) *sync.Pool {
	if large {
		return &readBufs
	}
	return &smallReadBufs
}

// Pipe is one run's output pipe and the goroutine that copies what the
// service writes into its Writer. With a Mirror, the goroutine reads only
// while the writer's lane has room, so a service whose output the daemon's
// stdout cannot take as fast as it comes waits in its own write(2), as it
// would writing to that stdout itself. Between reads a Pipe holds nothing
// but its read end: output not yet read stays in the kernel's pipe.
type Pipe struct {
	w    *Writer
	r    *os.File
	stop chan struct{} // closed by Finish: read what is left and stop
	done chan struct{} // closed when the goroutine is done
	once sync.Once
	// detached makes the goroutine stop without draining or closing the
	// pipe (Detach); eof is set when it stopped at the pipe's end.
	detached, eof atomic.Bool
}

// NewPipe makes the pipe for one run of the writer's service. Give child
// to the process as its stdout and stderr, close it once the process has
// started (or failed to), then call Start; or call Close if it never will.
func (w *Writer) NewPipe() (p *Pipe, child *os.File, err error) {
	r, child, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	growPipe(r)
	p = &Pipe{w: w, r: r, stop: make(chan struct{}), done: make(chan struct{})}
	return p, child, nil
}

// Start starts copying.
func (p *Pipe) Start() { go p.copy() }

// Close closes a pipe that was never started.
func (p *Pipe) Close() {
	p.r.Close()
	close(p.done)
}

// Finish waits until every writer of the pipe has closed it (the process
// exited, and so did any child it left holding its stdout) and all of the
// output is in the buffer, but at most wait: after that it reads what the
// pipe holds now, without waiting for the mirror, and stops.
func (p *Pipe) Finish(wait time.Duration) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-p.done:
		return
	case <-timer.C:
	}
	p.once.Do(func() { close(p.stop) })
	p.r.SetReadDeadline(time.Now()) // wakes a read that waits for data
	<-p.done
}

// copy is the goroutine: it reads until EOF, or until Finish stops it.
func (p *Pipe) copy() {
	defer close(p.done)
	defer func() {
		if !p.detached.Load() {
			p.r.Close()
		}
	}()
	rc, err := p.r.SyscallConn()
	if err != nil {
		return
	}
	large := false
	for {
		if p.w.lane != nil {
			p.w.lane.waitRoom(p.stop)
		}
		pool := readBufPool(large)
		var bufp *[]byte
		var data []byte
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			buf := pool.Get().(*[]byte)
			n, err := unix.Read(int(fd), *buf)
			switch {
			case err == unix.EAGAIN:
				pool.Put(buf) // hold no buffer while waiting
				return false
			case err == nil && n > 0:
				bufp, data = buf, (*buf)[:n]
			default:
				pool.Put(buf)
				rerr = err
			}
			return true
		})
		if data != nil {
			p.w.Write(data)
			pool.Put(bufp)
			large = len(data) == smallReadSize || large && len(data) >= smallReadSize
			continue
		}
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			if !p.detached.Load() {
				p.drain(rc)
			}
			return
		case err == nil && rerr == unix.EINTR:
			continue
		default:
			p.eof.Store(true)
			return // EOF, or the pipe failed
		}
	}
}

// drain reads what the pipe holds now, without waiting for more.
func (p *Pipe) drain(rc interface{ Control(func(uintptr)) error }) {
	buf := readBufs.Get().(*[]byte)
	defer readBufs.Put(buf)
	rc.Control(func(fd uintptr) {
		for {
			n, err := unix.Read(int(fd), *buf)
			if n <= 0 || err != nil {
				return
			}
			p.w.Write((*buf)[:n])
		}
	})
}
