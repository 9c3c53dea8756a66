//go:build !pprof

package main

// startProfiles records nothing in a normal build (see profile.go).
func startProfiles() (stop func()) { return func() {} }
