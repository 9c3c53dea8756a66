// Package bench holds the project's benchmarks. They drive the built
// pebble binary and print figures together with a floor measured in the same
// run, so ratios stay meaningful on any machine. Run them with `make bench`.
package bench
