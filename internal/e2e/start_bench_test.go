package e2e

import (
	"os/exec"
	"testing"
	"time"

	"github.com/creack/pty"
)

// BenchmarkStartToFirstByte: from starting `nrfprov list` to its first byte on the wire (a real
// pseudo-terminal), against the bare floor process measured in the same run (floorProcess: a Go
// process, this test binary started again, that opens the port and sends AT). nrfprov's extra
// time is starting its transport plugin process, the plugin handshake, and letting the line
// settle before probing.
//
//	ratio  nrfprov's start-to-first-byte / the floor's (target <= 2)
//
//	go test -run '^$' -bench StartToFirstByte -benchtime 10x ./internal/e2e/
func BenchmarkStartToFirstByte(b *testing.B) {
	var tool, floor time.Duration
	for i := 0; i < b.N; i++ {
		floor += firstByte(b, func(port string) *exec.Cmd { return floorCmd(b, port) })
		tool += firstByte(b, func(port string) *exec.Cmd {
			return exec.Command(nrfprovBin, "--port", port, "--modem-latency", "100ms", "list")
		})
	}
	b.ReportMetric(float64(tool.Microseconds())/float64(b.N)/1000, "nrfprov-ms")
	b.ReportMetric(float64(floor.Microseconds())/float64(b.N)/1000, "floor-ms")
	b.ReportMetric(float64(tool)/float64(floor), "ratio")
}

// firstByte starts the command on a fresh pseudo-terminal and returns the time from Start to
// the first byte the board's side of it receives; then it stops the command.
func firstByte(b *testing.B, cmd func(port string) *exec.Cmd) time.Duration {
	b.Helper()
	board, tty, err := pty.Open()
	if err != nil {
		b.Fatal(err)
	}
	defer board.Close()
	defer tty.Close()
	c := cmd(tty.Name())
	got := make(chan time.Time, 1)
	go func() {
		buf := make([]byte, 64)
		if n, _ := board.Read(buf); n > 0 {
			got <- time.Now()
		}
		close(got)
	}()
	start := time.Now()
	if err := c.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = c.Process.Kill()
		_ = c.Wait()
	}()
	select {
	case at, ok := <-got:
		if !ok {
			b.Fatal("the port closed before any byte arrived")
		}
		return at.Sub(start)
	case <-time.After(testTimeout):
		b.Fatal("no byte on the wire")
	}
	return 0
}
