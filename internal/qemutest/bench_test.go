package qemutest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/qemutest"
	"github.com/nrfprov/nrfprov/rtt"
	"github.com/nrfprov/nrfprov/rtt/gdb"
)

// BenchmarkQEMURTTDown measures the down channel through QEMU: a 1.9 KB certificate's worth of
// bytes written through the firmware's 16-byte down buffer with one interrupt halt per fill (as
// the rtt transport does, polling every millisecond), until all of it has come out of the UART.
// The floor, measured in the same run, writes the same bytes straight into the firmware's RAM
// in one halt: what the GDB connection alone costs. Reported: bytes/s and the ratio to the floor.
func BenchmarkQEMURTTDown(b *testing.B) {
	elf := qemutest.Firmware(b)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	q := qemutest.Start(b, elf, ln.Addr().String())
	uart, err := ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	defer uart.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := gdb.Dial(ctx, q.GDB, gdb.Options{NoAck: true, Halt: gdb.HaltInterrupt})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	var cb *rtt.ControlBlock
	for {
		err := c.Halted(ctx, func() (err error) { cb, err = rtt.Attach(ctx, c, rtt.Config{}); return err })
		if err == nil {
			break
		}
		if !errors.Is(err, rtt.ErrNoControlBlock) || ctx.Err() != nil {
			b.Fatal(err)
		}
	}
	down, err := cb.Down(rtt.Index(0))
	if err != nil {
		b.Fatal(err)
	}
	payload := bytes.Repeat([]byte("MIIB3jCCAYSgAwIBAgIU\n"), 90) // ≈1.9 KB
	scratch := uint32(qemutest.RAMStart + qemutest.RAMSize - 4096)

	floor := func() time.Duration {
		t0 := time.Now()
		if err := c.Halted(ctx, func() error { return c.WriteMemory(ctx, scratch, payload) }); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	through := func() time.Duration {
		t0 := time.Now()
		got := make(chan error, 1)
		go func() {
			buf := make([]byte, len(payload))
			uart.SetReadDeadline(time.Now().Add(time.Minute))
			_, err := io.ReadFull(uart, buf)
			if err == nil && !bytes.Equal(buf, payload) {
				err = errors.New("the UART received other bytes")
			}
			got <- err
		}()
		poll := time.NewTicker(time.Millisecond)
		defer poll.Stop()
		for sent := 0; sent < len(payload); {
			var n int
			if err := c.Halted(ctx, func() (err error) { n, err = down.Write(ctx, payload[sent:]); return err }); err != nil {
				b.Fatal(err)
			}
			if sent += n; sent < len(payload) {
				<-poll.C
			}
		}
		if err := <-got; err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}

	var floorT, thrT time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		floorT += floor()
		thrT += through()
	}
	b.StopTimer()
	b.ReportMetric(float64(len(payload)*b.N)/thrT.Seconds(), "B/s")
	b.ReportMetric(float64(thrT)/float64(floorT), "x_floor")
}
