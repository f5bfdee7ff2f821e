package rtt_test

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nrfprov/nrfprov/rtt"
	"github.com/nrfprov/nrfprov/rtt/rtttest"
)

func TestFindByScan(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		target  func() *rtttest.Target
		chunk   int
		want    uint32
		wantErr error
		msg     []string // substrings of the error message
	}{
		{
			name:   "zephyr default at RAM start",
			target: func() *rtttest.Target { return rtttest.New() },
			want:   0x20000000,
		},
		{
			name:   "inside RAM",
			target: func() *rtttest.Target { return rtttest.New(rtttest.WithAddr(0x20012340)) },
			want:   0x20012340,
		},
		{
			// The ID straddles two chunks: 0x20000ff8..0x20001008 with 4 KiB chunks.
			name:   "ID across a chunk boundary",
			target: func() *rtttest.Target { return rtttest.New(rtttest.WithAddr(0x20000ff8)) },
			want:   0x20000ff8,
		},
		{
			name:   "ID across a small chunk boundary",
			target: func() *rtttest.Target { return rtttest.New(rtttest.WithAddr(0x20000078)) },
			chunk:  128,
			want:   0x20000078,
		},
		{
			name: "last bytes of RAM",
			target: func() *rtttest.Target {
				return rtttest.New(rtttest.WithAddr(0x2003ff00), rtttest.WithUp(rtttest.Channel{Name: "Terminal", Size: 64}))
			},
			want: 0x2003ff00,
		},
		{
			name: "unaligned ID in data is not a block",
			target: func() *rtttest.Target {
				tg := rtttest.New(rtttest.WithAddr(0x20010000))
				tg.Mem.Poke(0x20000101, rtt.ID[:])
				return tg
			},
			want: 0x20010000,
		},
		{
			name: "a prefix of the ID is not a block",
			target: func() *rtttest.Target {
				tg := rtttest.New(rtttest.WithAddr(0x20010000))
				tg.Mem.Poke(0x20000100, []byte("SEGGER RTT\x00\x00\x00\x00\x00X"))
				return tg
			},
			want: 0x20010000,
		},
		{
			name: "none",
			target: func() *rtttest.Target {
				tg := rtttest.New()
				tg.Mem.Poke(0x20000000, make([]byte, 16))
				return tg
			},
			wantErr: rtt.ErrNoControlBlock,
			msg:     []string{"0x20000000-0x2003ffff"},
		},
		{
			name:    "half-initialised (ID not yet written)",
			target:  func() *rtttest.Target { return rtttest.New(rtttest.WithoutID()) },
			wantErr: rtt.ErrNoControlBlock,
		},
		{
			name: "two: a stale block left by the previous image",
			target: func() *rtttest.Target {
				tg := rtttest.New(rtttest.WithAddr(0x20000000))
				tg.Move(0x20008000, false)
				return tg
			},
			wantErr: rtt.ErrMultipleControlBlocks,
			msg:     []string{"2 control blocks", "0x20000000", "0x20008000"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := tt.target()
			got, err := rtt.Find(ctx, tg.Mem, rtt.Scan(), rtt.NRF91RAM, tt.chunk)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Find = 0x%08x, %v; want %v", got, err, tt.wantErr)
				}
				for _, m := range tt.msg {
					if !strings.Contains(err.Error(), m) {
						t.Errorf("error %q does not mention %q", err, m)
					}
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Find = 0x%08x, %v; want 0x%08x", got, err, tt.want)
			}
		})
	}
}

func TestFindMultipleListsAddresses(t *testing.T) {
	tg := rtttest.New(rtttest.WithAddr(0x20000000))
	tg.Move(0x20020000, false)
	_, err := rtt.Attach(context.Background(), tg.Mem, rtt.Config{})
	var me *rtt.MultipleControlBlocksError
	if !errors.As(err, &me) {
		t.Fatalf("Attach: %v; want *MultipleControlBlocksError", err)
	}
	if len(me.Addrs) != 2 || me.Addrs[0] != 0x20000000 || me.Addrs[1] != 0x20020000 {
		t.Errorf("Addrs = %x", me.Addrs)
	}
	// The exact address settles it.
	cb, err := rtt.Attach(context.Background(), tg.Mem, rtt.Config{Location: rtt.At(0x20020000)})
	if err != nil || cb.Addr() != 0x20020000 {
		t.Fatalf("Attach at 0x20020000: %v", err)
	}
}

func TestFindHalfInitialisedThenReady(t *testing.T) {
	ctx := context.Background()
	tg := rtttest.New(rtttest.WithoutID())
	if _, err := rtt.Attach(ctx, tg.Mem, rtt.Config{}); !errors.Is(err, rtt.ErrNoControlBlock) {
		t.Fatalf("before the ID: %v; want ErrNoControlBlock", err)
	}
	if _, err := rtt.Attach(ctx, tg.Mem, rtt.Config{Location: rtt.At(tg.Addr())}); !errors.Is(err, rtt.ErrNoControlBlock) ||
		!strings.Contains(err.Error(), "0x20000000") {
		t.Fatalf("exact, before the ID: %v; want ErrNoControlBlock at 0x20000000", err)
	}
	tg.WriteID()
	cb, err := rtt.Attach(ctx, tg.Mem, rtt.Config{})
	if err != nil || cb.Addr() != tg.Addr() {
		t.Fatalf("after the ID: %v", err)
	}
}

func TestFindScanReadFault(t *testing.T) {
	tg := rtttest.New(rtttest.WithRAM(0x20000000, 0x10000))
	// The scan range runs past mapped memory: the probe's error comes back.
	_, err := rtt.Find(context.Background(), tg.Mem, rtt.Scan(rtt.Range{Start: 0x20008000, Size: 0x10000}), nil, 0)
	if !errors.Is(err, rtttest.ErrFault) {
		t.Fatalf("Find: %v; want ErrFault", err)
	}
}

func TestFindScanChunksAreBounded(t *testing.T) {
	tg := rtttest.New(rtttest.WithAddr(0x20030000))
	tg.Mem.Record()
	if _, err := rtt.Find(context.Background(), tg.Mem, rtt.Scan(), rtt.NRF91RAM, 1024); err != nil {
		t.Fatal(err)
	}
	log := tg.Mem.Log()
	if len(log) < 0x40000/1024 {
		t.Errorf("%d reads for 256 KiB in 1 KiB chunks", len(log))
	}
	for _, a := range log {
		if a.Write || a.Len > 1024 {
			t.Fatalf("scan access %v: want reads of at most 1024 bytes", a)
		}
	}
}

// elf32 builds a minimal little-endian ELF32 ARM executable holding only a
// symbol table: ELF header, .symtab, .strtab, .shstrtab and section headers.
func elf32(syms map[string]uint32) []byte {
	le := binary.LittleEndian
	strtab := []byte{0}
	var symtab []byte
	symtab = append(symtab, make([]byte, 16)...) // symbol 0
	names := make([]string, 0, len(syms))
	for n := range syms {
		names = append(names, n)
	}
	for _, n := range names {
		e := make([]byte, 16)
		le.PutUint32(e[0:], uint32(len(strtab)))
		le.PutUint32(e[4:], syms[n]) // st_value
		le.PutUint32(e[8:], 168)     // st_size
		e[12] = 1<<4 | 1             // STB_GLOBAL, STT_OBJECT
		le.PutUint16(e[14:], 0xfff1) // SHN_ABS
		symtab = append(symtab, e...)
		strtab = append(strtab, n...)
		strtab = append(strtab, 0)
	}
	shstr := []byte("\x00.symtab\x00.strtab\x00.shstrtab\x00")
	const ehsize, shentsize = 52, 40
	symOff := uint32(ehsize)
	strOff := symOff + uint32(len(symtab))
	shstrOff := strOff + uint32(len(strtab))
	shOff := (shstrOff + uint32(len(shstr)) + 3) &^ 3

	out := make([]byte, shOff+4*shentsize)
	copy(out, []byte{0x7f, 'E', 'L', 'F', 1, 1, 1}) // ELFCLASS32, ELFDATA2LSB, EV_CURRENT
	le.PutUint16(out[16:], 2)                       // ET_EXEC
	le.PutUint16(out[18:], 40)                      // EM_ARM
	le.PutUint32(out[20:], 1)                       // e_version
	le.PutUint32(out[32:], shOff)                   // e_shoff
	le.PutUint32(out[36:], 0x05000200)              // e_flags: EABI5, hard-float off
	le.PutUint16(out[40:], ehsize)
	le.PutUint16(out[46:], shentsize)
	le.PutUint16(out[48:], 4) // e_shnum
	le.PutUint16(out[50:], 3) // e_shstrndx
	copy(out[symOff:], symtab)
	copy(out[strOff:], strtab)
	copy(out[shstrOff:], shstr)
	sh := func(i int, name, typ, off, size, link, info, entsize uint32) {
		b := out[shOff+uint32(i)*shentsize:]
		le.PutUint32(b[0:], name)
		le.PutUint32(b[4:], typ)
		le.PutUint32(b[16:], off)
		le.PutUint32(b[20:], size)
		le.PutUint32(b[24:], link)
		le.PutUint32(b[28:], info)
		le.PutUint32(b[32:], 1) // addralign
		le.PutUint32(b[36:], entsize)
	}
	sh(1, 1, 2, symOff, uint32(len(symtab)), 2, 1, 16) // .symtab, SHT_SYMTAB, link .strtab
	sh(2, 9, 3, strOff, uint32(len(strtab)), 0, 0, 0)  // .strtab, SHT_STRTAB
	sh(3, 17, 3, shstrOff, uint32(len(shstr)), 0, 0, 0)
	return out
}

func TestSymbolAddress(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		file    []byte
		want    uint32
		wantErr error
		msg     string
	}{
		{name: "zephyr.elf", file: elf32(map[string]uint32{"main": 0x1234, "_SEGGER_RTT": 0x20000410, "z": 1}), want: 0x20000410},
		{name: "only symbol", file: elf32(map[string]uint32{"_SEGGER_RTT": 0x2000fff0}), want: 0x2000fff0},
		{name: "no RTT", file: elf32(map[string]uint32{"main": 0x1234}), wantErr: rtt.ErrNoSymbol, msg: "RTT enabled"},
		{name: "no symbols", file: elf32(nil), wantErr: rtt.ErrNoSymbol},
		{name: "not an ELF", file: []byte("not an elf file at all, sorry........................................."), msg: "bad magic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := write(strings.ReplaceAll(tt.name, " ", "_"), tt.file)
			got, err := rtt.SymbolAddress(p)
			if tt.wantErr == nil && tt.msg == "" {
				if err != nil || got != tt.want {
					t.Fatalf("SymbolAddress = 0x%08x, %v; want 0x%08x", got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("SymbolAddress = 0x%08x, nil; want an error", got)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v; want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not mention %q", err, tt.msg)
			}
		})
	}
	if _, err := rtt.SymbolAddress(filepath.Join(dir, "missing.elf")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v; want ErrNotExist", err)
	}
}

func TestAttachBySymbol(t *testing.T) {
	tg := rtttest.New(rtttest.WithAddr(0x20004000))
	p := filepath.Join(t.TempDir(), "zephyr.elf")
	if err := os.WriteFile(p, elf32(map[string]uint32{"_SEGGER_RTT": 0x20004000}), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, err := rtt.SymbolAddress(p)
	if err != nil {
		t.Fatal(err)
	}
	tg.Mem.Record()
	cb, err := rtt.Attach(context.Background(), tg.Mem, rtt.Config{Location: rtt.At(addr)})
	if err != nil {
		t.Fatal(err)
	}
	if cb.Addr() != 0x20004000 {
		t.Errorf("Addr = 0x%08x", cb.Addr())
	}
	// An exact address reads no more than the block and its names: no scan.
	for _, a := range tg.Mem.Log() {
		if a.Len > 256 {
			t.Errorf("access %v at an exact address looks like a scan", a)
		}
	}
}
