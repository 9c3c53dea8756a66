//go:build !race

package tests

// raceEnabled is true when the tests run with -race; the daemon is then
// built with -race too.
const raceEnabled = false
