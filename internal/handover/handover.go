package handover

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Format is the version of the document this binary writes, and the newest
// it reads. It changes whenever a part changes in a way an older reader would
// misread; a reader refuses a newer format. Format 2 added services in
// flight (starting, stopping, sweeping) with their start and stop requests,
// and the plan and checks parts: a format-1 reader would fail the changes
// in flight and read the plan from disk.
const Format = 2

// EnvFD names the environment variable holding the document's descriptor in
// a daemon started from a hand-over.
const EnvFD = "PEBBLE_HANDOVER"

// EnvCheck names the environment variable holding the document's descriptor
// when the new binary is run only to check that it can read it.
const EnvCheck = "PEBBLE_HANDOVER_CHECK"

// Document is the state handed from the old daemon to the new one.
type Document struct {
	// Format is the format the document was written in.
	Format int `json:"format"`
	// Version is the version of the daemon that wrote it.
	Version string `json:"version"`
	// Parts maps each owner's name to its part.
	Parts map[string]json.RawMessage `json:"parts"`

	// files are the passed descriptors, kept open until the exec.
	files []*os.File
	// taken are the descriptors named by the document, by number, until
	// their owner takes them (read side).
	taken map[int]bool
}

// New returns an empty document of the current format written by version.
func New(version string) *Document {
	return &Document{Format: Format, Version: version, Parts: make(map[string]json.RawMessage)}
}

// Put encodes v as the part of owner name.
func (d *Document) Put(name string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("cannot encode hand-over part %q: %w", name, err)
	}
	d.Parts[name] = raw
	return nil
}

// Get decodes the part of owner name into v. It reports false, and leaves v
// alone, when the document has no such part.
func (d *Document) Get(name string, v any) (bool, error) {
	raw, ok := d.Parts[name]
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("cannot decode hand-over part %q: %w", name, err)
	}
	return true, nil
}

// Pass makes f survive the exec and returns the number the new daemon will
// find it under. f stays open until the exec (or Close).
func (d *Document) Pass(f *os.File) (int, error) {
	raw, err := f.SyscallConn()
	if err != nil {
		return -1, fmt.Errorf("cannot pass %q: %w", f.Name(), err)
	}
	fd := -1
	var flagErr error
	if err := raw.Control(func(u uintptr) {
		fd = int(u)
		_, flagErr = unix.FcntlInt(u, unix.F_SETFD, 0)
	}); err != nil {
		return -1, fmt.Errorf("cannot pass %q: %w", f.Name(), err)
	}
	if flagErr != nil {
		return -1, fmt.Errorf("cannot pass %q: cannot clear close-on-exec: %w", f.Name(), flagErr)
	}
	d.files = append(d.files, f)
	return fd, nil
}

// Close closes the descriptors passed to the document: the exec did not
// happen, and their owners kept their own copies.
func (d *Document) Close() {
	for _, f := range d.files {
		f.Close()
	}
	d.files = nil
}

// Take returns the passed descriptor fd as a file named name, set
// non-blocking so that reads and accepts go through Go's poller and can be
// interrupted. Each descriptor can be taken once.
func (d *Document) Take(fd int, name string) (*os.File, error) {
	if !d.taken[fd] {
		return nil, fmt.Errorf("cannot take descriptor %d (%s): not handed over", fd, name)
	}
	delete(d.taken, fd)
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		return nil, fmt.Errorf("cannot take descriptor %d (%s): %w", fd, name, err)
	}
	return os.NewFile(uintptr(fd), name), nil
}

// CloseUntaken closes the handed-over descriptors no owner took, so that a
// part the new daemon ignores leaks nothing.
func (d *Document) CloseUntaken() {
	for fd := range d.taken {
		unix.Close(fd)
	}
	d.taken = nil
}

// documentFile is the file name of the memfd holding a document.
const documentFile = "pebble-handover"

// Write writes the document to a new memfd and returns it, positioned at
// its start, with close-on-exec cleared, and the numbers of every passed
// descriptor in the document itself.
func (d *Document) Write() (*os.File, error) {
	fds := make([]int, 0, len(d.files))
	for _, f := range d.files {
		raw, err := f.SyscallConn()
		if err != nil {
			return nil, fmt.Errorf("cannot write hand-over: %w", err)
		}
		raw.Control(func(u uintptr) { fds = append(fds, int(u)) })
	}
	data, err := json.Marshal(struct {
		*Document
		FDs []int `json:"fds"`
	}{d, fds})
	if err != nil {
		return nil, fmt.Errorf("cannot write hand-over: %w", err)
	}
	fd, err := unix.MemfdCreate(documentFile, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot write hand-over: cannot create memfd: %w", err)
	}
	f := os.NewFile(uintptr(fd), documentFile)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot write hand-over: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot write hand-over: %w", err)
	}
	return f, nil
}

// Read reads a document from r. A document of a newer format than Format,
// or of none, is refused with an error naming both formats.
func Read(r io.Reader) (*Document, error) {
	var doc struct {
		Document
		FDs []int `json:"fds"`
	}
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return nil, fmt.Errorf("cannot read hand-over: %w", err)
	}
	d := &doc.Document
	switch {
	case d.Format < 1:
		return nil, errors.New("cannot read hand-over: no format number")
	case d.Format > Format:
		return nil, fmt.Errorf("cannot read hand-over: format %d of %s is newer than format %d of this daemon", d.Format, d.Version, Format)
	}
	if d.Parts == nil {
		d.Parts = make(map[string]json.RawMessage)
	}
	d.taken = make(map[int]bool, len(doc.FDs))
	for _, fd := range doc.FDs {
		d.taken[fd] = true
	}
	return d, nil
}

// FromEnv reads the document named by variable (EnvFD or EnvCheck), closes
// its descriptor and removes the variable from the environment. It returns
// nil and no error when the variable is not set.
func FromEnv(variable string) (*Document, error) {
	value, ok := os.LookupEnv(variable)
	if !ok {
		return nil, nil
	}
	os.Unsetenv(variable)
	fd, err := strconv.Atoi(value)
	if err != nil || fd < 0 {
		return nil, fmt.Errorf("cannot read hand-over: $%s=%q is not a descriptor", variable, value)
	}
	unix.CloseOnExec(fd)
	f := os.NewFile(uintptr(fd), documentFile)
	defer f.Close()
	return Read(f)
}

// answerPrefix starts the answer of a binary that read a document.
const answerPrefix = "pebble-handover-ok"

// Answer is what a binary run in check mode writes to its stdout after
// reading the document: that it can take over, its version and the newest
// format it reads.
func Answer(version string) string {
	return fmt.Sprintf("%s format=%d version=%s\n", answerPrefix, Format, version)
}

// ParseAnswer reads the answer of a binary run in check mode and returns
// the version it reported. Output without the answer is an error quoting
// it.
func ParseAnswer(out []byte) (version string, err error) {
	text := strings.TrimSpace(string(out))
	for _, line := range strings.Split(text, "\n") {
		fields := strings.Fields(line)
		if len(fields) != 3 || fields[0] != answerPrefix {
			continue
		}
		format, ok1 := strings.CutPrefix(fields[1], "format=")
		version, ok2 := strings.CutPrefix(fields[2], "version=")
		if n, err := strconv.Atoi(format); !ok1 || !ok2 || err != nil || n < 1 {
			break
		}
		return version, nil
	}
	if len(text) > 200 {
		text = text[:200] + "..."
	}
	if text == "" {
		text = "no output"
	}
	return "", fmt.Errorf("did not answer the hand-over check (%s)", text)
}
