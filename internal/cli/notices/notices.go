// Package notices holds the pebble commands for notices and warnings:
// notices, notice, notify, warnings and okay (cli.md §2, "Notices"). What was
// last listed and acknowledged is kept in the CLI state (command.CLIState).
package notices

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pebble-project/pebble/client"
	"github.com/pebble-project/pebble/internal/cli/command"
)

// Commands are the notice and warning commands: notices, notice, notify, warnings and okay.
var Commands = []*command.Info{noticesInfo, noticeInfo, notifyInfo, warningsInfo, okayInfo}

var noticesInfo = &command.Info{
	Name:    "notices",
	Summary: "List notices",
	Description: `
The notices command lists notices not yet acknowledged with 'pebble okay',
oldest first. With --timeout it waits up to that long for a notice to
match.`,
	Usage: "[notices-OPTIONS]",
	New:   func() command.Command { return &cmdNotices{} },
}

type cmdNotices struct {
	users   string
	uid     string
	types   []string
	keys    []string
	timeout string
	absTime bool
	format  string
}

func (c *cmdNotices) Flags(fs *command.FlagSet) {
	fs.String(&c.users, 0, "users", "", "", "The only valid value is 'all', which lists notices of every user (admin only)", "all")
	fs.String(&c.uid, 0, "uid", "<uid>", "", "Only list notices of this user ID, and public ones (admin only)")
	fs.Strings(&c.types, 0, "type", "<type>", "Only list notices of this type (may be repeated)")
	fs.Strings(&c.keys, 0, "key", "<key>", "Only list notices with this key (may be repeated)")
	fs.String(&c.timeout, 0, "timeout", "<duration>", "", "Wait up to this long for matching notices to arrive")
	command.AbsTimeFlag(fs, &c.absTime)
	command.FormatFlag(fs, &c.format)
}

func (c *cmdNotices) Run(ctx context.Context, e *command.Env, _ []string) error {
	opts := &client.NoticesOptions{Users: client.NoticesUsers(c.users), Keys: c.keys}
	for _, t := range c.types {
		opts.Types = append(opts.Types, client.NoticeType(t))
	}
	if c.uid != "" {
		n, err := strconv.ParseUint(c.uid, 10, 32)
		if err != nil {
			return fmt.Errorf("invalid --uid %q: must be a user ID", c.uid)
		}
		uid := uint32(n)
		opts.UserID = &uid
	}
	var timeout time.Duration
	if c.timeout != "" {
		d, err := time.ParseDuration(c.timeout)
		if err != nil {
			return fmt.Errorf("invalid --timeout: %v", err)
		}
		timeout = d
	}
	st, err := e.LoadCLIState()
	if err != nil {
		return err
	}
	opts.After = st.NoticesLastOkayed
	cli, err := e.Client()
	if err != nil {
		return err
	}
	var list []*client.Notice
	if timeout > 0 {
		list, err = cli.WaitNotices(ctx, timeout, opts)
	} else {
		list, err = cli.Notices(ctx, opts)
	}
	if err != nil {
		return err
	}
	if len(list) > 0 {
		last := list[len(list)-1].LastRepeated
		if err := e.UpdateCLIState(func(s *command.CLIState) { s.NoticesLastListed = last }); err != nil {
			return err
		}
	}
	if c.format != "text" {
		if list == nil {
			list = []*client.Notice{}
		}
		return command.WriteNonText(e.Stdout, c.format, struct {
			Notices []*client.Notice `json:"notices" yaml:"notices"`
		}{list})
	}
	if len(list) == 0 {
		if timeout > 0 {
			fmt.Fprintf(e.Stderr, "No matching notices after waiting %s.\n", timeout)
		} else {
			fmt.Fprintln(e.Stderr, "No matching notices.")
		}
		return nil
	}
	w := command.NewTable(e.Stdout)
	fmt.Fprintln(w, "ID\tUser\tType\tKey\tFirst\tRepeated\tOccurrences")
	now := e.Now()
	for _, n := range list {
		user := "public"
		if n.UserID != nil {
			user = strconv.FormatUint(uint64(*n.UserID), 10)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", n.ID, user, n.Type, truncateKey(n.Key),
			command.FormatTime(n.FirstOccurred, now, e.Loc, c.absTime), command.FormatTime(n.LastRepeated, now, e.Loc, c.absTime), n.Occurrences)
	}
	return w.Flush()
}

// truncateKey shortens keys longer than 32 bytes to their first 14 and
// last 15 bytes around "..." (cli.md §3).
func truncateKey(k string) string {
	if len(k) <= 32 {
		return k
	}
	return k[:14] + "..." + k[len(k)-15:]
}

var noticeInfo = &command.Info{
	Name:    "notice",
	Summary: "Fetch a single notice",
	Description: `
The notice command shows one notice, given its ID, or given its type and
key.`,
	Usage: "[notice-OPTIONS] <id-or-type> [<key>]",
	Args:  []command.PosArg{{Name: "<id-or-type>"}, {Name: "<key>", Optional: true}},
	New:   func() command.Command { return &cmdNotice{} },
}

type cmdNotice struct {
	uid    string
	format string
}

func (c *cmdNotice) Flags(fs *command.FlagSet) {
	fs.String(&c.uid, 0, "uid", "<uid>", "", "Look up the notice of this user ID (with a type and key only; admin only)")
	command.FormatFlag(fs, &c.format)
}

func (c *cmdNotice) Run(ctx context.Context, e *command.Env, args []string) error {
	cli, err := e.Client()
	if err != nil {
		return err
	}
	var n *client.Notice
	if len(args) == 1 {
		if c.uid != "" {
			return errors.New("cannot use --uid option when looking up notice by key")
		}
		if n, err = cli.Notice(ctx, args[0]); err != nil {
			return err
		}
	} else {
		opts := &client.NoticesOptions{Types: []client.NoticeType{client.NoticeType(args[0])}, Keys: []string{args[1]}}
		if c.uid != "" {
			v, err := strconv.ParseUint(c.uid, 10, 32)
			if err != nil {
				return fmt.Errorf("invalid --uid %q: must be a user ID", c.uid)
			}
			uid := uint32(v)
			opts.UserID = &uid
		}
		list, err := cli.Notices(ctx, opts)
		if err != nil {
			return err
		}
		// The caller's own notice wins over a public one with the same key.
		for _, cand := range list {
			if n == nil || cand.UserID != nil {
				n = cand
			}
		}
		if n == nil {
			return fmt.Errorf("cannot find %s notice with key %q", args[0], args[1])
		}
	}
	format := c.format
	if format == "text" {
		format = "yaml"
	}
	return command.WriteNonText(e.Stdout, format, n)
}

var notifyInfo = &command.Info{
	Name:    "notify",
	Summary: "Record a custom notice",
	Description: `
The notify command records a custom notice: an occurrence of the notice
with the given key, carrying the given name=value data. The key must be in
"example.com/path" format.`,
	Usage: "[notify-OPTIONS] <key> [<data>...]",
	Args:  []command.PosArg{{Name: "<key>"}, {Name: "<data>", Rest: true, Optional: true}},
	New:   func() command.Command { return &cmdNotify{} },
}

type cmdNotify struct {
	repeatAfter string
}

func (c *cmdNotify) Flags(fs *command.FlagSet) {
	fs.String(&c.repeatAfter, 0, "repeat-after", "<duration>", "", "Do not count as a repeat an occurrence within this long of the previous repeat")
}

func (c *cmdNotify) Run(ctx context.Context, e *command.Env, args []string) error {
	opts := &client.NotifyOptions{Type: client.CustomNotice, Key: args[0]}
	for _, arg := range args[1:] {
		name, value, ok := strings.Cut(arg, "=")
		if !ok || name == "" {
			return fmt.Errorf("data args must be in \"name=value\" format, not %q", arg)
		}
		if opts.Data == nil {
			opts.Data = make(map[string]string)
		}
		opts.Data[name] = value
	}
	if c.repeatAfter != "" {
		d, err := time.ParseDuration(c.repeatAfter)
		if err != nil {
			return fmt.Errorf("invalid --repeat-after: %v", err)
		}
		opts.RepeatAfter = d
	}
	cli, err := e.Client()
	if err != nil {
		return err
	}
	id, err := cli.Notify(ctx, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "Recorded notice %s\n", id)
	return nil
}

var warningsInfo = &command.Info{
	Name:    "warnings",
	Summary: "List warnings",
	Description: `
The warnings command lists the warnings not yet acknowledged with
'pebble okay', or all of them with --all.`,
	Usage: "[warnings-OPTIONS]",
	New:   func() command.Command { return &cmdWarnings{} },
}

type cmdWarnings struct {
	all     bool
	verbose bool
	unicode string
	absTime bool
	format  string
}

func (c *cmdWarnings) Flags(fs *command.FlagSet) {
	fs.Bool(&c.all, 0, "all", "Show all warnings, also those already acknowledged")
	fs.Bool(&c.verbose, 0, "verbose", "Show more information")
	fs.String(&c.unicode, 0, "unicode", "", "auto", "Use a little bit of Unicode to improve legibility", "auto", "never", "always")
	command.AbsTimeFlag(fs, &c.absTime)
	command.FormatFlag(fs, &c.format)
}

func (c *cmdWarnings) Run(ctx context.Context, e *command.Env, _ []string) error {
	st, err := e.LoadCLIState()
	if err != nil {
		return err
	}
	opts := &client.NoticesOptions{Types: []client.NoticeType{client.WarningNotice}}
	if !c.all {
		opts.After = st.WarningsLastOkayed
	}
	cli, err := e.Client()
	if err != nil {
		return err
	}
	list, err := cli.Notices(ctx, opts)
	if err != nil {
		return err
	}
	if len(list) > 0 {
		last := list[len(list)-1].LastRepeated
		if err := e.UpdateCLIState(func(s *command.CLIState) { s.WarningsLastListed = last }); err != nil {
			return err
		}
	}
	if c.format != "text" {
		if list == nil {
			list = []*client.Notice{}
		}
		return command.WriteNonText(e.Stdout, c.format, struct {
			Warnings []*client.Notice `json:"warnings" yaml:"warnings"`
		}{list})
	}
	if len(list) == 0 {
		if !st.WarningsLastOkayed.IsZero() && !c.all {
			fmt.Fprintln(e.Stderr, "No further warnings.")
		} else {
			fmt.Fprintln(e.Stderr, "No warnings.")
		}
		return nil
	}
	now := e.Now()
	for i, n := range list {
		if i > 0 {
			fmt.Fprintln(e.Stdout, "---")
		}
		if c.verbose {
			fmt.Fprintf(e.Stdout, "first-occurrence: %s\n", command.FormatTime(n.FirstOccurred, now, e.Loc, c.absTime))
		}
		fmt.Fprintf(e.Stdout, "last-occurrence: %s\n", command.FormatTime(n.LastOccurred, now, e.Loc, c.absTime))
		if c.verbose {
			fmt.Fprintf(e.Stdout, "last-repeated: %s\n", command.FormatTime(n.LastRepeated, now, e.Loc, c.absTime))
			fmt.Fprintf(e.Stdout, "repeats-after: %s\n", n.RepeatAfter)
			fmt.Fprintf(e.Stdout, "expires-after: %s\n", n.ExpireAfter)
		}
		fmt.Fprintln(e.Stdout, "warning: |")
		fmt.Fprintf(e.Stdout, "  %s\n", command.WrapHelp(n.Key, e.Width-3, "  "))
	}
	return nil
}

var okayInfo = &command.Info{
	Name:    "okay",
	Summary: "Acknowledge notices and warnings",
	Description: `
The okay command acknowledges the notices and warnings listed last, so that
'pebble notices' and 'pebble warnings' show only newer ones. It changes
nothing on the server.`,
	Usage: "[okay-OPTIONS]",
	New:   func() command.Command { return &cmdOkay{} },
}

type cmdOkay struct {
	warnings bool
}

func (c *cmdOkay) Flags(fs *command.FlagSet) {
	fs.Bool(&c.warnings, 0, "warnings", "Only acknowledge warnings, not other notices")
}

func (c *cmdOkay) Run(ctx context.Context, e *command.Env, _ []string) error {
	st, err := e.LoadCLIState()
	if err != nil {
		return err
	}
	if c.warnings {
		if st.WarningsLastListed.IsZero() {
			return errors.New("no warnings have been listed; try 'pebble warnings'")
		}
	} else if st.NoticesLastListed.IsZero() && st.WarningsLastListed.IsZero() {
		return errors.New("no notices or warnings have been listed; try 'pebble notices' or 'pebble warnings'")
	}
	return e.UpdateCLIState(func(s *command.CLIState) {
		s.WarningsLastOkayed = s.WarningsLastListed
		if !c.warnings {
			s.NoticesLastOkayed = s.NoticesLastListed
		}
	})
}
