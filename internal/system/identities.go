package system

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/pebble-project/pebble/internal/identities"
	"github.com/pebble-project/pebble/internal/ops"
)

// applyIdentitiesFile applies the identities of a YAML file like
// "update-identities --replace" (cli.md §4, run --identities): identities
// in the file are added or replaced, null ones removed.
func applyIdentitiesFile(ctx context.Context, o *ops.Ops, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("cannot read identities file: %w", err)
	}
	ids, err := identities.ParseYAML(data)
	if err != nil {
		return fmt.Errorf("cannot read identities file %q: %w", path, err)
	}
	if err := o.ApplyIdentities(strconv.Itoa(os.Getuid()), string(identities.Replace), ids); err != nil {
		return fmt.Errorf("cannot apply identities from %q: %w", path, err)
	}
	return nil
}
