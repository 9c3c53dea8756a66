package osutil

import (
	"os"
	"syscall"
	"testing"
)

func TestParseProcStat(t *testing.T) {
	line := "1234 (a (weird) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 98765 1000 100 18446744073709551615\n"
	st, err := parseProcStat(1234, []byte(line))
	if err != nil {
		t.Fatal(err)
	}
	want := ProcStat{PID: 1234, State: 'S', PPID: 1, PGID: 1234, SID: 1234, StartTime: 98765}
	if st != want {
		t.Errorf("got %+v, want %+v", st, want)
	}
	if _, err := parseProcStat(1, []byte("garbage")); err == nil {
		t.Error("parse of garbage succeeded")
	}
}

func TestReadProcStatSelf(t *testing.T) {
	st, err := ReadProcStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.PPID != os.Getppid() || st.StartTime == 0 {
		t.Errorf("got %+v", st)
	}
}

func TestDescendants(t *testing.T) {
	procs := []ProcStat{{PID: 2, PPID: 1}, {PID: 3, PPID: 2}, {PID: 4, PPID: 3}, {PID: 5, PPID: 1}}
	got := Descendants(procs, 2)
	if len(got) != 2 || got[0].PID != 3 || got[1].PID != 4 {
		t.Errorf("got %+v", got)
	}
}

func TestSignalByName(t *testing.T) {
	for name, want := range map[string]syscall.Signal{"SIGHUP": syscall.SIGHUP, "SIGKILL": syscall.SIGKILL, "SIGUSR1": syscall.SIGUSR1} {
		got, ok := SignalByName(name)
		if !ok || got != want {
			t.Errorf("SignalByName(%q) = %v, %v", name, got, ok)
		}
	}
	for _, name := range []string{"HUP", "sighup", "SIGFOO", ""} {
		if _, ok := SignalByName(name); ok {
			t.Errorf("SignalByName(%q) succeeded", name)
		}
	}
	if got := SignalName(syscall.SIGTERM); got != "SIGTERM" {
		t.Errorf("SignalName = %q", got)
	}
}

func TestNormalizeUIDGID(t *testing.T) {
	zero := 0
	one := 1
	tests := []struct {
		name      string
		uid, gid  *int
		user, grp string
		wantUID   *int
		wantGID   *int
		wantErr   string
	}{
		{name: "nothing"},
		{name: "user", user: "root", wantUID: &zero, wantGID: &zero},
		{name: "uid", uid: &zero, wantUID: &zero, wantGID: &zero},
		{name: "mismatch", user: "root", uid: &one, wantErr: `user "root" UID (0) does not match user-id (1)`},
		{name: "group only", grp: "root", wantErr: "must specify user, not just group"},
		{name: "unknown", user: "no-such-user-xyz", wantErr: "user: unknown user no-such-user-xyz"},
		{name: "unknown group", user: "root", grp: "no-such-group-xyz", wantErr: "group: unknown group no-such-group-xyz"},
		{name: "group mismatch", user: "root", grp: "root", gid: &one, wantErr: `group "root" GID (0) does not match group-id (1)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			uid, gid, err := NormalizeUIDGID(tc.uid, tc.gid, tc.user, tc.grp)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !eqPtr(uid, tc.wantUID) || !eqPtr(gid, tc.wantGID) {
				t.Errorf("got %v %v", uid, gid)
			}
		})
	}
}

func eqPtr(a, b *int) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
