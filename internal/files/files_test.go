package files

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// failingReader returns some data, then an error.
type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("connection lost")
	}
	n := min(len(p), r.n)
	for i := range p[:n] {
		p[i] = 'x'
	}
	r.n -= n
	return n, nil
}

func TestWriteIsAtomic(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(target, []byte("old"), 0o600))

	err := Write(WriteSpec{Path: target}, &failingReader{n: 1 << 20})
	assert.EqualError(t, err, `cannot write file "`+target+`": connection lost`)
	data, _ := os.ReadFile(target)
	assert.Equal(t, "old", string(data), "the target is untouched")
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 1, "the temporary file is removed")

	// The mode is exact whatever the umask; the default is 644.
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	require.NoError(t, Write(WriteSpec{Path: target}, strings.NewReader("new")))
	st, err := os.Stat(target)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o644), st.Mode().Perm())
	require.NoError(t, Write(WriteSpec{Path: target, Permissions: "751"}, strings.NewReader("new")))
	st, _ = os.Stat(target)
	assert.Equal(t, fs.FileMode(0o751), st.Mode().Perm())
}

// TestWriteLargeInSmallReads: content read a few KiB at a time (as a
// multipart part gives it), larger than a writeback chunk and not a
// multiple of the copy buffer, arrives whole; a truncated upload
// (io.ErrUnexpectedEOF from the part) is an error, not a short file.
func TestWriteLargeInSmallReads(t *testing.T) {
	target := filepath.Join(t.TempDir(), "big")
	content := make([]byte, writebackChunk+copyBufferSize+123)
	for i := range content {
		content[i] = byte(i * 7)
	}
	require.NoError(t, Write(WriteSpec{Path: target}, iotest.HalfReader(bytes.NewReader(content))))
	got, err := os.ReadFile(target)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(content, got), "the content differs")

	truncated := io.MultiReader(strings.NewReader("partial"), iotest.ErrReader(io.ErrUnexpectedEOF))
	err = Write(WriteSpec{Path: target}, truncated)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	got, _ = os.ReadFile(target)
	assert.True(t, bytes.Equal(content, got), "the target is untouched")
}

func TestWriteErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		spec WriteSpec
		msg  string
		kind string
	}{
		{WriteSpec{Path: "rel"}, `paths must be absolute, got "rel"`, KindGeneric},
		{WriteSpec{Path: dir + "/f", Permissions: "0644"}, `permissions must be a 3-digit octal string, got "0644"`, KindGeneric},
		{WriteSpec{Path: dir + "/f", Permissions: "abc"}, `permissions must be a 3-digit octal string, got "abc"`, KindGeneric},
		{WriteSpec{Path: dir + "/f", Owner: Owner{Group: "root"}}, "cannot look up user and group: must specify user, not just group", KindGeneric},
	} {
		err := Write(tt.spec, strings.NewReader("x"))
		require.Error(t, err)
		assert.Equal(t, tt.msg, err.Error())
		assert.Equal(t, tt.kind, Kind(err))
	}
	err := Write(WriteSpec{Path: dir + "/a/b"}, strings.NewReader("x"))
	assert.Equal(t, KindNotFound, Kind(err))
	require.NoError(t, Write(WriteSpec{Path: dir + "/a/b", MakeDirs: true}, strings.NewReader("x")))
	st, err := os.Stat(dir + "/a")
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o755), st.Mode().Perm())
}

func TestMakeDir(t *testing.T) {
	dir := t.TempDir()
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	require.NoError(t, MakeDir(DirSpec{Path: dir + "/a"}))
	st, _ := os.Stat(dir + "/a")
	assert.Equal(t, fs.FileMode(0o755), st.Mode().Perm())
	assert.EqualError(t, MakeDir(DirSpec{Path: dir + "/a"}), "mkdir "+dir+"/a: file exists")
	require.NoError(t, MakeDir(DirSpec{Path: dir + "/a", MakeParents: true}))
	require.NoError(t, MakeDir(DirSpec{Path: dir + "/b/c/d", MakeParents: true, Permissions: "700"}))
	for _, p := range []string{"/b", "/b/c", "/b/c/d"} {
		st, err := os.Stat(dir + p)
		require.NoError(t, err)
		assert.Equal(t, fs.FileMode(0o700), st.Mode().Perm(), p)
	}
	require.NoError(t, os.WriteFile(dir+"/file", nil, 0o644))
	assert.EqualError(t, MakeDir(DirSpec{Path: dir + "/file", MakeParents: true}), "mkdir "+dir+"/file: not a directory")
	assert.EqualError(t, MakeDir(DirSpec{Path: dir + "/file/x", MakeParents: true}), "mkdir "+dir+"/file: not a directory")
	err := MakeDir(DirSpec{Path: dir + "/x/y"})
	assert.Equal(t, KindNotFound, Kind(err))
}

func TestRemove(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(dir+"/a/b", 0o755))
	assert.EqualError(t, Remove(dir+"/a", false), "remove "+dir+"/a: directory not empty")
	assert.Equal(t, KindNotFound, Kind(Remove(dir+"/nope", false)))
	assert.NoError(t, Remove(dir+"/nope", true))
	assert.NoError(t, Remove(dir+"/a", true))
	assert.NoDirExists(t, dir+"/a")
}

func TestListAndOpen(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(dir+"/f.txt", []byte("abc"), 0o640))
	require.NoError(t, os.Mkdir(dir+"/d", 0o700))
	require.NoError(t, os.Symlink("f.txt", dir+"/l"))
	require.NoError(t, syscall.Mkfifo(dir+"/p", 0o600))
	mtime := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	require.NoError(t, os.Chtimes(dir+"/f.txt", mtime, mtime))

	infos, err := List(dir, "", false)
	require.NoError(t, err)
	require.Len(t, infos, 4)
	byName := map[string]Info{}
	for _, i := range infos {
		byName[i.Name] = i
	}
	f := byName["f.txt"]
	assert.Equal(t, "file", f.Type)
	assert.Equal(t, int64(3), *f.Size)
	assert.Equal(t, "640", f.Permissions)
	assert.True(t, f.LastModified.Equal(mtime.Truncate(time.Second)))
	assert.Equal(t, os.Getuid(), f.UserID)
	assert.Equal(t, "directory", byName["d"].Type)
	assert.Nil(t, byName["d"].Size)
	assert.Equal(t, "symlink", byName["l"].Type)
	assert.Equal(t, "named-pipe", byName["p"].Type)

	infos, err = List(dir+"/l", "", false)
	require.NoError(t, err)
	require.Len(t, infos, 1)
	assert.Equal(t, "file", infos[0].Type, "the path itself follows symlinks")
	infos, err = List(dir, "*.txt", false)
	require.NoError(t, err)
	require.Len(t, infos, 1)
	_, err = List(dir, "[", false)
	assert.Error(t, err)
	_, err = List(dir+"/nope", "", false)
	assert.EqualError(t, err, "stat "+dir+"/nope: no such file or directory")

	r, err := Open(dir + "/f.txt")
	require.NoError(t, err)
	data, _ := io.ReadAll(r)
	r.Close()
	assert.Equal(t, "abc", string(data))
	// A named pipe is refused at once, without waiting for a writer.
	_, err = Open(dir + "/p")
	assert.EqualError(t, err, `can only read a regular file: "`+dir+`/p"`)
	_, err = Open("rel")
	assert.EqualError(t, err, `paths must be absolute, got "rel"`)
}

func TestOwner(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	dir := t.TempDir()
	uid, gid := 65534, 65534
	require.NoError(t, Write(WriteSpec{Path: dir + "/x/f", MakeDirs: true, Owner: Owner{UserID: &uid, GroupID: &gid}}, strings.NewReader("x")))
	for _, p := range []string{"/x", "/x/f"} {
		st, err := os.Stat(dir + p)
		require.NoError(t, err)
		assert.Equal(t, uint32(65534), st.Sys().(*syscall.Stat_t).Uid, p)
		assert.Equal(t, uint32(65534), st.Sys().(*syscall.Stat_t).Gid, p)
	}
}
