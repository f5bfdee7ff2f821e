package sim_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/sim"
	"github.com/nrfprov/nrfprov/internal/testsupport"
)

// TestGDBMultiarchReadsAndWritesRAM: Debian's gdb-multiarch, not nrfprov's own client, attaches
// to the board's GDB server (`target remote`: qSupported, the target description, ?, g), reads
// RAM the board holds (x/), writes RAM (set) that the board then holds, reads and writes a
// register, and resets the board with `monitor reset`.
func TestGDBMultiarchReadsAndWritesRAM(t *testing.T) {
	gdbPath := testsupport.RequireTool(t, "gdb-multiarch", "gdb-multiarch")
	b, srv := startRTTBoard(t, sim.BoardConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const base = sim.RAMBase + 0x3f000 // top of RAM, away from the firmware's RTT block
	pattern := []byte{0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04}
	if err := b.WriteMemory(ctx, base, pattern); err != nil {
		t.Fatal(err)
	}
	before, err := b.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, gdbPath, "-nx", "-batch",
		"-ex", "set confirm off",
		"-ex", "target remote "+srv.Addr(),
		"-ex", fmt.Sprintf("x/8xb 0x%x", base),
		"-ex", fmt.Sprintf("set {unsigned int}0x%x = 0x12345678", base+0x10),
		"-ex", fmt.Sprintf("x/1xw 0x%x", base+0x10),
		"-ex", "info registers sp xpsr",
		"-ex", "set $r3 = 0xcafe",
		"-ex", "p/x $r3",
		"-ex", "monitor reset",
		// GDB does not know a monitor command changed the registers: drop its cache, as
		// after a reset in a real session.
		"-ex", "maintenance flush register-cache",
		"-ex", "p/x $r3",
		"-ex", "detach")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("gdb-multiarch: %v\n%s", err, out.String())
	}
	text := out.String()
	for _, re := range []string{
		fmt.Sprintf(`0x%x:\s+0xde\s+0xad\s+0xbe\s+0xef\s+0x01\s+0x02\s+0x03\s+0x04`, base),
		fmt.Sprintf(`0x%x:\s+0x12345678`, base+0x10),
		fmt.Sprintf(`sp\s+0x%x`, sim.RAMBase+sim.RAMSize),
		`xpsr\s+0x1000000`,
		`\$1 = 0xcafe`,
		`\$2 = 0x0`, // a reset clears r3 again
	} {
		if !regexp.MustCompile(re).MatchString(text) {
			t.Errorf("gdb output lacks %s:\n%s", re, text)
		}
	}
	if strings.Contains(text, "Bad register packet") || strings.Contains(text, "Remote replied unexpectedly") {
		t.Errorf("gdb complained:\n%s", text)
	}
	got := make([]byte, 4)
	if err := b.ReadMemory(ctx, base+0x10, got); err != nil {
		t.Fatal(err)
	}
	if v := binary.LittleEndian.Uint32(got); v != 0x12345678 {
		t.Errorf("the board holds 0x%x after gdb's write", v)
	}
	after, err := b.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Stats.Boots <= before.Stats.Boots {
		t.Errorf("monitor reset did not reboot the board (boots %d → %d)", before.Stats.Boots, after.Stats.Boots)
	}
}
