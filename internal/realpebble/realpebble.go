// Package realpebble builds Canonical's Pebble daemon from the Go module
// proxy, for the tests and benchmarks that run it next to ours. The module is
// downloaded outside any module, so it never becomes a dependency of our
// go.mod, and the binary is cached in the user's cache directory.
package realpebble

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Binary returns the path of Canonical's Pebble daemon at version (such as
// "v1.32.1"), building it once per machine. built reports whether it was
// built by this call rather than found in the cache.
func Binary(version string) (path string, built bool, err error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir() // no $HOME: cached for this boot only
	}
	dir := filepath.Join(cache, "pebble-project-tests", "canonical-pebble-"+version)
	bin := filepath.Join(dir, "pebble")
	if out, err := exec.Command(bin, "version", "--client").Output(); err == nil && strings.TrimSpace(string(out)) == version {
		return bin, false, nil
	}
	work, err := os.MkdirTemp("", "realpebble-")
	if err != nil {
		return "", false, fmt.Errorf("cannot build Pebble %s: %w", version, err)
	}
	defer os.RemoveAll(work)
	// Outside any module, so that nothing is added to ours.
	download := exec.Command("go", "mod", "download", "-json", "github.com/canonical/pebble@"+version)
	download.Dir = work
	download.Env = append(os.Environ(), "GOWORK=off")
	out, err := download.Output()
	if err != nil {
		return "", false, fmt.Errorf("cannot download Pebble %s from the module proxy: %s", version, stderrOf(err))
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil {
		return "", false, fmt.Errorf("cannot read the module directory of Pebble %s: %w", version, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", false, fmt.Errorf("cannot build Pebble %s: %w", version, err)
	}
	// Build into a temporary name and rename, so a concurrent run never
	// sees half a binary.
	tmp := fmt.Sprintf("%s.tmp-%d", bin, os.Getpid())
	build := exec.Command("go", "build", "-C", mod.Dir, "-o", tmp, "./cmd/pebble")
	build.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return "", false, fmt.Errorf("cannot build Pebble %s: %v: %s", version, err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		os.Remove(tmp)
		return "", false, fmt.Errorf("cannot build Pebble %s: %w", version, err)
	}
	return bin, true, nil
}

func stderrOf(err error) string {
	if exitErr, ok := err.(*exec.ExitError); ok {
		return string(exitErr.Stderr)
	}
	return err.Error()
}
