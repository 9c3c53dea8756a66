package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/pebble-project/pebble/client"
	"github.com/pebble-project/pebble/internal/cli/command"
)

var execInfo = &command.Info{
	Name:    "exec",
	Summary: summaries["exec"],
	Description: `
The exec command runs a remote command and waits for it to finish. The local
stdin is sent to the remote process, while the remote stdout and stderr are
output locally.

To avoid confusion, exec options may be separated from the command and its
arguments using "--", for example:

pebble exec --timeout 10s -- echo -n foo bar`,
	Usage: "[exec-OPTIONS] <command>",
	Args:  []command.PosArg{{Name: "<command>", Rest: true}},
	New:   func() command.Command { return &cmdExec{} },
}

type cmdExec struct {
	workingDir         string
	env                []string
	uid, user          string
	gid, group         string
	timeout            string
	context            string
	forceTerminal      bool
	disableTerminal    bool
	forceInteractive   bool
	disableInteractive bool
}

func (c *cmdExec) Flags(fs *command.FlagSet) {
	fs.PassAfterNonOption()
	fs.String(&c.workingDir, 'w', "", "", "", "Working directory to run command in")
	fs.Strings(&c.env, 0, "env", "", "Environment variable to set (in 'FOO=bar' format)")
	fs.String(&c.uid, 0, "uid", "", "", "User ID to run command as")
	fs.String(&c.user, 0, "user", "", "", "Username to run command as (user's UID must match uid if both present)")
	fs.String(&c.gid, 0, "gid", "", "", "Group ID to run command as")
	fs.String(&c.group, 0, "group", "", "", "Group name to run command as (group's GID must match gid if both present)")
	fs.String(&c.timeout, 0, "timeout", "", "", "Timeout after which to terminate command")
	fs.String(&c.context, 0, "context", "", "", "Inherit the context of the named service (overridden by -w, --env, --uid/user, --gid/group)")
	fs.Bool(&c.forceTerminal, 't', "", "Allocate remote pseudo-terminal and connect stdout to it (default if stdout is a TTY)")
	fs.Bool(&c.disableTerminal, 'T', "", "Disable remote pseudo-terminal allocation")
	fs.Bool(&c.forceInteractive, 'i', "", "Interactive mode: connect stdin to the pseudo-terminal (default if stdin and stdout are TTYs)")
	fs.Bool(&c.disableInteractive, 'I', "", "Disable interactive mode and use a pipe for stdin")
}

// forwardedSignals are passed on to the remote command (cli.md §3.1).
var forwardedSignals = []os.Signal{
	syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGABRT, syscall.SIGTSTP,
	syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGSEGV,
	syscall.SIGCONT,
}

func (c *cmdExec) Run(ctx context.Context, e *command.Env, args []string) error {
	e.Warnings = false
	if c.forceTerminal && c.disableTerminal {
		return errors.New("cannot use -t and -T at the same time")
	}
	if c.forceInteractive && c.disableInteractive {
		return errors.New("cannot use -i and -I at the same time")
	}
	opts := &client.ExecOptions{
		Command:        args,
		ServiceContext: c.context,
		WorkingDir:     c.workingDir,
		User:           c.user,
		Group:          c.group,
	}
	var err error
	if opts.UserID, err = command.OptionalInt("uid", c.uid); err != nil {
		return err
	}
	if opts.GroupID, err = command.OptionalInt("gid", c.gid); err != nil {
		return err
	}
	if c.timeout != "" {
		if opts.Timeout, err = time.ParseDuration(c.timeout); err != nil {
			return fmt.Errorf("invalid timeout: %v", err)
		}
	}
	if term := e.Getenv("TERM"); term != "" || len(c.env) > 0 {
		opts.Environment = make(map[string]string)
		if term != "" {
			opts.Environment["TERM"] = term
		}
	}
	for _, kv := range c.env {
		k, v, _ := strings.Cut(kv, "=")
		opts.Environment[k] = v
	}

	stdinTTY, stdoutTTY := command.IsTerminal(e.Stdin), command.IsTerminal(e.Stdout)
	opts.Terminal = stdoutTTY
	if c.forceTerminal {
		opts.Terminal = true
	} else if c.disableTerminal {
		opts.Terminal = false
	}
	opts.Interactive = stdinTTY && stdoutTTY
	if c.forceInteractive {
		opts.Interactive = true
	} else if c.disableInteractive {
		opts.Interactive = false
	}
	outFile, _ := e.Stdout.(*os.File)
	if opts.Terminal && outFile != nil && stdoutTTY {
		if w, h, err := term.GetSize(int(outFile.Fd())); err == nil {
			opts.Width, opts.Height = w, h
		}
	}
	opts.Stdin = e.Stdin
	opts.Stdout = e.Stdout
	if !sameOutput(e.Stdout, e.Stderr) {
		opts.Stderr = e.Stderr
	}

	cli, err := e.Client()
	if err != nil {
		return err
	}
	// Signals are caught before the command starts, so none is lost.
	sigs := make(chan os.Signal, 8)
	notify := append([]os.Signal{syscall.SIGHUP}, forwardedSignals...)
	if opts.Terminal && stdoutTTY {
		notify = append(notify, syscall.SIGWINCH)
	}
	signal.Notify(sigs, notify...)
	defer signal.Stop(sigs)

	if opts.Interactive && stdinTTY {
		if inFile, ok := e.Stdin.(*os.File); ok {
			state, err := term.MakeRaw(int(inFile.Fd()))
			if err != nil {
				return fmt.Errorf("cannot set terminal to raw mode: %w", err)
			}
			defer term.Restore(int(inFile.Fd()), state)
		}
	}

	process, err := cli.Exec(ctx, opts)
	if err != nil {
		return err
	}
	waited := make(chan error, 1)
	go func() { waited <- process.Wait(ctx) }()
	for {
		select {
		case err := <-waited:
			var exit *client.ExitError
			if errors.As(err, &exit) {
				return &command.ExitError{Code: exit.ExitCode()}
			}
			return err
		case sig := <-sigs:
			switch sig {
			case syscall.SIGWINCH:
				if w, h, err := term.GetSize(int(outFile.Fd())); err == nil {
					process.SendResize(ctx, w, h)
				}
			case syscall.SIGHUP:
				process.SendSignal(ctx, "SIGHUP")
				return &command.ExitError{Code: 0, Msg: "SIGHUP received, exiting"}
			default:
				process.SendSignal(ctx, unixSignalName(sig))
			}
		}
	}
}

// unixSignalName returns the "SIG"-prefixed name of sig.
func unixSignalName(sig os.Signal) string {
	if s, ok := sig.(syscall.Signal); ok {
		if name := signalNames[s]; name != "" {
			return name
		}
	}
	return sig.String()
}

var signalNames = map[syscall.Signal]string{
	syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM", syscall.SIGQUIT: "SIGQUIT",
	syscall.SIGABRT: "SIGABRT", syscall.SIGTSTP: "SIGTSTP", syscall.SIGTTIN: "SIGTTIN",
	syscall.SIGTTOU: "SIGTTOU", syscall.SIGUSR1: "SIGUSR1", syscall.SIGUSR2: "SIGUSR2",
	syscall.SIGSEGV: "SIGSEGV", syscall.SIGCONT: "SIGCONT", syscall.SIGHUP: "SIGHUP",
}

// sameOutput reports whether stdout and stderr go to the same place, in
// which case the daemon merges stderr into stdout.
func sameOutput(stdout, stderr any) bool {
	if stdout == stderr {
		return true
	}
	f1, ok1 := stdout.(*os.File)
	f2, ok2 := stderr.(*os.File)
	if !ok1 || !ok2 {
		return false
	}
	st1, err1 := f1.Stat()
	st2, err2 := f2.Stat()
	return err1 == nil && err2 == nil && os.SameFile(st1, st2)
}
