//go:build !linux

package command

// IsTerminal reports whether w is a terminal; always false on this system.
func IsTerminal(w any) bool { return false }

// terminalWidth returns 0: terminal width is unknown on this system.
func terminalWidth(w any) int { return 0 }
