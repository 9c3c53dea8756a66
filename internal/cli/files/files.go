// Package files holds the pebble commands that work with the files of the
// daemon's system: push, pull, ls, mkdir and rm (cli.md §2, "Files").
package files

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/pebble-project/pebble/client"
	"github.com/pebble-project/pebble/internal/cli/command"
)

// Commands are the file commands: push, pull, ls, mkdir and rm.
var Commands = []*command.Info{pushInfo, pullInfo, lsInfo, mkdirInfo, rmInfo}

// ownerFlags are the --uid, --user, --gid and --group options of push and
// mkdir.
type ownerFlags struct {
	uid, user, gid, group string
}

func (o *ownerFlags) flags(fs *command.FlagSet, what string) {
	fs.String(&o.uid, 0, "uid", "", "", "Use specified user ID for "+what)
	fs.String(&o.user, 0, "user", "", "", "Use specified username for "+what+" (must match --uid if both present)")
	fs.String(&o.gid, 0, "gid", "", "", "Use specified group ID for "+what)
	fs.String(&o.group, 0, "group", "", "", "Use specified group name for "+what+" (must match --gid if both present)")
}

func (o *ownerFlags) ids() (uid, gid *int, err error) {
	if uid, err = command.OptionalInt("uid", o.uid); err != nil {
		return nil, nil, err
	}
	if gid, err = command.OptionalInt("gid", o.gid); err != nil {
		return nil, nil, err
	}
	return uid, gid, nil
}

// parseMode parses a -m value: permission bits in octal.
func parseMode(s string) (fs.FileMode, error) {
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || len(s) != 3 {
		return 0, fmt.Errorf("invalid mode for directory: %q", s)
	}
	return fs.FileMode(n), nil
}

var pushInfo = &command.Info{
	Name:    "push",
	Summary: "Transfer a file to the remote system",
	Description: `
The push command transfers a file to the remote system. The file is written
atomically: it appears complete or not at all.`,
	Usage: "[push-OPTIONS] <local-path> <remote-path>",
	Args:  []command.PosArg{{Name: "<local-path>"}, {Name: "<remote-path>"}},
	New:   func() command.Command { return &cmdPush{} },
}

type cmdPush struct {
	makeDirs    bool
	permissions string
	owner       ownerFlags
}

func (c *cmdPush) Flags(fs *command.FlagSet) {
	fs.Bool(&c.makeDirs, 'p', "", "Create parent directories for the file")
	fs.String(&c.permissions, 'm', "", "", "", "Override mode bits (3-digit octal)")
	c.owner.flags(fs, "file ownership")
}

func (c *cmdPush) Run(ctx context.Context, e *command.Env, args []string) error {
	local, remote := args[0], args[1]
	uid, gid, err := c.owner.ids()
	if err != nil {
		return err
	}
	f, err := os.Open(local)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	perm := st.Mode().Perm()
	if c.permissions != "" {
		if perm, err = parseMode(c.permissions); err != nil {
			return err
		}
	}
	cli, err := e.Client()
	if err != nil {
		return err
	}
	return cli.Push(ctx, &client.PushOptions{
		Source: f, Path: remote, MakeDirs: c.makeDirs, Permissions: perm,
		UserID: uid, User: c.owner.user, GroupID: gid, Group: c.owner.group,
	})
}

var pullInfo = &command.Info{
	Name:    "pull",
	Summary: "Retrieve a file from the remote system",
	Description: `
The pull command retrieves a file from the remote system.`,
	Usage: "<remote-path> <local-path>",
	Args:  []command.PosArg{{Name: "<remote-path>"}, {Name: "<local-path>"}},
	New:   func() command.Command { return &cmdPull{} },
}

type cmdPull struct{}

func (c *cmdPull) Flags(*command.FlagSet) {}

func (c *cmdPull) Run(ctx context.Context, e *command.Env, args []string) error {
	remote, local := args[0], args[1]
	cli, err := e.Client()
	if err != nil {
		return err
	}
	f, err := os.Create(local)
	if err != nil {
		return err
	}
	err = cli.Pull(ctx, &client.PullOptions{Path: remote, Target: f})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(local)
	}
	return err
}

var lsInfo = &command.Info{
	Name:    "ls",
	Summary: "List path contents",
	Description: `
The ls command lists entries in the filesystem at the specified path. A glob
pattern may be specified for the last path element.`,
	Usage: "[ls-OPTIONS] <path>",
	Args:  []command.PosArg{{Name: "<path>"}},
	New:   func() command.Command { return &cmdLs{} },
}

type cmdLs struct {
	directory bool
	long      bool
	absTime   bool
	format    string
}

func (c *cmdLs) Flags(fs *command.FlagSet) {
	fs.Bool(&c.directory, 'd', "", "List matching entries themselves, not directory contents")
	fs.Bool(&c.long, 'l', "", "Use a long listing format")
	command.AbsTimeFlag(fs, &c.absTime)
	command.FormatFlag(fs, &c.format)
}

// globChars are the characters that make a path element a pattern.
const globChars = "*?["

// splitGlob splits a path whose last element is a pattern into the
// directory and the pattern; a path without a pattern is returned whole.
func splitGlob(p string) (dir, pattern string, err error) {
	dir, last := path.Split(p)
	if strings.ContainsAny(dir, globChars) {
		return "", "", errors.New("can only use globs on the last path element")
	}
	if !strings.ContainsAny(last, globChars) {
		return p, "", nil
	}
	if dir == "" {
		dir = "."
	}
	return path.Clean(dir), last, nil
}

func (c *cmdLs) Run(ctx context.Context, e *command.Env, args []string) error {
	dir, pattern, err := splitGlob(args[0])
	if err != nil {
		return err
	}
	cli, err := e.Client()
	if err != nil {
		return err
	}
	infos, err := cli.ListFiles(ctx, &client.ListFilesOptions{Path: dir, Pattern: pattern, Itself: c.directory})
	if err != nil {
		return err
	}
	if c.format != "text" {
		list := make([]lsEntry, len(infos))
		for i, fi := range infos {
			list[i] = newLsEntry(fi)
		}
		return command.WriteNonText(e.Stdout, c.format, struct {
			Files []lsEntry `json:"files" yaml:"files"`
		}{list})
	}
	if !c.long {
		for _, fi := range infos {
			fmt.Fprintln(e.Stdout, fi.Name())
		}
		return nil
	}
	w := command.NewTable(e.Stdout)
	for _, fi := range infos {
		size := "-"
		if fi.Mode().IsRegular() {
			size = fmt.Sprintf("%6s", formatAmount(fi.Size())+"B")
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", fi.Mode(), ownerName(fi.User(), fi.UserID()),
			ownerName(fi.Group(), fi.GroupID()), size, command.FormatTime(fi.ModTime(), e.Now(), e.Loc, c.absTime), fi.Name())
	}
	return w.Flush()
}

// ownerName is the owner's name, or its ID when it has no name.
func ownerName(name string, id *int) string {
	if name == "" && id != nil {
		return strconv.Itoa(*id)
	}
	return name
}

// formatAmount formats a byte count in at most 5 characters: the number
// itself up to 5000, else 3 significant digits and an SI prefix ("12.3k").
func formatAmount(n int64) string {
	if n <= 5000 {
		return strconv.FormatInt(n, 10)
	}
	r := float64(n)
	var prefix rune
	for _, prefix = range "kMGTPE" {
		r /= 1000
		if r < 999.5 {
			break
		}
	}
	switch {
	case r < 9.995:
		return fmt.Sprintf("%.2f%c", r, prefix)
	case r < 99.95:
		return fmt.Sprintf("%.1f%c", r, prefix)
	}
	return fmt.Sprintf("%.0f%c", r, prefix)
}

// lsEntry is a file in ls's json and yaml output.
type lsEntry struct {
	Path         string `json:"path" yaml:"path"`
	Name         string `json:"name" yaml:"name"`
	Type         string `json:"type" yaml:"type"`
	Size         *int64 `json:"size,omitempty" yaml:"size,omitempty"`
	Permissions  string `json:"permissions" yaml:"permissions"`
	LastModified string `json:"last-modified" yaml:"last-modified"`
	UserID       *int   `json:"user-id,omitempty" yaml:"user-id,omitempty"`
	User         string `json:"user,omitempty" yaml:"user,omitempty"`
	GroupID      *int   `json:"group-id,omitempty" yaml:"group-id,omitempty"`
	Group        string `json:"group,omitempty" yaml:"group,omitempty"`
}

func newLsEntry(fi *client.FileInfo) lsEntry {
	mode := fi.Mode()
	entry := lsEntry{
		Path: fi.Path(), Name: fi.Name(), Type: fi.Type(),
		Permissions:  fmt.Sprintf("%03o", mode.Perm()),
		LastModified: fi.ModTime().Format(time.RFC3339),
		UserID:       fi.UserID(), User: fi.User(), GroupID: fi.GroupID(), Group: fi.Group(),
	}
	if mode.IsRegular() {
		size := fi.Size()
		entry.Size = &size
	}
	return entry
}

var mkdirInfo = &command.Info{
	Name:    "mkdir",
	Summary: "Create a directory",
	Description: `
The mkdir command creates the specified directory.`,
	Usage: "[mkdir-OPTIONS] <path>",
	Args:  []command.PosArg{{Name: "<path>"}},
	New:   func() command.Command { return &cmdMkdir{} },
}

type cmdMkdir struct {
	makeParents bool
	permissions string
	owner       ownerFlags
}

func (c *cmdMkdir) Flags(fs *command.FlagSet) {
	fs.Bool(&c.makeParents, 'p', "", "Create parent directories as needed, and don't fail if path already exists")
	fs.String(&c.permissions, 'm', "", "", "", "Override mode bits (3-digit octal)")
	c.owner.flags(fs, "directory ownership")
}

func (c *cmdMkdir) Run(ctx context.Context, e *command.Env, args []string) error {
	uid, gid, err := c.owner.ids()
	if err != nil {
		return err
	}
	var perm fs.FileMode
	if c.permissions != "" {
		if perm, err = parseMode(c.permissions); err != nil {
			return err
		}
	}
	cli, err := e.Client()
	if err != nil {
		return err
	}
	return cli.MakeDir(ctx, &client.MakeDirOptions{
		Path: args[0], MakeParents: c.makeParents, Permissions: perm,
		UserID: uid, User: c.owner.user, GroupID: gid, Group: c.owner.group,
	})
}

var rmInfo = &command.Info{
	Name:    "rm",
	Summary: "Remove a file or directory",
	Description: `
The rm command removes a file or directory.`,
	Usage: "[rm-OPTIONS] <path>",
	Args:  []command.PosArg{{Name: "<path>"}},
	New:   func() command.Command { return &cmdRm{} },
}

type cmdRm struct {
	recursive bool
}

func (c *cmdRm) Flags(fs *command.FlagSet) {
	fs.Bool(&c.recursive, 'r', "", "Remove all files and directories recursively")
}

func (c *cmdRm) Run(ctx context.Context, e *command.Env, args []string) error {
	cli, err := e.Client()
	if err != nil {
		return err
	}
	return cli.RemovePath(ctx, &client.RemovePathOptions{Path: args[0], Recursive: c.recursive})
}
