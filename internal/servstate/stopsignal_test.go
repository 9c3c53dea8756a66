package servstate

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/logs"
	"github.com/pebble-project/pebble/internal/osutil"
	"github.com/pebble-project/pebble/internal/testutil"
)

func init() {
	helpers["signals"] = recordSignals
}

// recordSignals prints "ready", then "got <name>" for each signal it gets;
// it exits 0 after SIGTERM, SIGQUIT or SIGINT.
func recordSignals() {
	ch := make(chan os.Signal, 8)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR2)
	writePID()
	fmt.Println("ready")
	for sig := range ch {
		fmt.Println("got " + osutil.SignalName(sig.(syscall.Signal)))
		switch sig {
		case syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGINT:
			os.Exit(0)
		}
	}
}

// waitLine waits until buf holds line.
func waitLine(t *testing.T, buf *logs.Buffer, line string) {
	t.Helper()
	testutil.WaitFor(t, 5*time.Second, func() error {
		if lines, _ := buf.LastLines(100); !slices.Contains(lines, line) {
			return fmt.Errorf("no line %q in %q", line, lines)
		}
		return nil
	})
}

func TestStopSignal(t *testing.T) {
	quit, _ := helperService(t, "quit", "signals")
	quit.StopSignal = "SIGQUIT"
	plain, _ := helperService(t, "plain", "signals")
	f := newFixture(t, newPlan(quit, plain), nil)
	ctx := context.Background()
	for _, name := range []string{"quit", "plain"} {
		require.NoError(t, f.m.Start(ctx, name, nil))
		waitLine(t, f.m.Buffer(name), "ready")
		require.NoError(t, f.m.Stop(ctx, name, nil))
	}
	lines, _ := f.m.Buffer("quit").LastLines(10)
	assert.Equal(t, []string{"ready", "got SIGQUIT"}, lines)
	lines, _ = f.m.Buffer("plain").LastLines(10)
	assert.Equal(t, []string{"ready", "got SIGTERM"}, lines)
}
