package envfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/testutil"
)

func TestMain(m *testing.M) { testutil.Main(m) }

func TestParse(t *testing.T) {
	env, err := Parse([]byte(strings.Join([]string{
		"# database credentials",
		"",
		"DB_USER=app",
		"  DB_PASSWORD=s3cr=t#not-a-comment  ",
		`export TOKEN="quoted value"`,
		"SINGLE='it''s'",
		`HALF="open`,
		"EMPTY=",
		"CRLF=yes\r",
		"DB_USER=later",
	}, "\n")))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		"DB_USER":     "later",
		"DB_PASSWORD": "s3cr=t#not-a-comment",
		"TOKEN":       "quoted value",
		"SINGLE":      "it''s",
		"HALF":        `"open`,
		"EMPTY":       "",
		"CRLF":        "yes",
	}, env)
}

// Errors name the line, never its content: a broken line may be a secret.
func TestParseErrors(t *testing.T) {
	tests := []struct{ name, data, err string }{
		{"no equals", "OK=1\nhunter2\n", "line 2: expected KEY=VALUE"},
		{"empty key", "=hunter2", "line 1: invalid variable name (letters, digits and _, not starting with a digit)"},
		{"digit first", "1X=hunter2", "line 1: invalid variable name (letters, digits and _, not starting with a digit)"},
		{"space in key", "MY KEY=hunter2", "line 1: invalid variable name (letters, digits and _, not starting with a digit)"},
		{"nul", "K=hunter2\x00", "line 1: holds a NUL byte"},
		{"bad utf-8", "K=hunter2\xff", "line 1: not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.data))
			require.EqualError(t, err, tt.err)
			assert.NotContains(t, err.Error(), "hunter2")
		})
	}
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.env")
	require.NoError(t, os.WriteFile(path, []byte("A=1\n"), 0o600))
	env, err := Read(path)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"A": "1"}, env)

	_, err = Read(filepath.Join(dir, "missing.env"))
	assert.ErrorContains(t, err, "cannot read environment-file: open "+filepath.Join(dir, "missing.env")+": no such file or directory")

	require.NoError(t, os.WriteFile(path, []byte("A=1\nB\n"), 0o600))
	_, err = Read(path)
	assert.EqualError(t, err, `cannot read environment-file "`+path+`": line 2: expected KEY=VALUE`)

	require.NoError(t, os.WriteFile(path, make([]byte, MaxSize+1), 0o600))
	_, err = Read(path)
	assert.EqualError(t, err, `cannot read environment-file "`+path+`": larger than 1048576 bytes`)
}

// Layered puts the workload's variables first, then the file's, then the
// service's own, and leaves its inputs alone.
func TestLayered(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.env")
	require.NoError(t, os.WriteFile(path, []byte("A=file\nB=file\n"), 0o600))
	base := map[string]string{"A": "workload", "B": "workload", "C": "workload"}
	env, err := Layered(base, path, map[string]string{"B": "own"})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"A": "file", "B": "own", "C": "workload"}, env)
	assert.Equal(t, "workload", base["A"], "the workload's map is not changed")

	env, err = Layered(nil, "", map[string]string{"B": "own"})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"B": "own"}, env)

	_, err = Layered(base, filepath.Join(t.TempDir(), "missing.env"), nil)
	assert.ErrorContains(t, err, "cannot read environment-file")
}
