// Package envfile reads a service's environment-file: lines of KEY=VALUE
// whose values are secrets.
//
// The format, on purpose a small one:
//   - one variable per line, KEY=VALUE; the value is everything after the
//     first "=", taken literally (no escapes, no variable expansion), except
//     that one pair of matching quotes ('...' or "...") around the whole
//     value is removed;
//   - an optional "export " before the key, so a file written for a shell
//     can be read;
//   - blank lines and lines starting with "#" (after spaces) are ignored.
//
// Errors name the file and the line number, never the line's content: a
// mistyped line may hold a secret, and errors reach task logs and the
// daemon's log.
//
// Layered puts a service's variables in their order: its workload's, the
// file's, its own. The package does not know about plans, and holds no
// state.
package envfile

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"os"
	"strings"
	"unicode/utf8"
)

// MaxSize is the largest environment file read, in bytes.
const MaxSize = 1 << 20

// Read reads and parses the environment file at path.
func Read(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read environment-file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read environment-file %q: %w", path, err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("cannot read environment-file %q: larger than %d bytes", path, MaxSize)
	}
	env, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("cannot read environment-file %q: %w", path, err)
	}
	return env, nil
}

// Layered returns the variables a service's processes get: base (its
// workload's), then those of the environment file at path (none when path
// is empty), then own (the service's environment), a later one winning.
// The file is read now, so each start sees its current content.
func Layered(base map[string]string, path string, own map[string]string) (map[string]string, error) {
	env := maps.Clone(base)
	if env == nil {
		env = make(map[string]string, len(own))
	}
	if path != "" {
		fromFile, err := Read(path)
		if err != nil {
			return nil, err
		}
		maps.Copy(env, fromFile)
	}
	maps.Copy(env, own)
	return env, nil
}

// Parse parses the content of an environment file. A later line for the
// same key wins.
func Parse(data []byte) (map[string]string, error) {
	env := make(map[string]string)
	for i, line := range bytes.Split(data, []byte("\n")) {
		n := i + 1
		if !utf8.Valid(line) {
			return nil, fmt.Errorf("line %d: not valid UTF-8", n)
		}
		if bytes.IndexByte(line, 0) >= 0 {
			return nil, fmt.Errorf("line %d: holds a NUL byte", n)
		}
		text := strings.TrimSpace(strings.TrimSuffix(string(line), "\r"))
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		text = strings.TrimPrefix(text, "export ")
		key, value, ok := strings.Cut(text, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: expected KEY=VALUE", n)
		}
		key = strings.TrimSpace(key)
		if !validKey(key) {
			return nil, fmt.Errorf("line %d: invalid variable name (letters, digits and _, not starting with a digit)", n)
		}
		env[key] = unquote(value)
	}
	return env, nil
}

// validKey reports whether key is a portable environment variable name.
func validKey(key string) bool {
	if key == "" || key[0] >= '0' && key[0] <= '9' {
		return false
	}
	for _, c := range key {
		if c != '_' && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// unquote removes one pair of matching quotes around the whole value.
func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}
