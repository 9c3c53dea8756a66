package tests

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/tabwriter"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/testutil"
)

// helloHash is the sha512-crypt hash of "Hello world!".
const helloHash = "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"

// TestIdentitiesCLI drives the identities commands and checks the security
// log.
func TestIdentitiesCLI(t *testing.T) {
	dir := newPebbleDir(t, nil)
	d := startDaemon(t, dir, daemonOptions{args: []string{"--hold"}})

	res := d.pebble("identities")
	assert.Equal(t, cliResult{stderr: "No identities.\n"}, cliResult{stdout: res.stdout, stderr: res.stderr})

	file := filepath.Join(dir, "ids.yaml")
	writeFile(t, file, `identities:
    bob:
        access: admin
        local:
            user-id: 42
    alice:
        access: metrics
        basic:
            password: "`+helloHash+`"
`)
	assert.Equal(t, "Added 2 new identities.\n", d.mustPebble("add-identities", "--from", file))
	assert.Equal(t, "Name   Access   Types\nalice  metrics  basic\nbob    admin    local\n", d.mustPebble("identities"))
	assert.Equal(t, "access: admin\nlocal:\n    user-id: 42\n", d.mustPebble("identity", "bob"))
	assert.Equal(t, "access: metrics\nbasic:\n    password: '*****'\n", d.mustPebble("identity", "alice"))
	assert.Equal(t, `{"identities":{"alice":{"access":"metrics","basic":{"password":"*****"}},"bob":{"access":"admin","local":{"user-id":42}}}}`+"\n",
		d.mustPebble("identities", "--format=json"))
	res = d.pebble("identity", "carol")
	assert.Equal(t, "error: cannot find identity \"carol\"\n", res.stderr)

	res = d.pebble("add-identities", "--from", file)
	assert.Equal(t, "error: identities already exist: alice, bob\n", res.stderr)
	res = d.pebble("add-identities")
	assert.Equal(t, "error: the required flag `--from' was not specified\n", res.stderr)
	writeFile(t, file, "bob:\n    access: admin\n")
	res = d.pebble("add-identities", "--from", file)
	assert.Equal(t, "error: no identities to add; did you forget the top-level \"identities\" key?\n", res.stderr)
	writeFile(t, file, "identities:\n    carol:\n        access: superuser\n        local:\n            user-id: 7\n")
	res = d.pebble("add-identities", "--from", file)
	assert.Equal(t, "error: invalid identity for \"carol\": invalid access value \"superuser\", must be\n       \"admin\", \"read\", \"metrics\", or \"untrusted\"\n", res.stderr)
	writeFile(t, file, "identities:\n    carol:\n        access: read\n        local:\n            user-id: 42\n")
	res = d.pebble("add-identities", "--from", file)
	assert.Equal(t, "error: cannot have multiple identities with user ID 42 (bob, carol)\n", res.stderr)

	writeFile(t, file, "identities:\n    bob:\n        access: read\n        local:\n            user-id: 43\n")
	assert.Equal(t, "Updated 1 identity.\n", d.mustPebble("update-identities", "--from", file))
	writeFile(t, file, "identities:\n    alice: null\n    dave:\n        access: untrusted\n        local:\n            user-id: 44\n")
	assert.Equal(t, "Replaced 2 identities.\n", d.mustPebble("update-identities", "--replace", "--from", file))
	assert.Equal(t, "Name  Access     Types\nbob   read       local\ndave  untrusted  local\n", d.mustPebble("identities"))
	writeFile(t, file, "identities:\n    dave:\n        access: read\n")
	res = d.pebble("remove-identities", "--from", file)
	assert.Equal(t, "error: identity value for \"dave\" must be null for remove operation\n", res.stderr)
	writeFile(t, file, "identities:\n    bob:\n    dave: null\n")
	assert.Equal(t, "Removed 2 identities.\n", d.mustPebble("remove-identities", "--from", file))

	stderr := d.stderr.String()
	for _, event := range []string{
		`"event":"user_created:0,alice,metrics"`, `"event":"user_created:0,bob,admin"`,
		`"event":"user_updated:0,bob,read"`, `"event":"user_deleted:0,alice"`, `"event":"user_deleted:0,dave"`,
	} {
		assert.Contains(t, stderr, event)
	}
	assert.NotContains(t, stderr, helloHash[20:], "no secret is ever logged")

	// Identities persist.
	writeFile(t, file, "identities:\n    erin:\n        access: read\n        local:\n            user-id: 45\n")
	d.mustPebble("add-identities", "--from", file)
	d.stop()
	d = startDaemon(t, dir, daemonOptions{args: []string{"--hold"}})
	assert.Equal(t, "Name  Access  Types\nerin  read    local\n", d.mustPebble("identities"))
}

// TestRunIdentities: run --identities applies a file like
// update-identities --replace after startup; a bad file stops the daemon.
func TestRunIdentities(t *testing.T) {
	dir := newPebbleDir(t, nil)
	file := filepath.Join(dir, "seed.yaml")
	writeFile(t, file, "identities:\n    ops:\n        access: admin\n        local:\n            user-id: 1000\n    gone: null\n")
	d := startDaemon(t, dir, daemonOptions{args: []string{"--hold", "--identities", file}})
	assert.Equal(t, "Name  Access  Types\nops   admin   local\n", d.mustPebble("identities"))
	d.stop()

	writeFile(t, file, "identities:\n    ops:\n        access: admin\n")
	d = startDaemon(t, dir, daemonOptions{args: []string{"--hold", "--identities", file}, noWait: true})
	assert.Equal(t, 1, d.waitExit(exitTimeout))
	assert.Contains(t, d.stderr.String(), `cannot run daemon: cannot apply identities from "`+file+`": invalid identity for "ops": identity must have at least one type ("local", "basic", or "cert")`)

	res := runCLI(t, dir, "run", "--https", ":0")
	assert.Equal(t, 1, res.code)
	assert.Contains(t, res.stderr, "--https is not supported")
}

var (
	rawClientOnce sync.Once
	rawClientDir  string
	rawClientErr  error
)

// rawClient builds testdata/rawclient into a directory every user can
// reach, once per run.
func rawClient(t *testing.T) (dir, bin string) {
	t.Helper()
	rawClientOnce.Do(func() {
		rawClientDir, rawClientErr = os.MkdirTemp("", "pebble-access-")
		if rawClientErr != nil {
			return
		}
		if rawClientErr = os.Chmod(rawClientDir, 0o755); rawClientErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(rawClientDir, "rawclient"), "./testdata/rawclient").CombinedOutput()
		if err != nil {
			rawClientErr = fmt.Errorf("%v: %s", err, out)
		}
	})
	require.NoError(t, rawClientErr)
	t.Cleanup(func() {}) // the directory goes with the run (see TestMain's temporary root)
	return rawClientDir, filepath.Join(rawClientDir, "rawclient")
}

// freeAddr returns a loopback TCP address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestAccessControl checks every endpoint's required level (api.md §5.2)
// against real callers: root on the socket, a UID with no identity, UIDs
// with a "read", an "admin" and an "untrusted" local identity, a socket
// caller with a "metrics" basic identity, and plain-HTTP callers with no,
// wrong and right credentials (api.md §5.3). Its table must hold every
// route of the daemon's route table. It prints the table of results.
func TestAccessControl(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("skipping: needs root to run clients as other users")
	}
	shared, bin := rawClient(t)
	sockDir, err := os.MkdirTemp(shared, "sock-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(sockDir, 0o755))
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	socket := filepath.Join(sockDir, ".pebble.socket")
	httpAddr := freeAddr(t)

	dir := newPebbleDir(t, map[string]string{"001-base.yaml": sleeperLayer})
	file := filepath.Join(dir, "ids.yaml")
	writeFile(t, file, `identities:
    reader:
        access: read
        local: {user-id: 65533}
    guest:
        access: untrusted
        local: {user-id: 65532}
    scraper:
        access: metrics
        basic: {password: "`+helloHash+`"}
    boss:
        access: admin
        basic: {password: "`+helloHash+`"}
    chief:
        access: admin
        local: {user-id: 65531}
`)
	d := startDaemon(t, dir, daemonOptions{
		args: []string{"--hold", "--http", httpAddr, "--identities", file},
		env:  []string{"PEBBLE_SOCKET=" + socket}, noWait: true,
	})
	d.socket = socket
	d.waitReady()
	testutil.WaitFor(t, readyTimeout, func() error {
		if !strings.Contains(d.stderr.String(), "user_created") {
			return fmt.Errorf("identities not applied yet")
		}
		return nil
	})

	type callerSpec struct {
		name       string
		uid        int    // socket callers; -1 for HTTP
		user, pass string // basic auth
	}
	callers := []callerSpec{
		{"root (socket)", 0, "", ""},
		{"uid 65534, no identity", 65534, "", ""},
		{"uid 65533, local read", 65533, "", ""},
		{"uid 65532, local untrusted", 65532, "", ""},
		{"uid 65531, local admin", 65531, "", ""},
		{"uid 65532 + wrong basic", 65532, "scraper", "nope"},
		{"uid 65534 + basic metrics", 65534, "scraper", "Hello world!"},
		{"HTTP, no credentials", -1, "", ""},
		{"HTTP, wrong password", -1, "scraper", "wrong"},
		{"HTTP, unknown user", -1, "nobody", "Hello world!"},
		{"HTTP, basic metrics", -1, "scraper", "Hello world!"},
		{"HTTP, basic admin", -1, "boss", "Hello world!"},
	}
	// Each row names its route as routes.go spells it, so the table can be
	// checked against every route the daemon serves.
	type endpointSpec struct {
		method, route, path, body string
		need                      string
	}
	endpoints := []endpointSpec{
		{"GET", "/v1/system-info", "/v1/system-info", "", "open"},
		{"GET", "/v1/health", "/v1/health", "", "open"},
		{"GET", "/v1/metrics", "/v1/metrics", "", "metrics"},
		{"GET", "/v1/services", "/v1/services", "", "read"},
		{"POST", "/v1/services", "/v1/services", `{"action":"bogus","services":["svc"]}`, "admin"},
		{"GET", "/v1/services/{name}", "/v1/services/svc", "", "read"},
		{"POST", "/v1/services/{name}", "/v1/services/svc", `{}`, "admin"},
		{"GET", "/v1/changes", "/v1/changes", "", "read"},
		{"GET", "/v1/changes/{id}", "/v1/changes/999", "", "read"},
		{"POST", "/v1/changes/{id}", "/v1/changes/999", `{"action":"abort"}`, "admin"},
		{"GET", "/v1/changes/{id}/wait", "/v1/changes/999/wait", "", "read"},
		{"GET", "/v1/plan", "/v1/plan?format=yaml", "", "admin"},
		{"POST", "/v1/layers", "/v1/layers", `{"action":"bogus"}`, "admin"},
		{"POST", "/v1/signals", "/v1/signals", `{"signal":"SIGHUP"}`, "admin"},
		{"GET", "/v1/logs", "/v1/logs?n=1", "", "read"},
		// An addition beyond Pebble (docs/logs.md); read like /v1/logs.
		{"GET", "/v1/log-targets", "/v1/log-targets", "", "read"},
		// An addition beyond Pebble (docs/workflows.md): listing is read,
		// running admin, like services.
		{"GET", "/v1/workflows", "/v1/workflows", "", "read"},
		{"POST", "/v1/workflows", "/v1/workflows", `{"action":"bogus"}`, "admin"},
		{"GET", "/v1/notices", "/v1/notices", "", "read"},
		{"POST", "/v1/notices", "/v1/notices", `{"action":"add","type":"custom","key":"example.com/access"}`, "read"},
		{"GET", "/v1/notices/{id}", "/v1/notices/999", "", "read"},
		{"GET", "/v1/identities", "/v1/identities", "", "read"},
		{"POST", "/v1/identities", "/v1/identities", `{"action":"bogus"}`, "admin"},
		{"GET", "/v1/checks", "/v1/checks", "", "read"},
		{"POST", "/v1/checks", "/v1/checks", `{"action":"bogus"}`, "admin"},
		{"POST", "/v1/checks/refresh", "/v1/checks/refresh", `{"name":"nope"}`, "admin"},
		{"POST", "/v1/exec", "/v1/exec", `{}`, "admin"},
		{"GET", "/v1/tasks/{task-id}/websocket/{websocket-id}", "/v1/tasks/999/websocket/nope", "", "admin"},
		{"GET", "/v1/files", "/v1/files?action=bogus", "", "admin"},
		{"POST", "/v1/files", "/v1/files", `{}`, "admin"},
		// An addition beyond Pebble (docs/upgrade.md): admin, like stopping it.
		{"POST", "/v1/daemon", "/v1/daemon", `{"action":"bogus"}`, "admin"},
	}
	tested := make(map[string]bool)
	for _, e := range endpoints {
		tested[e.method+" "+e.route] = true
	}
	served := daemonRoutes(t)
	for route := range served {
		assert.True(t, tested[route], "route %s is served but missing from the access table", route)
	}
	for route := range tested {
		assert.True(t, served[route], "route %s is in the access table but not served", route)
	}
	// allowedFor is the level each caller should get.
	levels := map[string]string{
		"root (socket)": "admin", "uid 65534, no identity": "read", "uid 65533, local read": "read",
		"uid 65532, local untrusted": "untrusted", "uid 65531, local admin": "admin", "uid 65532 + wrong basic": "untrusted",
		"uid 65534 + basic metrics": "metrics",
		"HTTP, no credentials":      "untrusted", "HTTP, wrong password": "untrusted", "HTTP, unknown user": "untrusted",
		"HTTP, basic metrics": "metrics", "HTTP, basic admin": "untrusted-over-http",
	}
	rank := map[string]int{"open": 0, "metrics": 1, "read": 2, "admin": 3}
	allowed := func(level, need string) bool {
		switch level {
		case "untrusted", "untrusted-over-http":
			return need == "open"
		}
		return rank[level] >= rank[need]
	}

	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "endpoint\tneeds")
	for _, c := range callers {
		fmt.Fprintf(tw, "\t%s", c.name)
	}
	fmt.Fprintln(tw)
	for _, e := range endpoints {
		fmt.Fprintf(tw, "%s %s\t%s", e.method, e.path, e.need)
		for _, c := range callers {
			target := socket
			if c.uid < 0 {
				target = "http://" + httpAddr
			}
			args := []string{target, e.method, e.path, e.body}
			if c.user != "" {
				args = append(args, c.user, c.pass)
			}
			cmd := exec.Command(bin, args...)
			if c.uid > 0 {
				cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(c.uid), Gid: 65534}}
			}
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s %s as %s: %s", e.method, e.path, c.name, out)
			status := strings.SplitN(string(out), " ", 2)[0]
			want := allowed(levels[c.name], e.need)
			got := status != "401"
			mark := ""
			if got != want {
				mark = " (!)"
			}
			fmt.Fprintf(tw, "\t%s%s", status, mark)
			assert.Equal(t, want, got, "%s %s as %s: %s", e.method, e.path, c.name, out)
			if status == "401" {
				assert.Contains(t, string(out), `"message":"access denied","kind":"login-required"`)
			}
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	t.Logf("HTTP status per endpoint and caller (401 = denied):\n%s", table.String())

	// Denials of identified callers are security events; anonymous HTTP
	// callers are not logged; no password appears anywhere.
	stderr := d.stderr.String()
	assert.Contains(t, stderr, `"event":"authz_fail:65534,/v1/plan"`)
	assert.Contains(t, stderr, `"event":"authz_fail:reader,/v1/identities"`)
	assert.Contains(t, stderr, `"event":"authz_fail:guest,/v1/services"`)
	assert.Contains(t, stderr, `"event":"authz_fail:boss,/v1/metrics"`)
	assert.Contains(t, stderr, `"event":"authz_fail:scraper,/v1/services"`)
	assert.NotContains(t, stderr, "authz_fail:<unknown>")
	assert.NotContains(t, stderr, "Hello world!")

	// Notices: a non-admin caller sees its own and public notices only,
	// and may not use the admin filters.
	runAs := func(uid int, method, path, body string) string {
		cmd := exec.Command(bin, socket, method, path, body)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: 65534}}
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	out := runAs(65534, "GET", "/v1/notices?users=all", "")
	assert.Equal(t, `403 {"type":"error","status-code":403,"status":"Forbidden","result":{"message":"only admins may use the \"users\" filter"}}`+"\n", out)
	out = runAs(65534, "GET", "/v1/notices?user-id=0", "")
	assert.Contains(t, out, `only admins may use the \"user-id\" filter`)
	out = runAs(65534, "GET", "/v1/notices?types=custom", "")
	assert.Contains(t, out, `"user-id":65534`)
	assert.NotContains(t, out, `"user-id":65533`, "another user's notice")
	out = runAs(65533, "GET", "/v1/notices/1", "")
	assert.True(t, strings.HasPrefix(out, "403 ") || strings.HasPrefix(out, "200 "), out)
	var rootNotices []notice
	d.sync("GET", "/v1/notices?users=all&types=custom", nil, &rootNotices)
	owners := map[uint32]string{}
	for _, n := range rootNotices {
		owners[*n.UserID] = n.ID
	}
	assert.Contains(t, owners, uint32(65534))
	assert.Contains(t, owners, uint32(65533))
	out = runAs(65534, "GET", "/v1/notices/"+owners[65533], "")
	assert.Equal(t, `403 {"type":"error","status-code":403,"status":"Forbidden","result":{"message":"not allowed to access notice with id \"`+owners[65533]+`\""}}`+"\n", out)
	out = runAs(65533, "GET", "/v1/notices/"+owners[65533], "")
	assert.True(t, strings.HasPrefix(out, "200 "), out)
	// Over HTTP there is no UID, and a metrics identity reaches no notices.
	cmd := exec.Command(bin, socket, "GET", "/v1/notices", "", "boss", "Hello world!")
	outB, err := cmd.CombinedOutput()
	require.NoError(t, err)
	assert.Equal(t, `403 {"type":"error","status-code":403,"status":"Forbidden","result":{"message":"cannot determine UID of request, so cannot retrieve notices"}}`+"\n", string(outB),
		"a basic identity carries no UID, even over the socket")
}

// daemonRoutes returns every method and route ("GET /v1/health") of the
// daemon's route table, read from the endpoints literal in
// internal/daemon/routes.go, so a new endpoint cannot skip the access test.
func daemonRoutes(t *testing.T) map[string]bool {
	t.Helper()
	file, err := parser.ParseFile(token.NewFileSet(), "../internal/daemon/routes.go", nil, 0)
	require.NoError(t, err)
	routes := make(map[string]bool)
	ast.Inspect(file, func(n ast.Node) bool {
		spec, ok := n.(*ast.ValueSpec)
		if !ok || len(spec.Names) != 1 || spec.Names[0].Name != "endpoints" || len(spec.Values) != 1 {
			return true
		}
		table, ok := spec.Values[0].(*ast.CompositeLit)
		require.True(t, ok, "endpoints is not a composite literal")
		for _, row := range table.Elts {
			fields := map[string]ast.Expr{}
			for _, elt := range row.(*ast.CompositeLit).Elts {
				kv := elt.(*ast.KeyValueExpr)
				fields[kv.Key.(*ast.Ident).Name] = kv.Value
			}
			path, err := strconv.Unquote(fields["path"].(*ast.BasicLit).Value)
			require.NoError(t, err)
			for key, method := range map[string]string{"get": "GET", "post": "POST"} {
				if _, ok := fields[key]; ok {
					routes[method+" "+path] = true
				}
			}
		}
		return false
	})
	require.NotEmpty(t, routes, "no endpoints found in internal/daemon/routes.go")
	return routes
}
