package qemutest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/qemutest"
	"github.com/nrfprov/nrfprov/rtt"
	"github.com/nrfprov/nrfprov/rtt/gdb"
)

func TestMain(m *testing.M) {
	code := m.Run()
	qemutest.Cleanup()
	os.Exit(code)
}

// uartPeer stands where the modem will be: it accepts QEMU's UART connection.
func uartPeer(t *testing.T) (string, <-chan net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	conns := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			t.Cleanup(func() { c.Close() })
			conns <- c
		}
	}()
	return ln.Addr().String(), conns
}

// TestFirmwareRTTBridge: the host's RTT engine against real ARM code under QEMU, through QEMU's
// own GDB server in interrupt-halt mode. The engine finds the firmware's control block both at
// the ELF's _SEGGER_RTT address and by scanning RAM; a message through the 16-byte down buffer
// comes out of the UART; 3000 bytes into the UART come out of the 1024-byte up buffer intact,
// in order (the firmware blocks on a full buffer instead of dropping).
func TestFirmwareRTTBridge(t *testing.T) {
	elf := qemutest.Firmware(t)
	serial, conns := uartPeer(t)
	q := qemutest.Start(t, elf, serial)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var uart net.Conn
	select {
	case uart = <-conns:
	case <-ctx.Done():
		t.Fatal("QEMU did not connect its UART")
	}
	uart.SetDeadline(time.Now().Add(30 * time.Second))

	c, err := gdb.Dial(ctx, q.GDB, gdb.Options{NoAck: true, Halt: gdb.HaltInterrupt})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sym, err := rtt.SymbolAddress(elf)
	if err != nil {
		t.Fatal(err)
	}
	var atSym, scanned *rtt.ControlBlock
	attach := func() (err error) {
		if atSym, err = rtt.Attach(ctx, c, rtt.Config{Location: rtt.At(sym)}); err != nil {
			return err
		}
		scanned, err = rtt.Attach(ctx, c, rtt.Config{})
		return err
	}
	// QEMU stops the core when the debugger connects, perhaps before the firmware's first
	// instruction: the ID appears once it has run.
	for {
		err := c.Halted(ctx, attach)
		if err == nil {
			break
		}
		if !errors.Is(err, rtt.ErrNoControlBlock) || ctx.Err() != nil {
			t.Fatal(err)
		}
	}
	if atSym.Addr() != sym || scanned.Addr() != sym || sym < qemutest.RAMStart {
		t.Fatalf("control block: symbol 0x%08x, attached at 0x%08x, scan found 0x%08x", sym, atSym.Addr(), scanned.Addr())
	}
	chans := scanned.Channels()
	if len(chans) != 2 || chans[0].Name != "Terminal" || chans[0].Size != 1024 || chans[1].Size != 16 || chans[0].Mode != rtt.ModeBlock || chans[1].Name != "Terminal" {
		t.Fatalf("channels: %v", chans)
	}
	up, err := scanned.Up(rtt.Named("Terminal"))
	if err != nil {
		t.Fatal(err)
	}
	down, err := scanned.Down(rtt.Index(0))
	if err != nil {
		t.Fatal(err)
	}

	// Host → down buffer → UART, through 16 bytes at a time.
	t0 := time.Now()
	msg := []byte("at AT%CMNG=1 -- a line longer than the down buffer\r\n")
	for sent := 0; sent < len(msg); {
		var n int
		if err := c.Halted(ctx, func() (err error) { n, err = down.Write(ctx, msg[sent:]); return err }); err != nil {
			t.Fatal(err)
		}
		if n > 15 {
			t.Fatalf("the down buffer took %d bytes, it holds 15", n)
		}
		sent += n
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(uart, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("UART received %q (%v), want %q", got, err, msg)
	}

	t.Logf("%d bytes down in %v", len(msg), time.Since(t0).Round(time.Millisecond))

	// UART → up buffer → host: more than the buffer holds.
	t0 = time.Now()
	in := make([]byte, 3000)
	for i := range in {
		in[i] = byte('A' + i%26)
	}
	in[len(in)-1] = '\n'
	go uart.Write(in)
	var out []byte
	buf := make([]byte, 4096)
	poll := time.NewTicker(time.Millisecond) // the core runs between polls
	defer poll.Stop()
	for len(out) < len(in) {
		select {
		case <-poll.C:
		case <-ctx.Done():
			t.Fatalf("read %d of %d bytes from the up channel", len(out), len(in))
		}
		var n int
		if err := c.Halted(ctx, func() (err error) { n, err = up.Read(ctx, buf); return err }); err != nil {
			t.Fatal(err)
		}
		out = append(out, buf[:n]...)
	}
	t.Logf("%d bytes up in %v", len(out), time.Since(t0).Round(time.Millisecond))
	if !bytes.Equal(out, in) {
		t.Fatalf("up channel: %d bytes differ from what the UART received", len(out))
	}
}
