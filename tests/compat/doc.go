// Package compat checks wire compatibility: it drives our daemon with
// Canonical Pebble's own Go client (github.com/canonical/pebble/client
// v1.32.1), which nobody on this project wrote. It is a separate module so
// that the root module never depends on Canonical's code.
package compat
