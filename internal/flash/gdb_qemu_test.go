package flash

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/qemutest"
	"github.com/nrfprov/nrfprov/rtt"
	"github.com/nrfprov/nrfprov/rtt/gdb"
)

// TestGDBRunnerResetOnQEMU: the gdb runner's reset really resets a Cortex-M under QEMU. The
// firmware writes its RTT control block once, at boot; the test clobbers the block's ID, runs the
// runner's reset, and looks for the block again. With QEMU's reset (--gdb-reset system_reset)
// the firmware booted again and wrote it; with a monitor command QEMU runs but that resets
// nothing (info version) the block stays clobbered, which the same check sees; and the J-Link
// default (reset;go), which QEMU answers "unknown command" to, fails the runner instead of
// passing for a reset.
func TestGDBRunnerResetOnQEMU(t *testing.T) {
	elf := qemutest.Firmware(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		// The UART's peer: accept and drain, so the firmware never blocks on it.
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}()
	q := qemutest.Start(t, elf, ln.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sym, err := rtt.SymbolAddress(elf)
	if err != nil {
		t.Fatal(err)
	}
	// QEMU's gdbstub serves one client at a time: each step connects, acts and detaches.
	withGDB := func(fn func(c *gdb.Client) error) error {
		c, err := gdb.Dial(ctx, q.GDB, gdb.Options{NoAck: true, Halt: gdb.HaltInterrupt})
		if err != nil {
			return err
		}
		defer c.Close()
		return fn(c)
	}
	hasBlock := func(c *gdb.Client) error {
		return c.Halted(ctx, func() error {
			_, err := rtt.Attach(ctx, c, rtt.Config{Location: rtt.At(sym)})
			return err
		})
	}
	// waitBlock polls until the firmware has written its control block (after boot or reset).
	waitBlock := func() error {
		for {
			err := withGDB(hasBlock)
			if err == nil || !errors.Is(err, rtt.ErrNoControlBlock) || ctx.Err() != nil {
				return err
			}
		}
	}
	clobber := func() {
		t.Helper()
		if err := waitBlock(); err != nil {
			t.Fatalf("control block: %v", err)
		}
		if err := withGDB(func(c *gdb.Client) error {
			if err := c.Halted(ctx, func() error { return c.WriteMemory(ctx, sym, make([]byte, 16)) }); err != nil {
				return err
			}
			return hasBlock(c)
		}); !errors.Is(err, rtt.ErrNoControlBlock) {
			t.Fatalf("after clobbering the control block: %v", err)
		}
	}
	runner, _ := Lookup("gdb")
	reset := func(cmd string) error {
		cmds, err := runner.PlanReset(Target{GDBAddress: q.GDB, GDBHalt: "interrupt", GDBReset: cmd}, ResetSystem, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return Exec(ctx, runner, cmds, ExecOptions{})
	}

	// A command that runs but resets nothing: the check below must see no reset.
	clobber()
	if err := reset("info version"); err != nil {
		t.Fatalf("monitor info version: %v", err)
	}
	if err := withGDB(hasBlock); !errors.Is(err, rtt.ErrNoControlBlock) {
		t.Fatalf("after a command that does not reset, the control block is back (%v): the check cannot tell a reset", err)
	}

	// The J-Link default is unknown to QEMU: the runner fails and says so.
	if err := reset(""); !errors.Is(err, gdb.ErrUnknownCommand) || !errors.Is(err, ErrRunner) {
		t.Fatalf("monitor reset on QEMU: %v, want ErrUnknownCommand", err)
	}

	// QEMU's own reset: the firmware boots again and writes its control block.
	if err := reset("system_reset"); err != nil {
		t.Fatalf("monitor system_reset: %v", err)
	}
	if err := waitBlock(); err != nil {
		t.Fatalf("after system_reset: %v", err)
	}
}
