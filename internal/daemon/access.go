package daemon

import (
	"context"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// accessLevel is what an endpoint requires and what a caller holds (api.md §5.1).
type accessLevel int

const (
	accessOpen accessLevel = iota
	accessMetrics
	accessRead
	accessAdmin
)

// transport says how a request arrived.
type transport string

const (
	transportUnix transport = "http+unix"
	transportHTTP transport = "http"
)

// caller is who made a request: derived from the connection, never trusted
// from the request itself.
type caller struct {
	transport transport
	// uid is the peer's UID over the UNIX socket; -1 when unknown.
	uid    int
	remote string
}

type callerKey struct{}

// connContext records the transport and peer credentials of each accepted
// connection; SO_PEERCRED is read once, at accept time.
func connContext(ctx context.Context, c net.Conn) context.Context {
	cl := &caller{transport: transportHTTP, uid: -1, remote: c.RemoteAddr().String()}
	if uc, ok := c.(*net.UnixConn); ok {
		cl.transport = transportUnix
		cl.remote = ""
		if raw, err := uc.SyscallConn(); err == nil {
			raw.Control(func(fd uintptr) {
				cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
				if err == nil {
					cl.uid = int(cred.Uid)
				}
			})
		}
	}
	return context.WithValue(ctx, callerKey{}, cl)
}

func callerFrom(ctx context.Context) *caller {
	if cl, ok := ctx.Value(callerKey{}).(*caller); ok {
		return cl
	}
	return &caller{transport: transportHTTP, uid: -1}
}

// level decides the caller's access level (api.md §5.3, without identities:
// they arrive with the identities issue). Over the socket, root and the
// daemon's own user are admin and everyone else read; over plain TCP a caller
// is untrusted.
func (c *caller) level() accessLevel {
	if c.transport != transportUnix || c.uid < 0 {
		return accessOpen
	}
	if c.uid == 0 || c.uid == os.Getuid() {
		return accessAdmin
	}
	return accessRead
}

// allowed reports whether the caller may use an endpoint that needs level
// need. Read and admin endpoints are only ever served over the UNIX socket.
func (c *caller) allowed(need accessLevel) bool {
	if need == accessOpen {
		return true
	}
	if c.transport != transportUnix && need >= accessRead {
		return false
	}
	return c.level() >= need
}
