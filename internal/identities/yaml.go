package identities

import (
	"errors"

	"gopkg.in/yaml.v3"
)

// ParseYAML reads a document with a top-level "identities" map, the format
// of `pebble add-identities --from` and `pebble run --identities`. A null
// entry (for removal) is kept as nil.
func ParseYAML(data []byte) (map[string]*Identity, error) {
	var doc struct {
		Identities map[string]*Identity `yaml:"identities"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Identities) == 0 {
		return nil, errors.New(`no identities to add; did you forget the top-level "identities" key?`)
	}
	return doc.Identities, nil
}
