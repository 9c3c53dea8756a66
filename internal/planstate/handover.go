package planstate

import (
	"fmt"
	"strings"

	"github.com/pebble-project/pebble/internal/handover"
	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/plan/planyaml"
)

// Hand-over across an in-place upgrade (docs/upgrade.md): every layer of
// the plan goes over as it is in memory, those added through the API and
// --args' included, so the new daemon runs the same plan without reading
// $PEBBLE/layers again.

// handoverPart is the name of the package's part of a hand-over.
const handoverPart = "plan"

// handedLayer is one layer in a hand-over: its order, label and YAML.
type handedLayer struct {
	Order int    `json:"order"`
	Label string `json:"label"`
	YAML  string `json:"yaml"`
}

// HandOver puts the plan's layers into doc.
func (s *State) HandOver(doc *handover.Document) error {
	var handed []handedLayer
	for _, l := range s.Plan().Layers {
		data, err := planyaml.Layer(l)
		if err != nil {
			return fmt.Errorf("cannot hand over layer %q: %w", l.Label, err)
		}
		handed = append(handed, handedLayer{Order: l.Order, Label: l.Label, YAML: string(data)})
	}
	return doc.Put(handoverPart, handed)
}

// TakeOver returns the state with the plan handed over in doc, and false
// when doc has none (a nil doc, or one from a daemon that did not hand its
// plan over): then the caller loads the layers directory.
func TakeOver(doc *handover.Document) (*State, bool, error) {
	if doc == nil {
		return nil, false, nil
	}
	var handed []handedLayer
	found, err := doc.Get(handoverPart, &handed)
	if err != nil || !found {
		return nil, false, err
	}
	layers := make([]*plan.Layer, 0, len(handed))
	for _, h := range handed {
		// The daemon's own layers (--args') have a label no parsed layer
		// may have: they are parsed under another one.
		l, err := plan.ParseLayer(h.Order, strings.TrimPrefix(h.Label, "pebble-"), []byte(h.YAML))
		if err != nil {
			return nil, false, fmt.Errorf("cannot take over layer %q: %w", h.Label, err)
		}
		l.Label = h.Label
		layers = append(layers, l)
	}
	p, err := plan.NewPlan(layers)
	if err != nil {
		return nil, false, fmt.Errorf("cannot take over plan: %w", err)
	}
	return &State{plan: p}, true, nil
}

// CheckHandover reads the plan's part of doc as TakeOver would.
func CheckHandover(doc *handover.Document) error {
	_, _, err := TakeOver(doc)
	return err
}
