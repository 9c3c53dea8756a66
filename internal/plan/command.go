package plan

import (
	"fmt"

	"github.com/pebble-project/pebble/internal/plan/cmdline"
)

// ParseCommand splits the service's command into the words that are always
// run (base) and the default arguments of its optional trailing "[ ... ]"
// group (extra), which `pebble run --args` replaces (layers.md §3.1). The
// brackets must be words of their own; a "[" inside quotes is plain text.
// An unclosed group runs to the end of the command.
func (s *Service) ParseCommand() (base, extra []string, err error) {
	words, err := cmdline.Split(s.Command)
	if err != nil {
		return nil, nil, s.commandError(err.Error())
	}
	inGroup, hadGroup := false, false
	for i, w := range words {
		switch {
		case inGroup && w == "[":
			return nil, nil, s.commandError("cannot nest [ ... ] groups")
		case inGroup && w == "]":
			inGroup = false
		case inGroup:
			extra = append(extra, w)
		case hadGroup:
			return nil, nil, s.commandError("cannot have any arguments after [ ... ] group")
		case w == "[" && i == 0:
			return nil, nil, s.commandError("cannot start command with [ ... ] group")
		case w == "[":
			inGroup, hadGroup = true, true
		case w == "]":
			return nil, nil, s.commandError("cannot have ] outside of [ ... ] group")
		default:
			base = append(base, w)
		}
	}
	return base, extra, nil
}

func (s *Service) commandError(reason string) error {
	return fmt.Errorf("cannot parse service %q command: %s", s.Name, reason)
}
