package e2e

import (
	"bytes"
	"io"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/nrfprov/nrfprov/plugin"
	"github.com/nrfprov/nrfprov/plugin/serialtransport"
)

// The benchmarks measure what the plugin boundary costs. Each one runs the
// same exchange twice in the same run, interleaved: in-process (the serial
// transport called directly, the floor) and through the plugin (the same
// transport in an `nrfprov plugin serve serial` child process, over gRPC with
// mutual TLS). The board side is a PTY master that the benchmark drives itself
// and that answers at once, so the numbers isolate the transport: no UART
// pacing, no modem latency.
//
//	go test -run '^$' -bench . -count 3 ./internal/e2e/

// responder plays a board that answers every "AT\r" with "OK\r\n".
func responder(b *testing.B, master *os.File) {
	go func() {
		buf := make([]byte, 64)
		var line []byte
		for {
			n, err := master.Read(buf)
			if err != nil {
				return
			}
			for _, c := range buf[:n] {
				if c != '\r' {
					line = append(line, c)
					continue
				}
				if string(line) == "AT" {
					if _, err := master.Write([]byte("OK\r\n")); err != nil {
						return
					}
				}
				line = line[:0]
			}
		}
	}()
}

// benchPTY opens a PTY pair whose master is closed at the end.
func benchPTY(b *testing.B) (master, slave *os.File) {
	m, s, err := pty.Open()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = m.Close(); _ = s.Close() })
	return m, s
}

func roundTrip(b *testing.B, c plugin.Conn, buf []byte) time.Duration {
	t0 := time.Now()
	if _, err := c.Write([]byte("AT\r")); err != nil {
		b.Fatal(err)
	}
	got := 0
	for got < 4 {
		n, err := c.Read(buf[got:])
		if err != nil {
			b.Fatal(err)
		}
		got += n
	}
	d := time.Since(t0)
	if !bytes.Equal(buf[:4], []byte("OK\r\n")) {
		b.Fatalf("got %q", buf[:4])
	}
	return d
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// BenchmarkATRoundTrip reports p50/p99 of an AT→OK round trip in-process
// (floor) and through the plugin, the added latency and the ratio.
func BenchmarkATRoundTrip(b *testing.B) {
	h, _ := newHost(b, "", nil)
	remote := start(b, h, "serial")
	local := serialtransport.New("bench", nil)

	masterL, slaveL := benchPTY(b)
	masterR, slaveR := benchPTY(b)
	responder(b, masterL)
	responder(b, masterR)
	connL := openConn(b, local, plugin.OpenRequest{Address: slaveL.Name()})
	connR := openConn(b, remote, plugin.OpenRequest{Address: slaveR.Name()})

	buf := make([]byte, 64)
	for range 50 { // warm up both paths
		roundTrip(b, connL, buf)
		roundTrip(b, connR, buf)
	}
	inproc := make([]time.Duration, 0, b.N)
	plug := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		inproc = append(inproc, roundTrip(b, connL, buf))
		plug = append(plug, roundTrip(b, connR, buf))
	}
	b.StopTimer()
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	p50L, p99L := percentile(inproc, 0.50), percentile(inproc, 0.99)
	p50R, p99R := percentile(plug, 0.50), percentile(plug, 0.99)
	b.ReportMetric(us(p50L), "inproc-p50-µs")
	b.ReportMetric(us(p99L), "inproc-p99-µs")
	b.ReportMetric(us(p50R), "plugin-p50-µs")
	b.ReportMetric(us(p99R), "plugin-p99-µs")
	b.ReportMetric(us(p50R-p50L), "added-p50-µs")
	b.ReportMetric(us(p99R-p99L), "added-p99-µs")
	b.ReportMetric(float64(p50R)/float64(p50L), "p50-ratio")
}

// BenchmarkBulkRead reports board→host throughput in-process (floor) and
// through the plugin, and their ratio. Each iteration moves 4 MiB.
func BenchmarkBulkRead(b *testing.B) {
	const size = 4 << 20
	h, _ := newHost(b, "", nil)
	remote := start(b, h, "serial")
	local := serialtransport.New("bench", nil)

	line := []byte("+CMNG: 16842753,0,\"0123456789ABCDEF\"\r\n")
	payload := bytes.Repeat(line, size/len(line)+1)[:size]
	measure := func(tr plugin.Transport) time.Duration {
		master, slave, err := pty.Open()
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = master.Close(); _ = slave.Close() }()
		conn, err := tr.Open(ctxT(b), plugin.OpenRequest{Address: slave.Name()})
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = conn.Close() }()
		errc := make(chan error, 1)
		t0 := time.Now()
		go func() { _, err := master.Write(payload); errc <- err }()
		n, err := io.CopyN(io.Discard, conn, size)
		d := time.Since(t0)
		if err != nil || n != size {
			b.Fatalf("read %d of %d bytes: %v", n, size, err)
		}
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
		return d
	}
	measure(local) // warm up
	measure(remote)
	var dL, dR time.Duration
	b.SetBytes(2 * size)
	b.ResetTimer()
	for range b.N {
		dL += measure(local)
		dR += measure(remote)
	}
	b.StopTimer()
	mbps := func(d time.Duration) float64 { return float64(size) * float64(b.N) / d.Seconds() / 1e6 }
	b.ReportMetric(mbps(dL), "inproc-MB/s")
	b.ReportMetric(mbps(dR), "plugin-MB/s")
	b.ReportMetric(mbps(dR)/mbps(dL), "throughput-ratio")
}
