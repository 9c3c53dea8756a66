// Package identities holds the pebble commands that list and change the
// daemon's identities: identities, identity, add-identities,
// update-identities and remove-identities (cli.md §2, "Identities").
package identities

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pebble-project/pebble/client"
	"github.com/pebble-project/pebble/internal/cli/command"
)

// Commands are the identity commands: identities, identity, add-identities, update-identities and remove-identities.
var Commands = []*command.Info{identitiesInfo, identityInfo, addIdentitiesInfo, updateIdentitiesInfo, removeIdentitiesInfo}

var identitiesInfo = &command.Info{
	Name:    "identities",
	Summary: "List identities",
	Description: `
The identities command lists the identities the daemon knows, by name, with
their access level and types.`,
	Usage: "[identities-OPTIONS]",
	New:   func() command.Command { return &cmdIdentities{} },
}

type cmdIdentities struct {
	format string
}

func (c *cmdIdentities) Flags(fs *command.FlagSet) {
	command.FormatFlag(fs, &c.format)
}

func (c *cmdIdentities) Run(ctx context.Context, e *command.Env, _ []string) error {
	cli, err := e.Client()
	if err != nil {
		return err
	}
	ids, err := cli.Identities(ctx, nil)
	if err != nil {
		return err
	}
	if c.format != "text" {
		if ids == nil {
			ids = map[string]*client.Identity{}
		}
		return command.WriteNonText(e.Stdout, c.format, struct {
			Identities map[string]*client.Identity `json:"identities" yaml:"identities"`
		}{ids})
	}
	if len(ids) == 0 {
		fmt.Fprintln(e.Stderr, "No identities.")
		return nil
	}
	w := command.NewTable(e.Stdout)
	fmt.Fprintln(w, "Name\tAccess\tTypes")
	for _, name := range slices.Sorted(maps.Keys(ids)) {
		id := ids[name]
		var types []string
		if id.Local != nil {
			types = append(types, "local")
		}
		if id.Basic != nil {
			types = append(types, "basic")
		}
		if id.Cert != nil {
			types = append(types, "cert")
		}
		if len(types) == 0 {
			types = []string{"unknown"}
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", name, id.Access, strings.Join(types, ","))
	}
	return w.Flush()
}

var identityInfo = &command.Info{
	Name:    "identity",
	Summary: "Show a single identity",
	Description: `
The identity command shows a single identity, with its secrets masked.`,
	Usage: "[identity-OPTIONS] <name>",
	Args:  []command.PosArg{{Name: "<name>"}},
	New:   func() command.Command { return &cmdIdentity{} },
}

type cmdIdentity struct {
	format string
}

func (c *cmdIdentity) Flags(fs *command.FlagSet) {
	command.FormatFlag(fs, &c.format)
}

func (c *cmdIdentity) Run(ctx context.Context, e *command.Env, args []string) error {
	cli, err := e.Client()
	if err != nil {
		return err
	}
	ids, err := cli.Identities(ctx, nil)
	if err != nil {
		return err
	}
	id, ok := ids[args[0]]
	if !ok {
		return fmt.Errorf("cannot find identity %q", args[0])
	}
	format := c.format
	if format == "text" {
		format = "yaml"
	}
	return command.WriteNonText(e.Stdout, format, id)
}

// identitiesFileCmd is add-, update- and remove-identities: they read a
// YAML file with a top-level "identities" map.
type identitiesFileCmd struct {
	action  string // add, update, remove
	from    string
	replace bool
}

func (c *identitiesFileCmd) Flags(fs *command.FlagSet) {
	fs.String(&c.from, 0, "from", "<file>", "", "Path of the YAML file to read the identities from (required)")
	if c.action == "update" {
		fs.Bool(&c.replace, 0, "replace", "Replace identities: add those that do not exist and remove those whose value is null")
	}
}

// readIdentitiesFile reads the "identities" map of a YAML file; null
// entries are kept as nil.
func readIdentitiesFile(path string) (map[string]*client.Identity, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Identities map[string]*client.Identity `yaml:"identities"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("cannot parse %q: %v", path, err)
	}
	if len(doc.Identities) == 0 {
		return nil, errors.New(`no identities to add; did you forget the top-level "identities" key?`)
	}
	return doc.Identities, nil
}

func (c *identitiesFileCmd) Run(ctx context.Context, e *command.Env, _ []string) error {
	if c.from == "" {
		return errors.New("the required flag `--from' was not specified")
	}
	ids, err := readIdentitiesFile(c.from)
	if err != nil {
		return err
	}
	cli, err := e.Client()
	if err != nil {
		return err
	}
	var verb string
	switch {
	case c.action == "add":
		err, verb = cli.AddIdentities(ctx, ids), "Added %d new %s."
	case c.action == "update" && c.replace:
		err, verb = cli.ReplaceIdentities(ctx, ids), "Replaced %d %s."
	case c.action == "update":
		err, verb = cli.UpdateIdentities(ctx, ids), "Updated %d %s."
	default:
		names := make(map[string]struct{}, len(ids))
		for _, name := range slices.Sorted(maps.Keys(ids)) {
			if ids[name] != nil {
				return fmt.Errorf("identity value for %q must be null for remove operation", name)
			}
			names[name] = struct{}{}
		}
		err, verb = cli.RemoveIdentities(ctx, names), "Removed %d %s."
	}
	if err != nil {
		return err
	}
	noun := "identities"
	if len(ids) == 1 {
		noun = "identity"
	}
	fmt.Fprintf(e.Stdout, verb+"\n", len(ids), noun)
	return nil
}

var addIdentitiesInfo = &command.Info{
	Name:    "add-identities",
	Summary: "Add new identities",
	Description: `
The add-identities command adds the identities of a YAML file with a
top-level "identities" map. None of them may exist yet.`,
	Usage: "[add-identities-OPTIONS]",
	New:   func() command.Command { return &identitiesFileCmd{action: "add"} },
}

var updateIdentitiesInfo = &command.Info{
	Name:    "update-identities",
	Summary: "Update or replace identities",
	Description: `
The update-identities command updates the identities of a YAML file with a
top-level "identities" map. All of them must exist, unless --replace is
given: then missing ones are added and those whose value is null removed.`,
	Usage: "[update-identities-OPTIONS]",
	New:   func() command.Command { return &identitiesFileCmd{action: "update"} },
}

var removeIdentitiesInfo = &command.Info{
	Name:    "remove-identities",
	Summary: "Remove identities",
	Description: `
The remove-identities command removes the identities named in a YAML file
with a top-level "identities" map, each with a null value.`,
	Usage: "[remove-identities-OPTIONS]",
	New:   func() command.Command { return &identitiesFileCmd{action: "remove"} },
}
