package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/pebble-project/pebble/client"
	"github.com/pebble-project/pebble/internal/cli/command"
)

var addInfo = &command.Info{
	Name:    "add",
	Summary: summaries["add"],
	Description: `
The add command reads a layer in YAML from the file at <layer-path> and adds it
to the plan with the given label, after the existing layers. With --combine,
the layer is merged into the existing layer of that label instead (or added
after the others if there is none). Running services are not changed: use
replan for that.`,
	Usage: "[add-OPTIONS] <label> <layer-path>",
	Args:  []command.PosArg{{Name: "<label>"}, {Name: "<layer-path>"}},
	New:   func() command.Command { return &cmdAdd{} },
}

type cmdAdd struct {
	combine, inner bool
}

func (c *cmdAdd) Flags(fs *command.FlagSet) {
	fs.Bool(&c.combine, 0, "combine", "Combine the layer with the existing layer of the same label, if any (by default the layer is appended)")
	fs.Bool(&c.inner, 0, "inner", "Allow the new layer to be inserted inside an existing layers sub-directory")
}

func (c *cmdAdd) Run(ctx context.Context, e *command.Env, args []string) error {
	label, path := args[0], args[1]
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	cli, err := e.Client()
	if err != nil {
		return err
	}
	err = cli.AddLayer(ctx, &client.AddLayerOptions{Combine: c.combine, Inner: c.inner, Label: label, LayerData: data})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "Layer %q added successfully from %q\n", label, path)
	return nil
}

var planInfo = &command.Info{
	Name:    "plan",
	Summary: summaries["plan"],
	Description: `
The plan command prints the plan in YAML: all layers combined by their
override rules.`,
	New: func() command.Command { return &cmdPlan{} },
}

type cmdPlan struct{}

func (c *cmdPlan) Flags(*command.FlagSet) {}

func (c *cmdPlan) Run(ctx context.Context, e *command.Env, _ []string) error {
	cli, err := e.Client()
	if err != nil {
		return err
	}
	data, err := cli.PlanBytes(ctx, nil)
	if err != nil {
		return err
	}
	_, err = e.Stdout.Write(data)
	return err
}
