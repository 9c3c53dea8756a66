package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/pebble-project/pebble/client"
)

var addInfo = &cmdInfo{
	name:    "add",
	summary: summaries["add"],
	description: `
The add command reads a layer in YAML from the file at <layer-path> and adds it
to the plan with the given label, after the existing layers. With --combine,
the layer is merged into the existing layer of that label instead (or added
after the others if there is none). Running services are not changed: use
replan for that.`,
	usage: "[add-OPTIONS] <label> <layer-path>",
	args:  []posArg{{name: "<label>"}, {name: "<layer-path>"}},
	new:   func() command { return &cmdAdd{} },
}

type cmdAdd struct {
	combine, inner bool
}

func (c *cmdAdd) flags(fs *flagSet) {
	fs.Bool(&c.combine, 0, "combine", "Combine the layer with the existing layer of the same label, if any (by default the layer is appended)")
	fs.Bool(&c.inner, 0, "inner", "Allow the new layer to be inserted inside an existing layers sub-directory")
}

func (c *cmdAdd) run(ctx context.Context, e *env, args []string) error {
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
	fmt.Fprintf(e.stdout, "Layer %q added successfully from %q\n", label, path)
	return nil
}

var planInfo = &cmdInfo{
	name:    "plan",
	summary: summaries["plan"],
	description: `
The plan command prints the plan in YAML: all layers combined by their
override rules.`,
	new: func() command { return &cmdPlan{} },
}

type cmdPlan struct{}

func (c *cmdPlan) flags(*flagSet) {}

func (c *cmdPlan) run(ctx context.Context, e *env, _ []string) error {
	cli, err := e.Client()
	if err != nil {
		return err
	}
	data, err := cli.PlanBytes(ctx, nil)
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(data)
	return err
}
