// Package version holds the version of this build, reported by
// /v1/system-info and `pebble version`.
package version

// pebbleRelease is the Pebble release this implementation is wire-compatible
// with; clients compare versions against it for feature checks.
const pebbleRelease = "v1.32.1"

// build is this build's identity, semver build metadata: `make build` sets
// it at link time to the source revision (git describe); other builds keep
// "1".
var build = "1"

// Version is pebbleRelease with build as its build metadata, such as
// "v1.32.1+1c30215": it compares equal to v1.32.1 for feature checks and
// still names the build.
var Version = pebbleRelease + "+" + build
