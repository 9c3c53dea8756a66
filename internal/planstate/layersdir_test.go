package planstate

import (
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/pebble-project/pebble/internal/plan"
)

const dirLayer = "services:\n    svc:\n        override: merge\n        command: /bin/x\n"

// writeTree creates files under dir; names ending in "/" are directories.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReadLayersDir(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"001-foo.yaml":           "summary: foo\n" + dirLayer,
		"002-bar.d/001-aaa.yaml": dirLayer,
		"002-bar.d/002-bbb.yaml": dirLayer,
		"002-bar.d/notes.txt":    "ignored",
		"003-baz.yaml":           dirLayer,
		"README":                 "ignored",
		".003-baz.yaml.swp":      "ignored",
		"004-my-app.yaml":        dirLayer,
		"005-empty.d/":           "",
	})
	// Symlinks are followed, to files and to directories.
	other := t.TempDir()
	writeTree(t, other, map[string]string{
		"target.yaml":      dirLayer,
		"sub/001-one.yaml": dirLayer,
	})
	if err := os.Symlink(filepath.Join(other, "target.yaml"), filepath.Join(dir, "006-linked.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(other, "sub"), filepath.Join(dir, "007-linkdir.d")); err != nil {
		t.Fatal(err)
	}

	layers, err := readLayersDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range layers {
		got = append(got, strconv.Itoa(l.Order)+" "+l.Label)
	}
	want := []string{"1000 foo", "2001 bar/aaa", "2002 bar/bbb", "3000 baz", "4000 my-app", "6000 linked", "7001 linkdir/one"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("layers = %q, want %q", got, want)
	}
	if layers[0].Summary != "foo" || layers[0].Services["svc"] == nil {
		t.Errorf("first layer not parsed: %#v", layers[0])
	}
}

func TestReadLayersDirMissing(t *testing.T) {
	layers, err := readLayersDir(filepath.Join(t.TempDir(), "nope"))
	if err != nil || layers != nil {
		t.Errorf("missing dir: %v, %v", layers, err)
	}
	layers, err = readLayers(fstest.MapFS{}, "")
	if err != nil || layers != nil {
		t.Errorf("empty fs: %v, %v", layers, err)
	}
}

func TestReadLayersDirErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		err   string
	}{
		{"label too short", map[string]string{"001-a.yaml": ""}, `invalid layer filename: "001-a.yaml" (must look like "123-some-label.yaml")`},
		{"short order", map[string]string{"1-base.yaml": ""}, `invalid layer filename: "1-base.yaml" (must look like "123-some-label.yaml")`},
		{"underscore", map[string]string{"001_base.yaml": ""}, `invalid layer filename: "001_base.yaml" (must look like "123-some-label.yaml")`},
		{"uppercase", map[string]string{"001-Base.yaml": ""}, `invalid layer filename: "001-Base.yaml" (must look like "123-some-label.yaml")`},
		{"double dash", map[string]string{"001-my--app.yaml": ""}, `invalid layer filename: "001-my--app.yaml" (must look like "123-some-label.yaml")`},
		{"trailing dash", map[string]string{"001-app-.yaml": ""}, `invalid layer filename: "001-app-.yaml" (must look like "123-some-label.yaml")`},
		{"bad subdir", map[string]string{"01-bar.d/": ""}, `invalid layer sub-directory name: "01-bar.d" (must look like "123-some-label.d")`},
		{"bad file in subdir", map[string]string{"002-bar.d/1-x.yaml": ""}, `invalid layer filename: "1-x.yaml" (must look like "123-some-label.yaml")`},
		{"duplicate order", map[string]string{"001-foo.yaml": "", "001-bar.yaml": ""}, `invalid layer filename: "001-foo.yaml" not unique (have "001-bar.yaml" already)`},
		{"duplicate label", map[string]string{"001-foo.yaml": "", "002-foo.yaml": ""}, `invalid layer filename: "002-foo.yaml" not unique (have "001-foo.yaml" already)`},
		{"duplicate in subdir", map[string]string{"002-bar.d/001-aaa.yaml": "", "002-bar.d/002-aaa.yaml": ""}, `invalid layer filename: "002-aaa.yaml" not unique (have "001-aaa.yaml" already)`},
		{"nested subdir", map[string]string{"002-bar.d/003-baz.d/": ""}, `cannot have a layers sub-directory at this level`},
		{"bad layer", map[string]string{"001-foo.yaml": "bogus: 1\n"}, `cannot parse layer "foo": unknown section "bogus"`},
		{"bad layer in subdir", map[string]string{"002-bar.d/001-aaa.yaml": "bogus: 1\n"}, `cannot parse layer "bar/aaa": unknown section "bogus"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, tt.files)
			_, err := readLayersDir(dir)
			checkErr(t, tt.name, err, tt.err)
		})
	}
}

func TestReadLayersDirUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("permissions do not apply to root")
	}
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"001-foo.yaml": dirLayer, "002-bar.d/001-aaa.yaml": dirLayer})
	if err := os.Chmod(filepath.Join(dir, "001-foo.yaml"), 0); err != nil {
		t.Fatal(err)
	}
	_, err := readLayersDir(dir)
	checkErr(t, "file", err, "~cannot read layer file: open "+filepath.Join(dir, "001-foo.yaml")+": permission denied")
	os.Chmod(filepath.Join(dir, "001-foo.yaml"), 0o644)
	os.Chmod(filepath.Join(dir, "002-bar.d"), 0)
	defer os.Chmod(filepath.Join(dir, "002-bar.d"), 0o755)
	_, err = readLayersDir(dir)
	checkErr(t, "dir", err, "~cannot read layers directory: ")
}

func TestReadLayersDirBrokenSymlink(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(dir, "missing"), filepath.Join(dir, "001-foo.yaml")); err != nil {
		t.Fatal(err)
	}
	_, err := readLayersDir(dir)
	checkErr(t, "broken symlink", err, "cannot read layers directory: stat "+filepath.Join(dir, "001-foo.yaml")+": no such file or directory")
}

// failingFS is a MapFS whose ReadFile fails for one file.
type failingFS struct {
	fstest.MapFS
	bad string
}

func (f failingFS) ReadFile(name string) ([]byte, error) {
	if name == f.bad {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return f.MapFS.ReadFile(name)
}

func TestReadLayersFSUnreadableFile(t *testing.T) {
	fsys := failingFS{
		MapFS: fstest.MapFS{"001-foo.yaml": {}, "002-bar.d/001-aaa.yaml": {}},
		bad:   "002-bar.d/001-aaa.yaml",
	}
	_, err := readLayers(fsys, "")
	checkErr(t, "unreadable", err, "cannot read layer file: open 002-bar.d/001-aaa.yaml: permission denied")
}

func TestReadLayersFS(t *testing.T) {
	fsys := fstest.MapFS{
		"010-app.yaml":            {Data: []byte(dirLayer)},
		"005-base.d/001-xx1.yaml": {Data: []byte(dirLayer)},
	}
	layers, err := readLayers(fsys, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 2 || layers[0].Label != "base/xx1" || layers[0].Order != 5001 || layers[1].Label != "app" || layers[1].Order != 10000 {
		t.Errorf("unexpected layers %v %v", layers[0], layers[1])
	}
}

// checkErr reports whether err matches want: exactly, or, when want starts
// with "~", as a substring.
func checkErr(t *testing.T, what string, err error, want string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want %q", what, want)
		return
	}
	if sub, ok := strings.CutPrefix(want, "~"); ok {
		if !strings.Contains(err.Error(), sub) {
			t.Errorf("%s: error %q does not contain %q", what, err, sub)
		}
		return
	}
	if err.Error() != want {
		t.Errorf("%s: error\n  got  %q\n  want %q", what, err, want)
	}
}

// TestExampleLayersDir checks that the example layers of the repository
// (the top-level layers directory) load as a layers directory and combine
// into a valid plan.
func TestExampleLayersDir(t *testing.T) {
	dir := filepath.Join("..", "..", "layers")
	layers, err := readLayersDir(dir)
	if err != nil {
		t.Fatalf("cannot read %s as a layers directory: %v", dir, err)
	}
	if len(layers) == 0 {
		t.Skip("no example layers in ../../layers")
	}
	if _, err := plan.NewPlan(layers); err != nil {
		t.Errorf("example layers do not combine into a valid plan: %v", err)
	}
}
