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
	accessOpen accessLevel = iota // also the level of "untrusted" identities
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

// caller is how a request arrived: derived from the connection, never
// trusted from the request itself.
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

// level is the access of a caller that no identity matched (api.md §5.3
// steps 4 and 5): over the socket, root and the daemon's own user are admin
// and everyone else read; over plain TCP a caller is untrusted.
func (c *caller) level() accessLevel {
	if c.transport != transportUnix || c.uid < 0 {
		return accessOpen
	}
	if c.uid == 0 || c.uid == os.Getuid() {
		return accessAdmin
	}
	return accessRead
}

// allowed reports whether a caller that no identity matched may use an
// endpoint that needs level need.
func (c *caller) allowed(need accessLevel) bool {
	return (&who{caller: c, level: c.level()}).allowed(need)
}

// who is the resolved caller of one request: its transport, the identity
// that matched (if any) and the access and UID that follow.
type who struct {
	*caller
	// name is the identity that matched; "" when none did.
	name string
	// access is the matched identity's access ("" when none matched).
	access string
	level  accessLevel
	// uid is the caller's UID for notices: set for local identities and
	// for socket callers without an identity; nil for basic identities and
	// TCP callers (api.md §5.3).
	uid *uint32
}

type whoKey struct{}

// whoFrom returns the resolved caller of a request that passed the access
// check.
func whoFrom(r *http.Request) *who {
	if w, ok := r.Context().Value(whoKey{}).(*who); ok {
		return w
	}
	cl := callerFrom(r.Context())
	return &who{caller: cl, level: cl.level()}
}

// resolve decides the caller's identity (api.md §5.3): HTTP basic
// credentials if present and valid, else the socket peer's local identity;
// with no identity, the socket's default level applies.
func (a *api) resolve(r *http.Request) *who {
	cl := callerFrom(r.Context())
	w := &who{caller: cl}
	if user, pass, ok := r.BasicAuth(); ok {
		if name, access, ok := a.ops.IdentityByBasic(user, pass); ok {
			w.name, w.access, w.level = name, access, levelOf(access)
			return w
		}
	}
	// Unlike Pebble, wrong basic credentials over the socket do not skip
	// the peer's local identity: otherwise a UID restricted by a local
	// identity (say "untrusted") would get the socket's default level just
	// by sending a bogus password.
	if cl.transport == transportUnix && cl.uid >= 0 {
		if name, access, ok := a.ops.IdentityByUID(uint32(cl.uid)); ok {
			uid := uint32(cl.uid)
			w.name, w.access, w.level, w.uid = name, access, levelOf(access), &uid
			return w
		}
	}
	w.level = cl.level()
	if cl.transport == transportUnix && cl.uid >= 0 {
		uid := uint32(cl.uid)
		w.uid = &uid
	}
	return w
}

// allowed applies the transport rules of api.md §5.3 on top of the level:
// read and admin endpoints only over the socket; over plain HTTP, metrics
// only for an identity whose access is exactly "metrics".
func (w *who) allowed(need accessLevel) bool {
	if need == accessOpen {
		return true
	}
	if w.transport != transportUnix {
		return need == accessMetrics && w.name != "" && w.access == "metrics"
	}
	return w.level >= need
}

// identified reports whether the caller is known by identity or UID, so a
// denial is a security event (api.md §5.3).
func (w *who) identified() bool {
	return w.name != "" || w.transport == transportUnix && w.uid != nil
}

// user names the caller in security events: the identity name, else the
// UID, else "<unknown>" (behaviour.md §12).
func (w *who) user() string {
	switch {
	case w.name != "":
		return w.name
	case w.uid != nil:
		return strconv.FormatUint(uint64(*w.uid), 10)
	}
	return "<unknown>"
}

// authorize resolves the caller of a request to an endpoint that needs
// level need, and returns the request carrying it, or a 401 response.
func (a *api) authorize(r *http.Request, need accessLevel) (*http.Request, response) {
	if need == accessOpen {
		return r, nil
	}
	w := a.resolve(r)
	if !w.allowed(need) {
		if w.identified() {
			a.securityEvent("CRITICAL", fmt.Sprintf("authz_fail:%s,%s", w.user(), r.URL.Path),
				fmt.Sprintf("User %s not authorized for %s %s", w.user(), r.Method, r.URL.Path))
		}
		return r, errorStatus(http.StatusUnauthorized, "", "access denied")
	}
	return r.WithContext(context.WithValue(r.Context(), whoKey{}, w)), nil
}
