package e2e

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/sim"
	"github.com/nrfprov/nrfprov/rtt"
	"github.com/nrfprov/nrfprov/rtt/gdb"
)

// BenchmarkRTTDownOnVirtualBoard: the host's RTT writer, through its GDB client over real TCP,
// feeds a virtual board's down buffer while the board's firmware drains it every poll period
// (Zephyr's CONFIG_SHELL_RTT_RX_POLL_PERIOD), and a second reader drains the shell's answers from
// the up channel, as nrfprov does. Buffers of 16 bytes (Zephyr's default) and 32 (its default
// with the shell's RTT backend). The rate is reported against the floor of the same board's
// configuration: (buffer size − 1) bytes per poll period.
//
//	ratio  bytes the firmware took per second / ((size − 1) / poll)   (target >= 0.9)
//
//	go test -run '^$' -bench RTTDownOnVirtualBoard -benchtime 3x ./internal/e2e/
func BenchmarkRTTDownOnVirtualBoard(b *testing.B) {
	for _, c := range []struct {
		size int
		poll time.Duration
	}{{16, 10 * time.Millisecond}, {32, 10 * time.Millisecond}, {16, 2 * time.Millisecond}} {
		poll := c.poll
		b.Run(fmt.Sprintf("size=%d/poll=%v", c.size, poll), func(b *testing.B) {
			board := startBoard(b, sim.BoardConfig{Personality: sim.ModemShell, RTT: true, RTTPoll: poll, RTTDownSize: c.size})
			srv := serveGDB(b, board)
			ctx, cancel := context.WithCancel(ctxT(b))
			defer cancel()
			c, err := gdb.Dial(ctx, srv.Addr(), gdb.Options{NoAck: true})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			cb, err := rtt.Attach(ctx, c, rtt.Config{})
			if err != nil {
				b.Fatal(err)
			}
			down, err := cb.Down(rtt.Index(0))
			if err != nil {
				b.Fatal(err)
			}
			up, err := cb.Up(rtt.Index(0))
			if err != nil {
				b.Fatal(err)
			}
			size := down.Info().Size
			// The shell's answers are read as nrfprov reads them, so output never backs up.
			readDone := make(chan struct{})
			go func() {
				defer close(readDone)
				buf := make([]byte, 1024)
				t := time.NewTicker(time.Millisecond)
				defer t.Stop()
				for ctx.Err() == nil {
					if n, err := up.Read(ctx, buf); err != nil || n > 0 {
						continue
					}
					select {
					case <-t.C:
					case <-ctx.Done():
					}
				}
			}()
			// Harmless shell input: an AT command the modem answers, over and over.
			data := bytes.Repeat([]byte("at AT\r\n"), 40) // 280 bytes, ~19 polls
			w := &rtt.Writer{Ch: down}
			before, err := board.State(ctx)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if _, err := w.Write(ctx, data); err != nil {
					b.Fatal(err)
				}
			}
			want := before.Stats.RTTDownBytes + uint64(b.N*len(data))
			tick := time.NewTicker(200 * time.Microsecond)
			defer tick.Stop()
			for {
				st, err := board.State(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if st.Stats.RTTDownBytes >= want {
					break
				}
				<-tick.C
			}
			elapsed := time.Since(start)
			b.StopTimer()
			cancel()
			<-readDone
			rate := float64(b.N*len(data)) / elapsed.Seconds()
			floor := float64(size-1) / poll.Seconds()
			b.ReportMetric(rate, "B/s")
			b.ReportMetric(floor, "floor-B/s")
			b.ReportMetric(rate/floor, "ratio")
		})
	}
}
