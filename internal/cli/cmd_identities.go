package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pebble-project/pebble/client"
)

var identitiesInfo = &cmdInfo{
	name:    "identities",
	summary: summaries["identities"],
	description: `
The identities command lists the identities the daemon knows, by name, with
their access level and types.`,
	usage: "[identities-OPTIONS]",
	new:   func() command { return &cmdIdentities{} },
}

type cmdIdentities struct {
	format string
}

func (c *cmdIdentities) flags(fs *flagSet) {
	formatFlag(fs, &c.format)
}

func (c *cmdIdentities) run(ctx context.Context, e *env, _ []string) error {
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
		return writeNonText(e.stdout, c.format, struct {
			Identities map[string]*client.Identity `json:"identities" yaml:"identities"`
		}{ids})
	}
	if len(ids) == 0 {
		fmt.Fprintln(e.stderr, "No identities.")
		return nil
	}
	names := make([]string, 0, len(ids))
	for name := range ids {
		names = append(names, name)
	}
	sort.Strings(names)
	w := newTable(e.stdout)
	fmt.Fprintln(w, "Name\tAccess\tTypes")
	for _, name := range names {
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

var identityInfo = &cmdInfo{
	name:    "identity",
	summary: summaries["identity"],
	description: `
The identity command shows a single identity, with its secrets masked.`,
	usage: "[identity-OPTIONS] <name>",
	args:  []posArg{{name: "<name>"}},
	new:   func() command { return &cmdIdentity{} },
}

type cmdIdentity struct {
	format string
}

func (c *cmdIdentity) flags(fs *flagSet) {
	formatFlag(fs, &c.format)
}

func (c *cmdIdentity) run(ctx context.Context, e *env, args []string) error {
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
	return writeNonText(e.stdout, format, id)
}

// identitiesFileCmd is add-, update- and remove-identities: they read a
// YAML file with a top-level "identities" map.
type identitiesFileCmd struct {
	action  string // add, update, remove
	from    string
	replace bool
}

func (c *identitiesFileCmd) flags(fs *flagSet) {
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

func (c *identitiesFileCmd) run(ctx context.Context, e *env, _ []string) error {
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
		sorted := make([]string, 0, len(ids))
		for name := range ids {
			sorted = append(sorted, name)
		}
		sort.Strings(sorted)
		for _, name := range sorted {
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
	fmt.Fprintf(e.stdout, verb+"\n", len(ids), noun)
	return nil
}

var addIdentitiesInfo = &cmdInfo{
	name:    "add-identities",
	summary: summaries["add-identities"],
	description: `
The add-identities command adds the identities of a YAML file with a
top-level "identities" map. None of them may exist yet.`,
	usage: "[add-identities-OPTIONS]",
	new:   func() command { return &identitiesFileCmd{action: "add"} },
}

var updateIdentitiesInfo = &cmdInfo{
	name:    "update-identities",
	summary: summaries["update-identities"],
	description: `
The update-identities command updates the identities of a YAML file with a
top-level "identities" map. All of them must exist, unless --replace is
given: then missing ones are added and those whose value is null removed.`,
	usage: "[update-identities-OPTIONS]",
	new:   func() command { return &identitiesFileCmd{action: "update"} },
}

var removeIdentitiesInfo = &cmdInfo{
	name:    "remove-identities",
	summary: summaries["remove-identities"],
	description: `
The remove-identities command removes the identities named in a YAML file
with a top-level "identities" map, each with a null value.`,
	usage: "[remove-identities-OPTIONS]",
	new:   func() command { return &identitiesFileCmd{action: "remove"} },
}
