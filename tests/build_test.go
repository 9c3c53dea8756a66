package tests

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// repoRoot is the repository's top directory (the tests run in tests/).
const repoRoot = ".."

// TestMakeBuildStaticAndStamped: `make build` makes a static binary (no
// program interpreter, no shared libraries) whose version carries the
// source revision as build metadata.
func TestMakeBuildStaticAndStamped(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("skipping: make not found")
	}
	bin := filepath.Join(t.TempDir(), "pebble")
	out, err := exec.Command("make", "-C", repoRoot, "build", "BIN="+bin).CombinedOutput()
	require.NoError(t, err, "make build: %s", out)

	f, err := elf.Open(bin)
	require.NoError(t, err)
	defer f.Close()
	for _, p := range f.Progs {
		assert.NotEqual(t, elf.PT_INTERP, p.Type, "the binary names a program interpreter: it is dynamically linked")
	}
	libs, err := f.ImportedLibraries()
	require.NoError(t, err)
	assert.Empty(t, libs, "shared libraries the binary needs")

	version, err := exec.Command(bin, "--version").Output()
	require.NoError(t, err)
	want := "v1.32.1+1"
	if described, err := exec.Command("git", "-C", repoRoot, "describe", "--tags", "--always", "--dirty").Output(); err == nil {
		want = "v1.32.1+" + regexp.MustCompile(`[^0-9A-Za-z.-]`).ReplaceAllString(strings.TrimSpace(string(described)), "-")
	}
	assert.Equal(t, want+"\n", string(version))
	assert.Regexp(t, `^v1\.32\.1\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*\n$`, string(version), "not semver build metadata")
}

// TestMakeBuildOutsideGit: without git history the build keeps the default
// version instead of failing or stamping an empty one.
func TestMakeBuildOutsideGit(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("skipping: make not found")
	}
	dir := t.TempDir()
	makefile, err := os.ReadFile(filepath.Join(repoRoot, "Makefile"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Makefile"), makefile, 0o644))
	cmd := exec.Command("make", "-n", "build")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CEILING_DIRECTORIES="+filepath.Dir(dir))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "make -n build: %s", out)
	assert.Contains(t, string(out), "CGO_ENABLED=0 ")
	assert.NotContains(t, string(out), "version.build")
}
