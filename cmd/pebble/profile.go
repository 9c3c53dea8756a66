//go:build pprof

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
)

// startProfiles, in a binary built with -tags pprof and run with
// PEBBLE_PROFILE_DIR set, records a CPU profile for the process's whole life
// and samples every blocking event and mutex contention; the returned
// function writes cpu.pprof, heap.pprof, block.pprof and mutex.pprof into
// that directory. bench/sidebyside -profile uses it.
func startProfiles() (stop func()) {
	dir := os.Getenv("PEBBLE_PROFILE_DIR")
	if dir == "" {
		return func() {}
	}
	cpu, err := os.Create(filepath.Join(dir, fmt.Sprintf("cpu-%d.pprof", os.Getpid())))
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot create the CPU profile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		fmt.Fprintln(os.Stderr, "cannot start the CPU profile:", err)
	}
	runtime.SetBlockProfileRate(1)
	runtime.SetMutexProfileFraction(1)
	return func() {
		pprof.StopCPUProfile()
		cpu.Close()
		runtime.GC()
		for _, name := range []string{"heap", "block", "mutex"} {
			f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%d.pprof", name, os.Getpid())))
			if err == nil {
				err = pprof.Lookup(name).WriteTo(f, 0)
				f.Close()
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "cannot write the %s profile: %v\n", name, err)
			}
		}
	}
}
