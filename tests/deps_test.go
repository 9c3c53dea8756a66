package tests

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/pebble-project/pebble"

// deps lists the packages pkg imports: directly, or also indirectly.
func deps(t *testing.T, pkg string, direct bool) []string {
	t.Helper()
	args := []string{"list", "-deps", module + "/" + pkg}
	if direct {
		args = []string{"list", "-f", "{{join .Imports \" \"}}", module + "/" + pkg}
	}
	out, err := exec.Command("go", args...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	return strings.Fields(string(out))
}

// TestImportDirection keeps the package layout's import rules (see
// README.md): the plan is pure, the client stands alone, the API layer
// never reaches processes, and supervision knows nothing of HTTP. The
// daemon reaches the owners through narrow interfaces, never through ops'
// types; ops keeps only verbs that span several owners; each owner keeps
// its own rules (changes knows no check, the logs stream knows no service).
func TestImportDirection(t *testing.T) {
	// Exceptions to the rules below: pure packages a pure one may use.
	// osutil is a leaf (it imports nothing of ours): cgroup reads its
	// kernel files with it.
	allowedDeps := map[string][]string{
		"internal/plan":   {module + "/internal/schedule"},
		"internal/cgroup": {module + "/internal/osutil"},
	}
	tests := []struct {
		pkg       string
		direct    bool // only direct imports are checked
		forbidden []string
	}{
		{"internal/plan", false, []string{"os/exec", "net/http", "net", module + "/internal/"}},
		{"internal/schedule", false, []string{"os/exec", "net/http", "net", module + "/internal/"}},
		{"internal/scheduler", false, []string{"net/http", "os/exec", module + "/internal/servstate", module + "/internal/daemon", module + "/internal/ops", module + "/internal/changes"}},
		{"internal/plan/cmdline", false, []string{"os", "os/exec", "net/http", "net", module + "/internal/"}},
		{"internal/plan/planyaml", true, []string{"os", "os/exec", "net/http", "net", module + "/internal/planstate"}},
		{"client", false, []string{module + "/internal/"}},
		{"internal/daemon", true, []string{module + "/internal/reaper", module + "/internal/system", module + "/internal/ops", "os/exec"}},
		{"internal/daemon", false, []string{module + "/internal/ops", module + "/internal/system", module + "/internal/planstate"}},
		{"internal/apierr", false, []string{"net/http", module + "/internal/"}},
		{"internal/servstate", false, []string{"net/http", module + "/internal/daemon", module + "/internal/changes", module + "/internal/ops"}},
		{"internal/changes", false, []string{module + "/internal/servstate", module + "/internal/daemon", module + "/internal/plan",
			module + "/internal/checks", module + "/internal/notices", module + "/internal/ops"}},
		{"internal/statefile", false, []string{module + "/internal/"}},
		{"internal/reaper", false, []string{module + "/internal/servstate", module + "/internal/plan"}},
		{"internal/cgroup", false, []string{module + "/internal/"}},
		{"internal/osutil", false, []string{module + "/internal/"}},
		// ops speaks no HTTP itself; the exec sessions it drives use a
		// websocket library, which brings net/http in underneath.
		{"internal/ops", true, []string{"net/http"}},
		{"internal/ops", false, []string{module + "/internal/daemon"}},
		// The verbs that only forwarded to one owner went to the daemon.
		{"internal/ops", true, []string{module + "/internal/notices", module + "/internal/identities", module + "/internal/files", module + "/internal/logfwd", module + "/internal/statefile"}},
		{"internal/checks", false, []string{"net/http", "os/exec", module + "/internal/reaper", module + "/internal/servstate", module + "/internal/daemon", module + "/internal/ops", module + "/internal/notices"}},
		{"internal/logs", false, []string{"net", "net/http", "os/exec", module + "/internal/"}},
		{"internal/logfwd", false, []string{module + "/internal/servstate", module + "/internal/daemon", module + "/internal/ops", module + "/internal/planstate"}},
		{"internal/cli", true, []string{module + "/internal/servstate", module + "/internal/plan", module + "/internal/daemon"}},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			for _, dep := range deps(t, tt.pkg, tt.direct) {
				if dep == module+"/"+tt.pkg || strings.HasPrefix(dep, module+"/"+tt.pkg+"/") || slices.Contains(allowedDeps[tt.pkg], dep) {
					continue // the package itself, its own sub-packages and exceptions
				}
				for _, bad := range tt.forbidden {
					if dep == bad || (strings.HasSuffix(bad, "/") && strings.HasPrefix(dep, bad)) {
						assert.Fail(t, "forbidden import", "%s depends on %s", tt.pkg, dep)
					}
				}
			}
		})
	}
}
