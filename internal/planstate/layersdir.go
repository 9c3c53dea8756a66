package planstate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/pebble-project/pebble/internal/plan"
)

// readLayersDir loads the layers of a layers directory, normally
// $PEBBLE/layers (layers.md §1.1), in ascending effective order. A missing
// directory has no layers. See readLayers for the rules.
func readLayersDir(dir string) ([]*plan.Layer, error) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return readLayers(os.DirFS(dir), dir)
}

// layerNameRegexp matches a layer file or sub-directory name: the order, the
// label and the suffix.
var layerNameRegexp = regexp.MustCompile(`^([0-9]{3})-([a-z](?:-?[a-z0-9]){2,})(\.yaml|\.d)$`)

// layerEntry is a considered entry of a layers directory.
type layerEntry struct {
	name  string
	order int
	label string
	isDir bool
}

// readLayers loads the layers found at the root of fsys, in ascending
// effective order (layers.md §1.1); root is only used to show full paths in
// error messages. The rules:
//
//   - only names ending in ".yaml" or ".d" are considered; others are
//     skipped;
//   - a file must be named like "123-some-label.yaml" and a directory like
//     "123-some-label.d" (a lowercase letter, then at least two lowercase
//     letters or digits, each optionally preceded by a single "-");
//   - orders and labels must be unique within a directory;
//   - a directory may hold layer files but no further directories; its file
//     "MMM-file.yaml" gets order NNN*1000+MMM and label "dir/file", while a
//     top-level file gets order NNN*1000;
//   - symlinks are followed.
//
// Every file is parsed with plan.ParseLayer. A missing root has no layers.
func readLayers(fsys fs.FS, root string) ([]*plan.Layer, error) {
	entries, err := layerEntries(fsys, ".", root, true)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var layers []*plan.Layer
	for _, e := range entries {
		if !e.isDir {
			l, err := readLayerFile(fsys, e.name, root, e.order*1000, e.label)
			if err != nil {
				return nil, err
			}
			layers = append(layers, l)
			continue
		}
		subEntries, err := layerEntries(fsys, e.name, root, false)
		if err != nil {
			return nil, err
		}
		for _, se := range subEntries {
			l, err := readLayerFile(fsys, path.Join(e.name, se.name), root,
				e.order*1000+se.order, e.label+"/"+se.label)
			if err != nil {
				return nil, err
			}
			layers = append(layers, l)
		}
	}
	return layers, nil
}

func readLayerFile(fsys fs.FS, name, root string, order int, label string) (*plan.Layer, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("cannot read layer file: %v", fullPathError(err, root))
	}
	return plan.ParseLayer(order, label, data)
}

// layerEntries lists the considered entries of dir, in name order (which is
// order order, given the 3-digit prefix), checking their names.
func layerEntries(fsys fs.FS, dir, root string, subdirsOK bool) ([]layerEntry, error) {
	dirEntries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && dir == "." {
			return nil, err
		}
		return nil, fmt.Errorf("cannot read layers directory: %v", fullPathError(err, root))
	}
	var (
		entries []layerEntry
		byOrder = map[int]string{}
		byLabel = map[string]int{}
	)
	for _, de := range dirEntries {
		name := de.Name()
		if !strings.HasSuffix(name, ".yaml") && !strings.HasSuffix(name, ".d") {
			continue
		}
		info, err := fs.Stat(fsys, path.Join(dir, name)) // follows symlinks
		if err != nil {
			return nil, fmt.Errorf("cannot read layers directory: %v", fullPathError(err, root))
		}
		m := layerNameRegexp.FindStringSubmatch(name)
		switch {
		case info.IsDir() && (m == nil || m[3] != ".d"):
			return nil, fmt.Errorf(`invalid layer sub-directory name: %q (must look like "123-some-label.d")`, name)
		case !info.IsDir() && (m == nil || m[3] != ".yaml"):
			return nil, fmt.Errorf(`invalid layer filename: %q (must look like "123-some-label.yaml")`, name)
		case info.IsDir() && !subdirsOK:
			return nil, errors.New("cannot have a layers sub-directory at this level")
		}
		order, _ := strconv.Atoi(m[1]) // three digits: cannot fail
		label := m[2]
		if oldLabel, dup := byOrder[order]; dup {
			return nil, fmt.Errorf(`invalid layer filename: %q not unique (have "%03d-%s.yaml" already)`, name, order, oldLabel)
		}
		if oldOrder, dup := byLabel[label]; dup {
			return nil, fmt.Errorf(`invalid layer filename: %q not unique (have "%03d-%s.yaml" already)`, name, oldOrder, label)
		}
		byOrder[order] = label
		byLabel[label] = order
		entries = append(entries, layerEntry{name: name, order: order, label: label, isDir: info.IsDir()})
	}
	return entries, nil
}

// fullPathError puts root in front of the path of an fs.PathError, so that
// messages about os.DirFS files show where they are.
func fullPathError(err error, root string) error {
	var pe *fs.PathError
	if root != "" && errors.As(err, &pe) {
		return &fs.PathError{Op: pe.Op, Path: path.Join(root, pe.Path), Err: pe.Err}
	}
	return err
}
