package plan

import (
	"errors"
	"fmt"
	"strings"
)

// SplitCommand splits a command line into words the way layers.md §3.1
// describes: words are separated by spaces, tabs and newlines; single quotes
// keep everything up to the next single quote; double quotes keep everything
// up to the next unescaped double quote, and a backslash inside them takes
// the next character literally; outside quotes a backslash also takes the
// next character literally; a '#' at the start of a word starts a comment
// that runs to the end of the line. Quoted parts join the surrounding word,
// and an empty pair of quotes is an empty word. No variables are expanded and
// no globbing is done.
//
// The error texts are those of the splitter Pebble uses:
// "EOF found when expecting closing quote" and
// "EOF found after escape character".
func SplitCommand(s string) ([]string, error) {
	const (
		between    = iota // between words
		inWord            // inside an unquoted part of a word
		escaped           // after a backslash outside quotes
		inSingle          // inside single quotes
		inDouble          // inside double quotes
		escDouble         // after a backslash inside double quotes
		inComment         // after '#' until the end of the line
		closedWord        // just after a closing quote (still in the word)
	)
	var (
		words []string
		word  strings.Builder
		state = between
	)
	for _, r := range s {
		switch state {
		case between:
			switch {
			case isCommandSpace(r):
			case r == '#':
				state = inComment
			case r == '\\':
				state = escaped
			case r == '\'':
				state = inSingle
			case r == '"':
				state = inDouble
			default:
				word.WriteRune(r)
				state = inWord
			}
		case inWord, closedWord:
			switch {
			case isCommandSpace(r):
				words = append(words, word.String())
				word.Reset()
				state = between
			case r == '\\':
				state = escaped
			case r == '\'':
				state = inSingle
			case r == '"':
				state = inDouble
			default:
				word.WriteRune(r)
				state = inWord
			}
		case escaped:
			word.WriteRune(r)
			state = inWord
		case inSingle:
			if r == '\'' {
				state = closedWord
			} else {
				word.WriteRune(r)
			}
		case inDouble:
			switch r {
			case '"':
				state = closedWord
			case '\\':
				state = escDouble
			default:
				word.WriteRune(r)
			}
		case escDouble:
			word.WriteRune(r)
			state = inDouble
		case inComment:
			if r == '\n' {
				state = between
			}
		}
	}
	switch state {
	case inWord, closedWord:
		words = append(words, word.String())
	case escaped, escDouble:
		return nil, errors.New("EOF found after escape character")
	case inSingle, inDouble:
		return nil, errors.New("EOF found when expecting closing quote")
	}
	return words, nil
}

func isCommandSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\r' || r == '\n'
}

// QuoteWord returns word quoted so that SplitCommand reads it back as one
// word equal to word. Words made only of letters, digits and @%+=:,./-_ are
// returned unchanged; others are put in single quotes (a single quote inside
// becomes '"'"').
func QuoteWord(word string) string {
	if word == "" {
		return "''"
	}
	safe := true
	for _, r := range word {
		if !isSafeWordRune(r) {
			safe = false
			break
		}
	}
	if safe {
		return word
	}
	return "'" + strings.ReplaceAll(word, "'", `'"'"'`) + "'"
}

func isSafeWordRune(r rune) bool {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		return true
	}
	return strings.ContainsRune("@%+=:,./-_", r)
}

// JoinCommand quotes each word with QuoteWord and joins them with spaces.
func JoinCommand(words []string) string {
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = QuoteWord(w)
	}
	return strings.Join(quoted, " ")
}

// ParseCommand splits the service's command into the words that are always
// run (base) and the default arguments of its optional trailing "[ ... ]"
// group (extra), which `pebble run --args` replaces (layers.md §3.1). The
// brackets must be words of their own; a "[" inside quotes is plain text.
// An unclosed group runs to the end of the command.
func (s *Service) ParseCommand() (base, extra []string, err error) {
	words, err := SplitCommand(s.Command)
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
