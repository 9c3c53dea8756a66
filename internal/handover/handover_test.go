package handover

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

type part struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

func TestWriteReadParts(t *testing.T) {
	doc := New("v1.32.1+old")
	require.NoError(t, doc.Put("one", part{"a", 1}))
	f, err := doc.Write()
	require.NoError(t, err)
	defer f.Close()
	got, err := Read(f)
	require.NoError(t, err)
	assert.Equal(t, Format, got.Format)
	assert.Equal(t, "v1.32.1+old", got.Version)
	var p part
	found, err := got.Get("one", &p)
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, part{"a", 1}, p)
	found, err = got.Get("two", &p)
	assert.NoError(t, err)
	assert.False(t, found)
	got.Parts["bad"] = []byte(`"text"`)
	_, err = got.Get("bad", &p)
	assert.ErrorContains(t, err, `cannot decode hand-over part "bad"`)
}

func TestReadRefusesOtherFormats(t *testing.T) {
	_, err := Read(strings.NewReader(`{"format":3,"version":"v9","parts":{}}`))
	assert.EqualError(t, err, "cannot read hand-over: format 3 of v9 is newer than format 2 of this daemon")
	_, err = Read(strings.NewReader(`{"format":1,"version":"v8","parts":{}}`))
	assert.NoError(t, err, "an older format is read")
	_, err = Read(strings.NewReader(`{"version":"v9"}`))
	assert.EqualError(t, err, "cannot read hand-over: no format number")
	_, err = Read(strings.NewReader(`not json`))
	assert.ErrorContains(t, err, "cannot read hand-over: ")
}

// TestPassTake passes one end of a pipe through a document and takes it
// back, as the two daemons do around the exec.
func TestPassTake(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer w.Close()
	doc := New("v")
	fd, err := doc.Pass(r)
	require.NoError(t, err)
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	require.NoError(t, err)
	assert.Zero(t, flags&unix.FD_CLOEXEC, "a passed descriptor survives the exec")
	require.NoError(t, doc.Put("pipe", fd))
	f, err := doc.Write()
	require.NoError(t, err)
	defer f.Close()

	got, err := Read(f)
	require.NoError(t, err)
	var passed int
	_, err = got.Get("pipe", &passed)
	require.NoError(t, err)
	_, err = got.Take(passed+1000, "other")
	assert.EqualError(t, err, "cannot take descriptor "+strconv.Itoa(passed+1000)+" (other): not handed over")
	taken, err := got.Take(passed, "pipe")
	require.NoError(t, err)
	defer taken.Close()
	_, err = w.Write([]byte("x"))
	require.NoError(t, err)
	buf := make([]byte, 1)
	_, err = taken.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "x", string(buf))
	_, err = got.Take(passed, "pipe")
	assert.Error(t, err, "a descriptor is taken once")
}

func TestFromEnv(t *testing.T) {
	doc, err := FromEnv(EnvCheck)
	assert.NoError(t, err)
	assert.Nil(t, doc)

	f, err := New("v").Write()
	require.NoError(t, err)
	raw, err := f.SyscallConn()
	require.NoError(t, err)
	var fd int
	raw.Control(func(u uintptr) { fd, err = unix.Dup(int(u)) })
	require.NoError(t, err)
	f.Close()
	t.Setenv(EnvCheck, strconv.Itoa(fd))
	doc, err = FromEnv(EnvCheck)
	require.NoError(t, err)
	assert.Equal(t, "v", doc.Version)
	_, set := os.LookupEnv(EnvCheck)
	assert.False(t, set, "the variable is removed")

	t.Setenv(EnvCheck, "nope")
	_, err = FromEnv(EnvCheck)
	assert.EqualError(t, err, `cannot read hand-over: $PEBBLE_HANDOVER_CHECK="nope" is not a descriptor`)
}

func TestParseAnswer(t *testing.T) {
	v, err := ParseAnswer([]byte("some log\n" + Answer("v1.32.1+new")))
	require.NoError(t, err)
	assert.Equal(t, "v1.32.1+new", v)
	_, err = ParseAnswer(nil)
	assert.EqualError(t, err, "did not answer the hand-over check (no output)")
	_, err = ParseAnswer([]byte("error: cannot read hand-over: format 2 is newer\n"))
	assert.EqualError(t, err, "did not answer the hand-over check (error: cannot read hand-over: format 2 is newer)")
	_, err = ParseAnswer([]byte("pebble-handover-ok format=x version=v\n"))
	assert.Error(t, err)
}
