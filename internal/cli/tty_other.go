//go:build !linux

package cli

// isTerminal reports whether w is a terminal; always false on this system.
func isTerminal(w any) bool { return false }

// terminalWidth returns 0: terminal width is unknown on this system.
func terminalWidth(w any) int { return 0 }
