package changes

import "testing"

func TestStatusStringReady(t *testing.T) {
	names := map[Status]string{
		Default: "Default", Hold: "Hold", Do: "Do", Doing: "Doing", Done: "Done",
		Abort: "Abort", Undo: "Undo", Undoing: "Undoing", Undone: "Undone",
		Error: "Error", Wait: "Wait", Status(42): "Unknown",
	}
	for s, want := range names {
		if got := s.String(); got != want {
			t.Errorf("Status(%d).String() = %q, want %q", int(s), got, want)
		}
	}
	for s := Default; s < nStatus; s++ {
		want := s == Done || s == Undone || s == Hold || s == Error
		if s.Ready() != want {
			t.Errorf("%v.Ready() = %v, want %v", s, s.Ready(), want)
		}
	}
	// The integers are those of Pebble's state file.
	if Hold != 1 || Do != 2 || Done != 4 || Error != 9 || Wait != 10 {
		t.Errorf("status integers do not match behaviour.md §10.1")
	}
}

// tk is a task in a status table: its status and the indexes it waits for.
type tk struct {
	s    Status
	wait []int
}

func TestDeriveStatus(t *testing.T) {
	tests := []struct {
		name     string
		explicit Status
		tasks    []tk
		want     Status
	}{
		{"no tasks", Default, nil, Hold},
		{"explicit done", Done, nil, Done},
		{"explicit wins", Done, []tk{{s: Doing}}, Done},
		{"all do", Default, []tk{{s: Do}, {s: Do}}, Do},
		{"doing beats do", Default, []tk{{s: Do}, {s: Doing}}, Doing},
		{"abort beats all", Default, []tk{{s: Doing}, {s: Abort}, {s: Undoing}}, Abort},
		{"undoing beats undo", Default, []tk{{s: Undo}, {s: Undoing}, {s: Doing}}, Undoing},
		{"undo beats doing", Default, []tk{{s: Undo}, {s: Doing}}, Undo},
		{"do beats error", Default, []tk{{s: Error}, {s: Do}}, Do},
		{"error beats done", Default, []tk{{s: Done}, {s: Error}, {s: Hold}}, Error},
		{"error beats undone", Default, []tk{{s: Undone}, {s: Error}}, Error},
		{"undone beats done", Default, []tk{{s: Done}, {s: Undone}}, Undone},
		{"done beats hold", Default, []tk{{s: Hold}, {s: Done}}, Done},
		{"all hold", Default, []tk{{s: Hold}, {s: Hold}}, Hold},
		{"wait alone", Default, []tk{{s: Wait}, {s: Done}}, Wait},
		{"do blocked behind wait", Default, []tk{{s: Wait}, {s: Do, wait: []int{0}}}, Wait},
		{"do blocked transitively", Default, []tk{{s: Wait}, {s: Do, wait: []int{0}}, {s: Do, wait: []int{1}}}, Wait},
		{"do not blocked", Default, []tk{{s: Wait}, {s: Do}}, Do},
		{"doing not blocked", Default, []tk{{s: Wait}, {s: Doing}}, Doing},
		{"wait beats error when others blocked", Default, []tk{{s: Error}, {s: Wait}}, Wait},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &change{explicit: tt.explicit}
			for _, spec := range tt.tasks {
				task := &Task{change: c, status: spec.s}
				for _, w := range spec.wait {
					task.waitFor = append(task.waitFor, c.tasks[w])
				}
				c.tasks = append(c.tasks, task)
				c.counts[spec.s]++
			}
			if got := c.derive(); got != tt.want {
				t.Errorf("derive() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestIsFlip(t *testing.T) {
	flips := [][2]Status{{Do, Doing}, {Doing, Do}, {Undo, Undoing}, {Undoing, Undo}}
	for _, f := range flips {
		if !isFlip(f[0], f[1]) {
			t.Errorf("isFlip(%v, %v) = false", f[0], f[1])
		}
	}
	notFlips := [][2]Status{{Do, Done}, {Doing, Abort}, {Doing, Undoing}, {Default, Do}, {Doing, Error}}
	for _, f := range notFlips {
		if isFlip(f[0], f[1]) {
			t.Errorf("isFlip(%v, %v) = true", f[0], f[1])
		}
	}
}
