package rtt_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/rtt"
	"github.com/nrfprov/nrfprov/rtt/rtttest"
)

// BenchmarkDownWriteThroughput writes through a 16-byte down buffer that the
// simulated target drains once per poll period, as Zephyr's shell RTT
// backend does, and reports the rate as a fraction of the floor measured in
// the same run: (buffer size − 1) bytes per target poll period. 1.0 means the
// writer never leaves a target poll without a full buffer.
func BenchmarkDownWriteThroughput(b *testing.B) {
	for _, c := range []struct {
		targetPoll, writerPoll time.Duration
	}{
		{10 * time.Millisecond, rtt.DefaultPoll}, // Zephyr CONFIG_SHELL_RTT_RX_POLL_PERIOD=10
		{2 * time.Millisecond, 200 * time.Microsecond},
	} {
		b.Run(fmt.Sprintf("target=%v/writer=%v", c.targetPoll, c.writerPoll), func(b *testing.B) {
			const size, chunk = 16, 15 * 20 // 20 target polls per op
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			tg := rtttest.New(rtttest.WithDown(rtttest.Channel{Name: "Terminal", Size: size}))
			down, err := attach(b, tg).Down(rtt.Index(0))
			if err != nil {
				b.Fatal(err)
			}
			w := &rtt.Writer{Ch: down, Poll: c.writerPoll}
			data := pattern(chunk, 0)
			dr := tg.StartDrain(ctx, 0, c.targetPoll, size)
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if _, err := w.Write(ctx, data); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := dr.WaitFor(ctx, b.N*chunk); err != nil {
				b.Fatal(err)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			cancel()
			dr.Wait()
			rate := float64(b.N*chunk) / elapsed.Seconds()
			floor := float64(size-1) / c.targetPoll.Seconds()
			b.ReportMetric(rate, "B/s")
			b.ReportMetric(floor, "floor-B/s")
			b.ReportMetric(rate/floor, "ratio")
		})
	}
}
