package command

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestNewLines(t *testing.T) {
	tests := []struct{ before, now, want []string }{
		{nil, []string{"a"}, []string{"a"}},
		{[]string{"a"}, []string{"a"}, []string{}},
		{[]string{"a"}, []string{"a", "b"}, []string{"b"}},
		{[]string{"a", "b", "c"}, []string{"b", "c", "d"}, []string{"d"}},
		{[]string{"x"}, []string{"x", "x"}, []string{"x"}},
		{[]string{"gone"}, []string{"p", "q"}, []string{"p", "q"}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, newLines(tt.before, tt.now), "%q -> %q", tt.before, tt.now)
	}
}
