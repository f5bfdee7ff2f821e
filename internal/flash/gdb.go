package flash

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/nrfprov/nrfprov/rtt/gdb"
)

// ParseGDBHalt reads how the gdb runner stops the core around its memory accesses: monitor
// ("monitor halt"/"monitor go": J-Link's GDB server, nrfsim; the default), interrupt (the remote
// protocol's own all-stop control: QEMU's gdbstub) or none (OpenOCD, which accesses memory
// while the core runs).
func ParseGDBHalt(s string) (gdb.HaltMode, error) {
	switch s {
	case "", "monitor":
		return gdb.HaltMonitor, nil
	case "interrupt":
		return gdb.HaltInterrupt, nil
	case "none":
		return gdb.HaltNone, nil
	}
	return gdb.HaltNone, fmt.Errorf("flash: gdb halt %q: want monitor, interrupt or none", s)
}

// gdbResetCommands splits the reset setting ("reset;go") into its monitor commands.
func gdbResetCommands(s string) []string {
	var cmds []string
	for _, c := range strings.Split(cmp.Or(s, DefaultGDBReset), ";") {
		if c = strings.TrimSpace(c); c != "" {
			cmds = append(cmds, c)
		}
	}
	return cmds
}

// gdbRun is the built-in gdb runner: connect to a GDB server (JLinkGDBServer, OpenOCD, QEMU's
// gdbstub, nrfsim), write each segment of the image with X packets with the core halted (the
// halt setting), read every segment back to verify it, then run the reset's monitor commands
// (default `reset` and `go`), reading what the server prints: a command the server does not
// know fails the run instead of passing for a reset.
func gdbRun(ctx context.Context, t Target, img *Image, log func(string)) error {
	halt, err := ParseGDBHalt(t.GDBHalt)
	if err != nil {
		return err
	}
	c, err := gdb.Dial(ctx, t.GDBAddress, gdb.Options{NoAck: true, Halt: halt})
	if err != nil {
		return err
	}
	defer c.Close()
	if img != nil {
		err := c.Halted(ctx, func() error {
			done := 0
			for _, s := range img.Segments {
				if err := c.WriteMemory(ctx, s.Addr, s.Data); err != nil {
					return fmt.Errorf("load %s: %w", img.Path, err)
				}
				done += len(s.Data)
				log(fmt.Sprintf("load 0x%08x %d bytes: %d%%", s.Addr, len(s.Data), done*100/img.Size))
			}
			for _, s := range img.Segments {
				got := make([]byte, len(s.Data))
				if err := c.ReadMemory(ctx, s.Addr, got); err != nil {
					return fmt.Errorf("verify %s: %w", img.Path, err)
				}
				if string(got) != string(s.Data) {
					return fmt.Errorf("verify %s: the memory at 0x%08x differs from the image", img.Path, s.Addr)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		log(fmt.Sprintf("verified %d bytes", img.Size))
	}
	cmds := gdbResetCommands(t.GDBReset)
	for _, cmd := range cmds {
		out, err := c.MonitorCommand(ctx, cmd)
		if s := strings.TrimSpace(out); s != "" {
			log(s)
		}
		if err != nil {
			return fmt.Errorf("%w (set the server's reset with --gdb-reset: QEMU system_reset, OpenOCD `reset run`, J-Link reset;go)", err)
		}
	}
	log("monitor " + strings.Join(cmds, ", monitor ") + ": done")
	return nil
}
