package flash

import (
	"context"
	"fmt"
	"strings"

	"github.com/nrfprov/nrfprov/rtt/gdb"
)

// gdbRun is the built-in gdb runner: connect to a GDB server (JLinkGDBServer, OpenOCD, QEMU's
// gdbstub, nrfsim), write each segment of the image with X packets (halting the core around
// the writes), read every segment back to verify it, `monitor reset` and `monitor go`.
func gdbRun(ctx context.Context, addr string, img *Image, log func(string)) error {
	c, err := gdb.Dial(ctx, addr, gdb.Options{NoAck: true})
	if err != nil {
		return err
	}
	defer c.Close()
	if img != nil {
		if _, err := c.Monitor(ctx, "halt"); err != nil {
			return err
		}
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
		log(fmt.Sprintf("verified %d bytes", img.Size))
	}
	out, err := c.Monitor(ctx, "reset")
	if err != nil {
		return err
	}
	if s := strings.TrimSpace(out); s != "" {
		log(s)
	}
	// J-Link's GDB server leaves the core halted after a reset: let it run.
	if _, err := c.Monitor(ctx, "go"); err != nil {
		return err
	}
	log("monitor reset, monitor go: done")
	return nil
}
