package daemon

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// accessLevel is what an endpoint requires and what a caller holds (api.md §5.1).
type accessLevel int

const (
	// accessUndeclared is the zero level: a route method that leaves out
	// its access. newRouter refuses it, and it lets no caller through.
	accessUndeclared accessLevel = iota
	accessOpen                   // also the level of "untrusted" identities
	accessMetrics
	accessRead
	accessAdmin
)

// levelOf maps an identity's access to a level; unknown values get nothing.
func levelOf(access string) accessLevel {
	switch access {
	case "admin":
		return accessAdmin
	case "read":
		return accessRead
	case "metrics":
		return accessMetrics
	}
	return accessOpen
}

// transport says how a request arrived.
type transport string

const (
	transportUnix transport = "http+unix"
	transportHTTP transport = "http"
)

// caller is who made a request. How it arrived (transport, remote address,
// the socket peer's UID) is read from the connection once, when it is
// accepted, never trusted from the request itself. On an endpoint that
// needs access, authorize resolves the rest: the identity that matched and
// the access and UID that follow (api.md §5.3).
type caller struct {
	transport transport
	// remote is the TCP peer's address; "" over the socket.
	remote string
	// peerUID is the socket peer's UID (SO_PEERCRED); nil over TCP or
	// when the kernel did not say.
	peerUID *uint32

	// identity is the identity that matched; "" when none did.
	identity string
	// access is the matched identity's access; "" when none matched.
	access string
	level  accessLevel
	// uid is the caller's UID for notices and security events: set for
	// local identities and for socket callers without an identity; nil for
	// basic identities and TCP callers.
	uid *uint32
}

type callerKey struct{}

// connContext records the transport and peer credentials of each accepted
// connection; SO_PEERCRED is read once, at accept time.
func connContext(ctx context.Context, c net.Conn) context.Context {
	cl := &caller{transport: transportHTTP, remote: c.RemoteAddr().String()}
	if uc, ok := c.(*net.UnixConn); ok {
		cl.transport = transportUnix
		cl.remote = ""
		if raw, err := uc.SyscallConn(); err == nil {
			raw.Control(func(fd uintptr) {
				cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
				if err == nil {
					cl.peerUID = &cred.Uid
				}
			})
		}
	}
	return context.WithValue(ctx, callerKey{}, cl)
}

// connectionCaller returns the caller of a request as its connection
// tells, before authorize resolves its identity.
func connectionCaller(r *http.Request) *caller {
	if cl, ok := r.Context().Value(callerKey{}).(*caller); ok {
		return cl
	}
	return &caller{transport: transportHTTP}
}

// defaultLevel is the access of a caller that no identity matched
// (api.md §5.3 steps 4 and 5): over the socket, root and the daemon's own
// user are admin and everyone else read; over plain TCP a caller is
// untrusted.
func (c *caller) defaultLevel() accessLevel {
	if c.transport != transportUnix || c.peerUID == nil {
		return accessOpen
	}
	if *c.peerUID == 0 || int(*c.peerUID) == os.Getuid() {
		return accessAdmin
	}
	return accessRead
}

// resolve decides the caller's identity (api.md §5.3): HTTP basic
// credentials if present and valid, else the socket peer's local identity;
// with no identity, the socket's default level applies. It returns a copy:
// the connection's caller is shared by its requests.
func (a *api) resolve(r *http.Request) *caller {
	cl := *connectionCaller(r)
	if user, pass, ok := r.BasicAuth(); ok {
		if name, access, ok := a.identities.ByBasic(user, pass); ok {
			cl.identity, cl.access, cl.level = name, string(access), levelOf(string(access))
			return &cl
		}
	}
	// Unlike Pebble, wrong basic credentials over the socket do not skip
	// the peer's local identity: otherwise a UID restricted by a local
	// identity (say "untrusted") would get the socket's default level just
	// by sending a bogus password.
	if cl.transport == transportUnix && cl.peerUID != nil {
		cl.uid = cl.peerUID
		if name, access, ok := a.identities.ByUID(*cl.peerUID); ok {
			cl.identity, cl.access, cl.level = name, string(access), levelOf(string(access))
			return &cl
		}
	}
	cl.level = cl.defaultLevel()
	return &cl
}

// allowed applies the transport rules of api.md §5.3 on top of the level:
// read and admin endpoints only over the socket; over plain HTTP, metrics
// only for an identity whose access is exactly "metrics".
func (c *caller) allowed(need accessLevel) bool {
	if need == accessUndeclared {
		return false
	}
	if need == accessOpen {
		return true
	}
	if c.transport != transportUnix {
		return need == accessMetrics && c.identity != "" && c.access == "metrics"
	}
	return c.level >= need
}

// identified reports whether the caller is known by identity or UID, so a
// denial is a security event (api.md §5.3).
func (c *caller) identified() bool {
	return c.identity != "" || c.transport == transportUnix && c.uid != nil
}

// user names the caller in security events: the identity name, else the
// UID, else "<unknown>" (behaviour.md §12).
func (c *caller) user() string {
	switch {
	case c.identity != "":
		return c.identity
	case c.uid != nil:
		return strconv.FormatUint(uint64(*c.uid), 10)
	}
	return "<unknown>"
}

// authorize resolves the caller of a request to an endpoint that needs
// level need, or returns a 401 response. An open endpoint's caller is the
// connection's, unresolved. The caller goes to the handler as it is: the
// request is not copied to carry it.
func (a *api) authorize(r *http.Request, need accessLevel) (*caller, response) {
	if need == accessOpen {
		return connectionCaller(r), nil
	}
	cl := a.resolve(r)
	if !cl.allowed(need) {
		if cl.identified() {
			a.securityEvent("CRITICAL", fmt.Sprintf("authz_fail:%s,%s", cl.user(), r.URL.Path),
				fmt.Sprintf("User %s not authorized for %s %s", cl.user(), r.Method, r.URL.Path))
		}
		return nil, errorStatus(http.StatusUnauthorized, "", "access denied")
	}
	return cl, nil
}
