package e2e

import (
	"github.com/nrfprov/nrfprov/internal/testsupport"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/at"
	"github.com/nrfprov/nrfprov/internal/cmng"
	"github.com/nrfprov/nrfprov/internal/device"
	"github.com/nrfprov/nrfprov/internal/sim"
)

// BenchmarkWriteCertificate writes a 1.9 KB certificate at 115200 baud through the serial
// transport plugin and verifies it (the write, then the one-entry list), and compares the time
// with the floor measured in the same run: every byte that crossed the wire in both directions
// at 11 520 bytes/s, plus the board's modem latency for the two commands.
//
//	go test -run '^$' -bench WriteCertificate -benchtime 10x ./internal/e2e/
//
// Reported: ratio (target <= 1.10), ms/write, floor_ms.
func BenchmarkWriteCertificate(b *testing.B) {
	const (
		cmdLatency   = 2 * time.Millisecond
		writeLatency = 50 * time.Millisecond
	)
	board := startBoard(b, sim.BoardConfig{SerialNumber: "000960000090", CommandLatency: cmdLatency, WriteLatency: writeLatency})
	h, _ := newHost(b, "", nil)
	var wire atomic.Int64
	d, err := device.Open(ctxT(b), h, device.Options{
		Port: board.VCOM0(), Baud: 115200, Terminator: "cr", Dialect: "raw",
		Trace: func(_ time.Time, _ at.Direction, p []byte) { wire.Add(int64(len(p))) },
	})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	if err := d.Store.SetCFUN(ctxT(b), 4); err != nil {
		b.Fatal(err)
	}
	cert := certOfSize(b, 1900)
	byteTime := 10 * float64(time.Second) / 115200

	var spent, floor time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		before := wire.Load()
		start := time.Now()
		e, err := d.Store.Write(ctxT(b), uint32(100+i%2), cmng.RootCACert, []byte(cert))
		spent += time.Since(start)
		if err != nil || e.Hash != cmng.HashReal {
			b.Fatalf("write: %+v %v", e, err)
		}
		moved := wire.Load() - before
		floor += time.Duration(float64(moved)*byteTime) + writeLatency + 2*cmdLatency
	}
	b.StopTimer()
	b.ReportMetric(float64(spent)/float64(floor), "ratio")
	b.ReportMetric(float64(spent.Milliseconds())/float64(b.N), "ms/write")
	b.ReportMetric(float64(floor.Milliseconds())/float64(b.N), "floor_ms")
}

// certOfSize makes a real certificate whose PEM is about n bytes (within 64).
func certOfSize(tb testing.TB, n int) string {
	tb.Helper()
	return testsupport.CertPEM(tb, "bench", n-64)
}
