package system

import (
	"fmt"
	"os"
	"strconv"

	"github.com/pebble-project/pebble/internal/identities"
)

// applyIdentitiesFile applies the identities of a YAML file like
// "update-identities --replace" (cli.md §4, run --identities): identities
// in the file are added or replaced, null ones removed.
func applyIdentitiesFile(ids *identities.Manager, securityEvent func(level, event, description string), path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("cannot read identities file: %w", err)
	}
	parsed, err := identities.ParseYAML(data)
	if err != nil {
		return fmt.Errorf("cannot read identities file %q: %w", path, err)
	}
	events, err := ids.Apply(identities.Replace, parsed)
	if err != nil {
		return fmt.Errorf("cannot apply identities from %q: %w", path, err)
	}
	for _, e := range events {
		event, description := e.Security(strconv.Itoa(os.Getuid()))
		securityEvent("WARN", event, description)
	}
	return nil
}
