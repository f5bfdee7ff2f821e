package qemutest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/qemutest"
	"github.com/nrfprov/nrfprov/rtt"
	"github.com/nrfprov/nrfprov/rtt/gdb"
)

// TestQEMUSystemReset: QEMU's gdbstub takes `monitor system_reset` (its own name for a reset;
// `monitor reset` is J-Link's and OpenOCD's): the firmware starts again and writes a fresh RTT
// control block, found where a clobbered one was. This is what the rtt transport's
// `reset=system_reset` option sends.
func TestQEMUSystemReset(t *testing.T) {
	elf := qemutest.Firmware(t)
	serial, conns := uartPeer(t)
	q := qemutest.Start(t, elf, serial)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	select {
	case <-conns:
	case <-ctx.Done():
		t.Fatal("QEMU did not connect its UART")
	}
	c, err := gdb.Dial(ctx, q.GDB, gdb.Options{NoAck: true, Halt: gdb.HaltInterrupt})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sym, err := rtt.SymbolAddress(elf)
	if err != nil {
		t.Fatal(err)
	}
	attach := func() error {
		for {
			err := c.Halted(ctx, func() error {
				_, err := rtt.Attach(ctx, c, rtt.Config{Location: rtt.At(sym)})
				return err
			})
			if err == nil || !errors.Is(err, rtt.ErrNoControlBlock) || ctx.Err() != nil {
				return err
			}
		}
	}
	if err := attach(); err != nil {
		t.Fatal(err)
	}
	// Clobber the ID: no control block any more, until the firmware writes one again.
	if err := c.WriteMemory(ctx, sym, make([]byte, 16)); err != nil {
		t.Fatal(err)
	}
	if err := c.Halted(ctx, func() error {
		_, err := rtt.Attach(ctx, c, rtt.Config{Location: rtt.At(sym)})
		return err
	}); !errors.Is(err, rtt.ErrNoControlBlock) {
		t.Fatalf("after clobbering the ID: %v", err)
	}
	if _, err := c.Monitor(ctx, "system_reset"); err != nil {
		t.Fatalf("monitor system_reset: %v", err)
	}
	if err := attach(); err != nil {
		t.Fatalf("after system_reset: %v", err)
	}
}
