package rtt_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nrfprov/nrfprov/rtt"
	"github.com/nrfprov/nrfprov/rtt/rtttest"
)

// corruptions are the ways a control block can be wrong, each applied to a
// Zephyr-default target (CB at 0x20000000, 3 up / 3 down, up0 1024 bytes,
// down0 16 bytes).
var corruptions = []struct {
	name  string
	apply func(tg *rtttest.Target)
	field string
	value uint64
	msg   string // substring of the message (the numbers)
	// descriptor says the corruption is in channel descriptor (dir, idx),
	// so it must also be caught on access after a good Attach.
	descriptor bool
	dir        rtt.Direction
}{
	{name: "no up buffers", field: "MaxNumUpBuffers", value: 0, msg: "MaxNumUpBuffers = 0, want >= 1",
		apply: func(tg *rtttest.Target) { tg.Mem.SetWord(tg.Addr()+16, 0) }},
	{name: "too many up buffers", field: "MaxNumUpBuffers", value: 33, msg: "MaxNumUpBuffers = 33, want <= 32",
		apply: func(tg *rtttest.Target) { tg.Mem.SetWord(tg.Addr()+16, 33) }},
	{name: "negative down buffers", field: "MaxNumDownBuffers", value: 0xffffffff, msg: "MaxNumDownBuffers = 0xffffffff, want <= 32",
		apply: func(tg *rtttest.Target) { tg.Mem.SetWord(tg.Addr()+20, 0xffffffff) }},
	{name: "block runs past RAM", field: "control block end", value: 0x20040030,
		msg: "control block end = 0x20040030, want <= 0x20040000",
		apply: func(tg *rtttest.Target) {
			// 32+32 descriptors from 0x2003fa18 end at 0x2003fa18+24+24*64 = 0x20040030.
			tg.Mem.Poke(0x2003fa18, tg.Mem.Peek(tg.Addr(), 24))
			tg.Mem.SetWord(0x2003fa18+16, 32)
			tg.Mem.SetWord(0x2003fa18+20, 32)
			tg.Mem.Poke(tg.Addr(), make([]byte, 16))
		}},
	{name: "up buffer outside RAM", field: "up[0].pBuffer", value: 0x10000000, msg: "up[0].pBuffer = 0x10000000, not in RAM 0x20000000-0x2003ffff",
		descriptor: true, dir: rtt.Up,
		apply: func(tg *rtttest.Target) { tg.SetField(rtt.Up, 0, rtt.OffBuf, 0x10000000) }},
	{name: "up buffer NULL with a size", field: "up[0].pBuffer", value: 0, msg: "up[0].pBuffer = 0, not in RAM",
		descriptor: true, dir: rtt.Up,
		apply: func(tg *rtttest.Target) { tg.SetField(rtt.Up, 0, rtt.OffBuf, 0) }},
	{name: "down size 0 with a buffer", field: "down[0].SizeOfBuffer", value: 0, msg: "down[0].SizeOfBuffer = 0, want >= 2",
		descriptor: true, dir: rtt.Down,
		apply: func(tg *rtttest.Target) { tg.SetField(rtt.Down, 0, rtt.OffSize, 0) }},
	{name: "down size 1", field: "down[0].SizeOfBuffer", value: 1, msg: "down[0].SizeOfBuffer = 1, want >= 2",
		descriptor: true, dir: rtt.Down,
		apply: func(tg *rtttest.Target) { tg.SetField(rtt.Down, 0, rtt.OffSize, 1) }},
	{name: "up buffer runs past RAM", field: "up[0].pBuffer+SizeOfBuffer", value: 0x200400a8,
		msg: "up[0].pBuffer+SizeOfBuffer = 0x200400a8, want <= 0x20040000", descriptor: true, dir: rtt.Up,
		apply: func(tg *rtttest.Target) { tg.SetField(rtt.Up, 0, rtt.OffSize, 0x40000) }},
	{name: "down buffer overlaps the block", field: "down[0].pBuffer", value: 0x20000008, msg: "down[0].pBuffer = 0x20000008, want >= 0x200000a8",
		descriptor: true, dir: rtt.Down,
		apply: func(tg *rtttest.Target) { tg.SetField(rtt.Down, 0, rtt.OffBuf, tg.Addr()+8) }},
	{name: "up WrOff = size", field: "up[0].WrOff", value: 1024, msg: "up[0].WrOff = 1024, want < 1024",
		descriptor: true, dir: rtt.Up,
		apply: func(tg *rtttest.Target) { tg.SetField(rtt.Up, 0, rtt.OffWrOff, 1024) }},
	{name: "up RdOff huge", field: "up[0].RdOff", value: 0xdeadbeef, msg: "up[0].RdOff = 0xdeadbeef, want < 1024",
		descriptor: true, dir: rtt.Up,
		apply: func(tg *rtttest.Target) { tg.SetField(rtt.Up, 0, rtt.OffRdOff, 0xdeadbeef) }},
	{name: "down WrOff = size", field: "down[0].WrOff", value: 16, msg: "down[0].WrOff = 16, want < 16",
		descriptor: true, dir: rtt.Down,
		apply: func(tg *rtttest.Target) { tg.SetField(rtt.Down, 0, rtt.OffWrOff, 16) }},
	{name: "down RdOff past size", field: "down[0].RdOff", value: 17, msg: "down[0].RdOff = 17, want < 16",
		descriptor: true, dir: rtt.Down,
		apply: func(tg *rtttest.Target) { tg.SetField(rtt.Down, 0, rtt.OffRdOff, 17) }},
	{name: "unknown mode 3", field: "down[0].Flags[1:0] (mode)", value: 3, msg: "mode) = 3, want <= 2",
		descriptor: true, dir: rtt.Down,
		apply: func(tg *rtttest.Target) { tg.SetField(rtt.Down, 0, rtt.OffFlags, 3) }},
	{name: "validity bits set", field: "up[0].Flags[31:24]", value: 0x80, msg: "Flags[31:24] = 128, want == 0",
		descriptor: true, dir: rtt.Up,
		apply: func(tg *rtttest.Target) { tg.SetField(rtt.Up, 0, rtt.OffFlags, 0x80000001) }},
	{name: "a configured-looking inactive channel", field: "up[2].SizeOfBuffer", value: 0, msg: "up[2].SizeOfBuffer = 0, want >= 2",
		apply: func(tg *rtttest.Target) { tg.SetField(rtt.Up, 2, rtt.OffBuf, 0x20001000) }},
}

func TestCorruptControlBlock(t *testing.T) {
	ctx := context.Background()
	for _, tt := range corruptions {
		t.Run(tt.name, func(t *testing.T) {
			tg := rtttest.New()
			tt.apply(tg)
			loc := rtt.At(tg.Addr())
			if tt.field == "control block end" {
				loc = rtt.At(0x2003fa18)
			}
			_, err := rtt.Attach(ctx, tg.Mem, rtt.Config{Location: loc})
			checkCorrupt(t, err, tt.field, tt.value, tt.msg)
		})
	}
}

// TestCorruptOnAccess: a block that was good at Attach and is clobbered
// afterwards is caught by the next access, before any data moves.
func TestCorruptOnAccess(t *testing.T) {
	ctx := context.Background()
	for _, tt := range corruptions {
		if !tt.descriptor {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			tg := rtttest.New()
			tg.Emit(0, []byte("hello"))
			cb, err := rtt.Attach(ctx, tg.Mem, rtt.Config{Location: rtt.At(tg.Addr())})
			if err != nil {
				t.Fatal(err)
			}
			up, err := cb.Up(rtt.Index(0))
			if err != nil {
				t.Fatal(err)
			}
			down, err := cb.Down(rtt.Index(0))
			if err != nil {
				t.Fatal(err)
			}
			tt.apply(tg)
			tg.Mem.Record()
			if tt.dir == rtt.Up {
				n, err := up.Read(ctx, make([]byte, 64))
				if n != 0 {
					t.Errorf("Read = %d bytes from a corrupt descriptor", n)
				}
				checkCorrupt(t, err, tt.field, tt.value, tt.msg)
			} else {
				n, err := down.Write(ctx, []byte("AT\r"))
				if n != 0 {
					t.Errorf("Write = %d bytes into a corrupt descriptor", n)
				}
				checkCorrupt(t, err, tt.field, tt.value, tt.msg)
			}
			if log := tg.Mem.Log(); len(log) != 1 || log[0].Write {
				t.Errorf("accesses %v; want only the descriptor read", log)
			}
		})
	}
}

func checkCorrupt(t *testing.T, err error, field string, value uint64, msg string) {
	t.Helper()
	if !errors.Is(err, rtt.ErrControlBlockCorrupted) {
		t.Fatalf("error %v; want ErrControlBlockCorrupted", err)
	}
	var ce *rtt.CorruptError
	if !errors.As(err, &ce) {
		t.Fatalf("error %T %v; want *CorruptError", err, err)
	}
	if ce.Field != field || ce.Value != value {
		t.Errorf("CorruptError{Field: %q, Value: %#x}; want %q, %#x", ce.Field, ce.Value, field, value)
	}
	if !strings.Contains(err.Error(), msg) {
		t.Errorf("message %q does not contain %q", err, msg)
	}
}

func TestParseInactiveChannelsAndNames(t *testing.T) {
	ctx := context.Background()
	long := strings.Repeat("n", 40)
	tg := rtttest.New(
		rtttest.WithUp(rtttest.Channel{Name: "Terminal", Size: 1024}, rtttest.Channel{Size: 64}, rtttest.Channel{Name: long, Size: 32, Flags: 2}),
		rtttest.WithDown(rtttest.Channel{Name: "Terminal", Size: 16}),
		rtttest.WithMax(3, 2),
	)
	cb, err := rtt.Attach(ctx, tg.Mem, rtt.Config{})
	if err != nil {
		t.Fatal(err)
	}
	got := cb.Channels()
	want := []rtt.ChannelInfo{
		{Dir: rtt.Up, Index: 0, Name: "Terminal", Size: 1024, Active: true},
		{Dir: rtt.Up, Index: 1, Name: "", Size: 64, Active: true},
		{Dir: rtt.Up, Index: 2, Name: long[:rtt.MaxNameLen], Size: 32, Mode: rtt.ModeBlock, Active: true},
		{Dir: rtt.Down, Index: 0, Name: "Terminal", Size: 16, Active: true},
		{Dir: rtt.Down, Index: 1},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Channels:\n got %v\nwant %v", got, want)
	}
	if l := cb.Layout(); l.Size() != 24+5*24 || len(l.Up) != 3 || len(l.Down) != 2 {
		t.Errorf("Layout: size %d, %d up, %d down", l.Size(), len(l.Up), len(l.Down))
	}
}

func TestParseHeaderShortAndUnaligned(t *testing.T) {
	b := append(rtt.ID[:], 3, 0, 0, 0, 3, 0, 0, 0)
	if _, _, err := rtt.ParseHeader(0x20000000, b[:20], rtt.NRF91RAM); err == nil || errors.Is(err, rtt.ErrControlBlockCorrupted) {
		t.Errorf("short header: %v; want a length error", err)
	}
	_, _, err := rtt.ParseHeader(0x20000002, b, rtt.NRF91RAM)
	checkCorrupt(t, err, "control block address % 4", 2, "want == 0")
	if _, err := rtt.ParseControlBlock(0x20000000, b, rtt.NRF91RAM); err == nil || errors.Is(err, rtt.ErrControlBlockCorrupted) {
		t.Errorf("header without descriptors: %v; want a length error", err)
	}
	up, down, err := rtt.ParseHeader(0x20000000, b, rtt.NRF91RAM)
	if err != nil || up != 3 || down != 3 {
		t.Errorf("ParseHeader = %d, %d, %v", up, down, err)
	}
}

// controlBlockBytes returns the first n bytes of tg's control block.
func controlBlockBytes(tg *rtttest.Target, n int) []byte { return tg.Mem.Peek(tg.Addr(), n) }

func fuzzSeeds() [][]byte {
	var seeds [][]byte
	good := rtttest.New()
	seeds = append(seeds, controlBlockBytes(good, 168))
	for _, c := range corruptions {
		if c.field == "control block end" {
			continue
		}
		tg := rtttest.New()
		c.apply(tg)
		seeds = append(seeds, controlBlockBytes(tg, 168))
	}
	wide := rtttest.New(rtttest.WithMax(32, 32))
	seeds = append(seeds, controlBlockBytes(wide, 24+64*24))
	return seeds
}

// TestWriteFuzzSeeds regenerates rtt/testdata/fuzz/FuzzParseControlBlock
// when NRFPROV_WRITE_FUZZ_SEEDS=1.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("NRFPROV_WRITE_FUZZ_SEEDS") != "1" {
		t.Skip("set NRFPROV_WRITE_FUZZ_SEEDS=1 to rewrite the seed corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzParseControlBlock")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range fuzzSeeds() {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nuint32(%d)\n", s, 0x20000000)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzParseControlBlock: the validator never panics on arbitrary memory, and
// what it accepts is safe to use: every active buffer lies in RAM and outside
// the block, offsets are below the size. Then the whole engine runs over a
// fake target holding those bytes: attach, read and write must not panic or
// touch memory outside what was validated.
func FuzzParseControlBlock(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s, uint32(0x20000000))
	}
	f.Fuzz(func(t *testing.T, b []byte, addr uint32) {
		ram := rtt.NRF91RAM
		l, err := rtt.ParseControlBlock(addr, b, ram)
		if err == nil {
			cbEnd := uint64(l.Addr) + uint64(l.Size())
			if !ram[0].Contains(l.Addr, uint64(l.Size())) {
				t.Fatalf("accepted a block at 0x%08x+%d outside RAM", l.Addr, l.Size())
			}
			for _, d := range append(append([]rtt.Descriptor(nil), l.Up...), l.Down...) {
				if !d.Active() {
					continue
				}
				if d.Size < 2 || d.WrOff >= d.Size || d.RdOff >= d.Size || !ram[0].Contains(d.Buffer, uint64(d.Size)) {
					t.Fatalf("accepted descriptor %+v", d)
				}
				if uint64(d.Buffer) < cbEnd && uint64(d.Buffer)+uint64(d.Size) > uint64(l.Addr) {
					t.Fatalf("accepted a buffer overlapping the block: %+v", d)
				}
			}
		}

		// The same bytes as live target memory at the start of a small RAM.
		small := rtt.Range{Start: 0x20000000, Size: 0x1000}
		mem := rtttest.NewMemory(small)
		mem.Poke(small.Start, b[:min(len(b), int(small.Size))])
		guard := func(a rtttest.Access) error {
			if a.Write && a.Addr < small.Start+uint32(min(len(b), 24)) {
				return fmt.Errorf("write %v into the control block header", a)
			}
			return nil
		}
		mem.Fail = guard
		ctx := context.Background()
		cb, err := rtt.Attach(ctx, mem, rtt.Config{Location: rtt.At(small.Start), RAM: []rtt.Range{small}})
		if err != nil {
			return
		}
		if up, err := cb.Up(rtt.Index(0)); err == nil {
			buf := make([]byte, 2048)
			if n, err := up.Read(ctx, buf); err == nil && n > len(buf) {
				t.Fatalf("Read = %d", n)
			}
		}
		if down, err := cb.Down(rtt.Index(0)); err == nil {
			if n, err := down.Write(ctx, []byte("AT%CMNG=1\r\n")); err != nil && n != 0 {
				t.Fatalf("Write = %d, %v", n, err)
			}
		}
	})
}
