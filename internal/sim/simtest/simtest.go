// Package simtest starts virtual boards for other packages' tests.
package simtest

import (
	"context"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/sim"
)

// Board starts a virtual board, with its control socket, and waits until it has booted. Unset fields take test-friendly
// values: a run directory of the test's own and a 10 ms ready delay. The board is closed when
// the test ends.
func Board(tb testing.TB, cfg sim.BoardConfig) *sim.Board {
	tb.Helper()
	if cfg.RunDir == "" {
		cfg.RunDir = tb.TempDir()
	}
	if cfg.ReadyDelay == 0 {
		cfg.ReadyDelay = 10 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	b, err := sim.StartBoard(ctx, cfg)
	if err != nil {
		tb.Fatalf("start board: %v", err)
	}
	ctl, err := sim.ServeControl(b)
	if err != nil {
		_ = b.Close()
		tb.Fatalf("control socket: %v", err)
	}
	tb.Cleanup(func() {
		_ = ctl.Close()
		_ = b.Close()
	})
	if err := b.WaitReady(ctx); err != nil {
		tb.Fatalf("board not ready: %v", err)
	}
	return b
}
