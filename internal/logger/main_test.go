package logger

import (
	"testing"

	"github.com/pebble-project/pebble/internal/testutil"
)

func TestMain(m *testing.M) { testutil.Main(m) }
