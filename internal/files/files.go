package files

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pebble-project/pebble/internal/osutil"
)

// Error kinds of the files API (api.md §3).
const (
	KindNotFound         = "not-found"
	KindPermissionDenied = "permission-denied"
	KindGeneric          = "generic-file-error"
)

// Kind classifies a file error as an API error kind.
func Kind(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return KindNotFound
	case errors.Is(err, fs.ErrPermission):
		return KindPermissionDenied
	}
	return KindGeneric
}

// checkAbsolute is the path check of read, write, make-dirs and remove.
func checkAbsolute(path string) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("paths must be absolute, got %q", path)
	}
	return nil
}

// Owner names the owner of written files and created directories
// (layers.md §3.3). The zero value keeps the daemon's user.
type Owner struct {
	UserID  *int
	User    string
	GroupID *int
	Group   string
}

// resolve returns the UID and GID to chown to; both nil when unset.
func (o Owner) resolve() (uid, gid *int, err error) {
	uid, gid, err = osutil.NormalizeUIDGID(o.UserID, o.GroupID, o.User, o.Group)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot look up user and group: %w", err)
	}
	return uid, gid, nil
}

// parsePermissions parses a 3-digit octal string; "" gives def.
func parsePermissions(s string, def fs.FileMode) (fs.FileMode, error) {
	if s == "" {
		return def, nil
	}
	if len(s) != 3 {
		return 0, fmt.Errorf("permissions must be a 3-digit octal string, got %q", s)
	}
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil {
		return 0, fmt.Errorf("permissions must be a 3-digit octal string, got %q", s)
	}
	return fs.FileMode(n), nil
}

// Info describes one file system entry (api.md §17.1).
type Info struct {
	Path string
	Name string
	// Type is "file", "directory", "symlink", "socket", "named-pipe",
	// "device" or "unknown".
	Type string
	// Size is set for regular files only.
	Size *int64
	// Permissions is the 3-digit octal permission bits, e.g. "644".
	Permissions string
	// LastModified has second precision.
	LastModified time.Time
	UserID       int
	GroupID      int
	// User and Group are the owner's names, "" when the ID has none.
	User  string
	Group string
}

// List lists path: the entries of a directory (not following symlinks),
// or, for anything else or when itself is set, the path alone (resolved
// through symlinks). A non-empty pattern keeps the entries whose name
// matches it (path/filepath.Match syntax).
func List(path, pattern string, itself bool) ([]Info, error) {
	if pattern != "" {
		if _, err := filepath.Match(pattern, ""); err != nil {
			return nil, fmt.Errorf("invalid pattern %q: %w", pattern, err)
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	names := newNameCache()
	match := func(name string) bool {
		if pattern == "" {
			return true
		}
		ok, _ := filepath.Match(pattern, name)
		return ok
	}
	infos := []Info{}
	if !st.IsDir() || itself {
		if match(st.Name()) {
			infos = append(infos, names.info(path, st))
		}
		return infos, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if !match(e.Name()) {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		infos = append(infos, names.info(filepath.Join(path, e.Name()), fi))
	}
	return infos, nil
}

// nameCache caches user and group names for one listing.
type nameCache struct {
	users, groups map[int]string
}

func newNameCache() *nameCache {
	return &nameCache{users: make(map[int]string), groups: make(map[int]string)}
}

func (c *nameCache) user(uid int) string {
	name, ok := c.users[uid]
	if !ok {
		if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
			name = u.Username
		}
		c.users[uid] = name
	}
	return name
}

func (c *nameCache) group(gid int) string {
	name, ok := c.groups[gid]
	if !ok {
		if g, err := user.LookupGroupId(strconv.Itoa(gid)); err == nil {
			name = g.Name
		}
		c.groups[gid] = name
	}
	return name
}

func (c *nameCache) info(path string, fi fs.FileInfo) Info {
	mode := fi.Mode()
	info := Info{
		Path:         path,
		Name:         fi.Name(),
		Type:         typeOf(mode),
		Permissions:  fmt.Sprintf("%03o", mode.Perm()),
		LastModified: fi.ModTime().Truncate(time.Second),
	}
	if mode.IsRegular() {
		size := fi.Size()
		info.Size = &size
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		info.UserID, info.GroupID = int(st.Uid), int(st.Gid)
		info.User, info.Group = c.user(info.UserID), c.group(info.GroupID)
	}
	return info
}

func typeOf(mode fs.FileMode) string {
	switch {
	case mode.IsRegular():
		return "file"
	case mode.IsDir():
		return "directory"
	case mode&fs.ModeSymlink != 0:
		return "symlink"
	case mode&fs.ModeSocket != 0:
		return "socket"
	case mode&fs.ModeNamedPipe != 0:
		return "named-pipe"
	case mode&fs.ModeDevice != 0:
		return "device"
	}
	return "unknown"
}

// Open opens a regular file for reading.
func Open(path string) (*os.File, error) {
	if err := checkAbsolute(path); err != nil {
		return nil, err
	}
	// O_NONBLOCK: opening a named pipe must not wait for a writer.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("can only read a regular file: %q", path)
	}
	return f, nil
}

// WriteSpec is one file to write (api.md §17.3).
type WriteSpec struct {
	Path string
	// MakeDirs creates missing parent directories (mode 0755, owned by
	// Owner).
	MakeDirs bool
	// Permissions is a 3-digit octal string; "" means "644".
	Permissions string
	Owner
}

// copyBufferSize is the size of the buffer writes copy through.
const copyBufferSize = 256 * 1024

// Write writes content to spec.Path atomically: into a temporary file in
// the same directory, given its mode and owner, then renamed into place.
// On any error, including one reading content, the target is untouched and
// the temporary file removed.
func Write(spec WriteSpec, content io.Reader) error {
	if err := checkAbsolute(spec.Path); err != nil {
		return err
	}
	perm, err := parsePermissions(spec.Permissions, 0o644)
	if err != nil {
		return err
	}
	uid, gid, err := spec.resolve()
	if err != nil {
		return err
	}
	dir := filepath.Dir(spec.Path)
	if spec.MakeDirs {
		if err := mkdirAll(dir, 0o755, uid, gid); err != nil {
			return err
		}
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(spec.Path)+".pebble-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	committed := false
	defer func() {
		if !committed {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := copyToDisk(f, content); err != nil {
		return fmt.Errorf("cannot write file %q: %w", spec.Path, err)
	}
	// Explicit chmod: the mode must not depend on the daemon's umask.
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if uid != nil {
		if err := f.Chown(*uid, *gid); err != nil {
			return err
		}
	}
	// Synced before the rename, so that after a crash the path holds either
	// the old content or all of the new, never an empty file.
	if err := f.Sync(); err != nil {
		return fmt.Errorf("cannot write file %q: %w", spec.Path, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, spec.Path); err != nil {
		return err
	}
	committed = true
	return nil
}

// writebackChunk is how much of a file copyToDisk writes before it asks
// the kernel to start writing that much out to the device.
const writebackChunk = 8 << 20

// copyToDisk copies content into f in writes of copyBufferSize (a
// multipart part returns a few KiB a read), and starts the writeback of
// each writebackChunk as soon as it is written, so that the disk works
// while the rest arrives and the fsync at the end waits only for the last
// chunk, not for the whole file.
func copyToDisk(f *os.File, content io.Reader) error {
	buf := make([]byte, copyBufferSize)
	var written, flushed int64
	for {
		n, err := fill(content, buf)
		if n > 0 {
			if _, werr := f.Write(buf[:n]); werr != nil {
				return werr
			}
			written += int64(n)
		}
		if written-flushed >= writebackChunk {
			// Only a hint: where the file system cannot, the fsync
			// does it all.
			unix.SyncFileRange(int(f.Fd()), flushed, written-flushed, unix.SYNC_FILE_RANGE_WRITE)
			flushed = written
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// fill reads from r until buf is full or r returns an error, which it
// returns as it is (io.EOF at the end).
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// DirSpec is one directory to make (api.md §17.4).
type DirSpec struct {
	Path string
	// MakeParents creates missing parents too, with the same mode and
	// owner; an existing directory is then not an error.
	MakeParents bool
	// Permissions is a 3-digit octal string; "" means "755".
	Permissions string
	Owner
}

// MakeDir makes a directory with exactly the given permissions (the umask
// does not apply) and owner.
func MakeDir(spec DirSpec) error {
	if err := checkAbsolute(spec.Path); err != nil {
		return err
	}
	perm, err := parsePermissions(spec.Permissions, 0o755)
	if err != nil {
		return err
	}
	uid, gid, err := spec.resolve()
	if err != nil {
		return err
	}
	if spec.MakeParents {
		return mkdirAll(spec.Path, perm, uid, gid)
	}
	return mkdir(spec.Path, perm, uid, gid)
}

func mkdir(path string, perm fs.FileMode, uid, gid *int) error {
	if err := os.Mkdir(path, perm); err != nil {
		return err
	}
	if err := os.Chmod(path, perm); err != nil {
		return err
	}
	if uid != nil {
		return os.Chown(path, *uid, *gid)
	}
	return nil
}

// mkdirAll makes path and its missing parents, each with perm and owner.
func mkdirAll(path string, perm fs.FileMode, uid, gid *int) error {
	st, err := os.Stat(path)
	if err == nil {
		if st.IsDir() {
			return nil
		}
		return &fs.PathError{Op: "mkdir", Path: path, Err: syscall.ENOTDIR}
	}
	if parent := filepath.Dir(path); parent != path {
		if err := mkdirAll(parent, perm, uid, gid); err != nil {
			return err
		}
	}
	err = mkdir(path, perm, uid, gid)
	if errors.Is(err, fs.ErrExist) {
		// Made meanwhile by someone else: fine if it is a directory.
		if st, serr := os.Stat(path); serr == nil && st.IsDir() {
			return nil
		}
	}
	return err
}

// Remove removes path; recursive removes a directory with its contents,
// and a missing path is then not an error.
func Remove(path string, recursive bool) error {
	if err := checkAbsolute(path); err != nil {
		return err
	}
	if recursive {
		return os.RemoveAll(path)
	}
	return os.Remove(path)
}
