// Package version holds the version of this build, reported by
// /v1/system-info and `pebble version`.
package version

// Version is wire-compatible with Pebble v1.32.1; the build metadata marks
// this implementation while comparing equal to v1.32.1 for feature checks.
var Version = "v1.32.1+1"
