package e2e

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/at"
	"github.com/nrfprov/nrfprov/internal/device"
	"github.com/nrfprov/nrfprov/internal/provision"
	"github.com/nrfprov/nrfprov/internal/sim"
	"github.com/nrfprov/nrfprov/internal/sim/simtest"
	"github.com/nrfprov/nrfprov/serialio"
)

// BenchmarkProvision runs a full provision of the reference set (examples/nrfcloud: CA ≈ 1.9 KB,
// client certificate ≈ 1.2 KB, key ≈ 0.25 KB) at 115200 baud on a fresh board, through the serial
// transport plugin, then runs it again on the board now in sync. Reported, as ratios measured
// in the same run:
//
//	link_ratio   the run from the moment the link is up (the first identify command) to the
//	             end, over its floor: every byte that crossed the wire (both ways) from then on at
//	             11 520 bytes/s plus the board's modem latency for every command it answered
//	             (target <= 1.10)
//	full_ratio   the same for the whole run, connecting included (starting the transport plugin
//	             process, settling and detecting the link), over the whole run's floor
//	rerun_ratio  the in-sync re-run over the full run, both whole (target <= 0.05)
//
//	go test -run '^$' -bench Provision -benchtime 5x ./internal/e2e/
func BenchmarkProvision(b *testing.B) {
	const (
		cmdLatency   = 2 * time.Millisecond
		writeLatency = 50 * time.Millisecond
	)
	m, err := provision.Load("../../examples/nrfcloud/manifest.yaml", nil)
	if err != nil {
		b.Fatal(err)
	}
	h, _ := newHost(b, "", nil)
	byteTime := 10 * float64(time.Second) / 115200
	var full, floor, link, linkFloor, rerun time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		board := simtest.Board(b, sim.BoardConfig{CommandLatency: cmdLatency, WriteLatency: writeLatency})
		drainBoot(b, board)
		var wire atomic.Int64
		var up time.Time
		var upWire int64
		var upCmds uint64
		o := provision.Options{Host: h, Device: device.Options{Port: board.VCOM0(), Baud: 115200,
			Trace: func(_ time.Time, _ at.Direction, p []byte) { wire.Add(int64(len(p))) }},
			Events: func(e provision.Event) {
				if e.Kind == provision.EventIdentify && up.IsZero() {
					up, upWire = time.Now(), wire.Load()
					st, err := board.State(context.Background())
					if err == nil {
						upCmds = st.Stats.Commands
					}
				}
			}}
		before, err := board.State(ctxT(b))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		rep, err := provision.Run(ctxT(b), m, o)
		took := time.Since(start)
		b.StopTimer()
		if err != nil || rep.Writes != 3 {
			b.Fatalf("full run: %+v, %v", rep, err)
		}
		after, err := board.State(ctxT(b))
		if err != nil {
			b.Fatal(err)
		}
		nvm := time.Duration(rep.Writes+rep.Deletes) * writeLatency
		full += took
		floor += time.Duration(float64(wire.Load())*byteTime) + time.Duration(after.Stats.Commands-before.Stats.Commands)*cmdLatency + nvm
		link += took - up.Sub(start)
		linkFloor += time.Duration(float64(wire.Load()-upWire)*byteTime) + time.Duration(after.Stats.Commands-upCmds)*cmdLatency + nvm
		o.Events = nil

		start = time.Now()
		rep, err = provision.Run(ctxT(b), m, o)
		rerun += time.Since(start)
		if err != nil || rep.Writes != 0 {
			b.Fatalf("re-run: %+v, %v", rep, err)
		}
	}
	b.ReportMetric(float64(link)/float64(linkFloor), "link_ratio")
	b.ReportMetric(float64(full)/float64(floor), "full_ratio")
	b.ReportMetric(float64(rerun)/float64(full), "rerun_ratio")
	b.ReportMetric(float64(full.Milliseconds())/float64(b.N), "full_ms")
	b.ReportMetric(float64(rerun.Milliseconds())/float64(b.N), "rerun_ms")
}

// drainBoot takes the boot banner off the line, so that it is not counted as provisioning
// traffic.
func drainBoot(tb testing.TB, b *sim.Board) {
	tb.Helper()
	p, err := serialio.Open(b.VCOM0(), serialio.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	defer p.Close()
	s := at.NewSession(p, at.Config{})
	if err := s.Settle(context.Background(), 20*time.Millisecond, 2*time.Second); err != nil {
		tb.Fatal(err)
	}
}
