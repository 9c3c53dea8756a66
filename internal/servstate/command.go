package servstate

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pebble-project/pebble/internal/osutil"
	"github.com/pebble-project/pebble/internal/plan"
)

// buildCommand returns a fresh exec.Cmd for one run of svc: argv from the
// plan's command (the [ ... ] group's brackets removed, argv[0] resolved in
// the daemon's PATH), environment, credentials, working directory, its own
// process group, stdin /dev/null and stdout+stderr into out.
func buildCommand(svc *plan.Service, workload *plan.Workload, out io.Writer, killDelay time.Duration) (*exec.Cmd, error) {
	args, err := commandArgs(svc.Command)
	if err != nil {
		return nil, err
	}
	if len(args) == 0 {
		return nil, errors.New("empty command")
	}

	env := make(map[string]string)
	uid, gid := svc.UserID, svc.GroupID
	username, group := svc.User, svc.Group
	if workload != nil {
		for k, v := range workload.Environment {
			env[k] = v
		}
		uid, gid, username, group = workload.UserID, workload.GroupID, workload.User, workload.Group
	}
	for k, v := range svc.Environment {
		env[k] = v
	}
	uid, gid, err = osutil.NormalizeUIDGID(uid, gid, username, group)
	if err != nil {
		return nil, err
	}
	if uid != nil && (env["HOME"] == "" || env["USER"] == "") {
		u, err := user.LookupId(strconv.Itoa(*uid))
		if err != nil {
			return nil, err
		}
		if env["HOME"] == "" {
			env["HOME"] = u.HomeDir
		}
		if env["USER"] == "" {
			env["USER"] = u.Username
		}
	}

	cmd := exec.Command(args[0], args[1:]...)
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	cmd.Env = os.Environ()
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+env[k]) // os/exec keeps the last of duplicates
	}
	cmd.Dir = svc.WorkingDir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if uid != nil && (*uid != os.Getuid() || *gid != os.Getgid()) {
		cmd.SysProcAttr.Credential = &syscall.Credential{
			Uid:    uint32(*uid),
			Gid:    uint32(*gid),
			Groups: []uint32{}, // no supplementary groups
		}
	}
	// The same comparable value for both makes os/exec use one pipe and one
	// copying goroutine, so stdout and stderr interleave as written.
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.WaitDelay = time.Duration(float64(killDelay) * outputWaitFraction)
	return cmd, nil
}

// commandArgs splits a plan command into argv, dropping the brackets of a
// trailing [ ... ] group. The plan package validates commands when layers
// are parsed; this only needs to split them.
func commandArgs(command string) ([]string, error) {
	words, quoted, err := splitWords(command)
	if err != nil {
		return nil, fmt.Errorf("cannot parse service command: %w", err)
	}
	args := words[:0]
	for i, w := range words {
		if !quoted[i] && (w == "[" || w == "]") {
			continue
		}
		args = append(args, w)
	}
	return args, nil
}

// splitWords splits s with POSIX-shell-like quoting: whitespace separates
// words, single quotes are literal, double quotes allow \-escapes of
// \ " $ ` and newline, and a backslash outside quotes escapes the next
// character. quoted[i] reports whether word i used any quoting.
func splitWords(s string) (words []string, quoted []bool, err error) {
	var b strings.Builder
	inWord, q := false, false
	flush := func() {
		if inWord {
			words = append(words, b.String())
			quoted = append(quoted, q)
		}
		b.Reset()
		inWord, q = false, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			flush()
		case c == '\\':
			inWord, q = true, true
			if i+1 >= len(s) {
				return nil, nil, errors.New("EOF found after escape character")
			}
			i++
			if s[i] != '\n' {
				b.WriteByte(s[i])
			}
		case c == '\'':
			inWord, q = true, true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, nil, errors.New("EOF found when expecting closing quote")
			}
			b.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			inWord, q = true, true
			i++
			for ; ; i++ {
				if i >= len(s) {
					return nil, nil, errors.New("EOF found when expecting closing quote")
				}
				if s[i] == '"' {
					break
				}
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\\\"$`\n", s[i+1]) >= 0 {
					i++
					if s[i] == '\n' {
						continue
					}
				}
				b.WriteByte(s[i])
			}
		default:
			inWord = true
			b.WriteByte(c)
		}
	}
	flush()
	return words, quoted, nil
}
