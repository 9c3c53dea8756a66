package osutil

import (
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// SignalByName returns the signal named by an uppercase, "SIG"-prefixed name
// such as "SIGHUP", and whether the name is known.
func SignalByName(name string) (syscall.Signal, bool) {
	if !strings.HasPrefix(name, "SIG") || strings.ToUpper(name) != name {
		return 0, false
	}
	sig := unix.SignalNum(name)
	return sig, sig != 0
}

// SignalName returns the "SIG"-prefixed name of sig, e.g. "SIGTERM", or a
// numeric form such as "signal 99" when the signal has no name.
func SignalName(sig syscall.Signal) string {
	if name := unix.SignalName(sig); name != "" {
		return name
	}
	return sig.String()
}
