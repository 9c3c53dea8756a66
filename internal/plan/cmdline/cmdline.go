// Package cmdline splits a command line into words and joins words back
// into a command line, the way layers.md §3.1 describes for a service's or
// an exec check's command. It runs nothing and expands nothing.
package cmdline

import (
	"errors"
	"strings"
)

// Split splits a command line into words the way layers.md §3.1
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
func Split(s string) ([]string, error) {
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
		case between, inWord, closedWord:
			switch {
			case isCommandSpace(r):
				if state != between {
					words = append(words, word.String())
					word.Reset()
					state = between
				}
			case r == '#' && state == between:
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

// quote returns word quoted so that Split reads it back as one word equal
// to word. Words made only of letters, digits and @%+=:,./-_ are
// returned unchanged; others are put in single quotes (a single quote inside
// becomes '"'"').
func quote(word string) string {
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

// Join quotes each word that needs it (see quote) and joins them with
// spaces, so that Split reads the result back into the same words.
func Join(words []string) string {
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = quote(w)
	}
	return strings.Join(quoted, " ")
}
