package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/cmng"
	"github.com/nrfprov/nrfprov/internal/device"
	"github.com/nrfprov/nrfprov/internal/sim"
	"github.com/nrfprov/nrfprov/internal/testsupport"
)

// BenchmarkWriteCertificate writes a 1.9 KB certificate at 115200 baud through the serial
// transport plugin and verifies it (the write, then the one-entry list), and compares the time
// with its floor: the bytes of that write and that list with their answers, as the modem
// documents them, at 11 520 bytes/s, plus the board's modem latency for the two commands and
// its write latency.
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
	d, err := device.Open(ctxT(b), h, device.Options{
		Port: board.VCOM0(), Baud: 115200, Terminator: "cr", Dialect: "raw",
	})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	if err := d.Store.SetCFUN(ctxT(b), 4); err != nil {
		b.Fatal(err)
	}
	cert := certOfSize(b, 1900)

	var spent, floor time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		e, err := d.Store.Write(ctxT(b), uint32(100+i%2), cmng.RootCACert, []byte(cert))
		spent += time.Since(start)
		if err != nil || e.Hash != cmng.HashReal {
			b.Fatalf("write: %+v %v", e, err)
		}
		// The floor: this write and its one-entry list, as the modem documents them.
		tag := 100 + i%2
		var x leastExchange
		x.cmd(fmt.Sprintf("AT%%CMNG=0,%d,0,\"%s\"\r", tag, cert), "OK\r\n")
		x.writes++
		x.cmd(fmt.Sprintf("AT%%CMNG=1,%d,0\r", tag), fmt.Sprintf("%%CMNG: %d,0,\"%s\"\r\nOK\r\n", tag, strings.Repeat("0", 64)))
		floor += x.time(115200, cmdLatency, writeLatency)
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
