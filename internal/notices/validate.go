package notices

import (
	"errors"
	"fmt"
	"regexp"
)

// Limits of custom notices (api.md §13.3).
const (
	MaxKeyBytes  = 256
	MaxDataBytes = 4096
)

// customKey is "example.com/path": at least two dot-separated name parts,
// then one or more slash-separated path parts; each part is lowercase
// letters and digits with single hyphens between them.
var customKey = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)+(/[a-z0-9]+(-[a-z0-9]+)*)+$`)

// ValidateCustomKey checks the key of a custom notice and returns the error
// text of api.md §13.3.
func ValidateCustomKey(k string) error {
	if len(k) > MaxKeyBytes {
		return errors.New("key must be 256 bytes or less")
	}
	if !customKey.MatchString(k) {
		return fmt.Errorf("invalid key %q (must be in \"example.com/path\" format)", k)
	}
	return nil
}
