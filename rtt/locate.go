package rtt

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
)

// Location says where to look for the control block: at an exact address, or
// by scanning address ranges for the whole 16-byte ID.
type Location struct {
	exact  bool
	addr   uint32
	ranges []Range
}

// At is the exact address of the control block, e.g. from SymbolAddress.
func At(addr uint32) Location { return Location{exact: true, addr: addr} }

// Scan searches ranges for the ID. With no ranges it searches the RAM map
// given in Config.
func Scan(ranges ...Range) Location { return Location{ranges: ranges} }

func (l Location) String() string {
	if l.exact {
		return fmt.Sprintf("at 0x%08x", l.addr)
	}
	if len(l.ranges) == 0 {
		return "scan RAM"
	}
	return "scan " + rangesString(l.ranges)
}

// DefaultScanChunk is how many bytes a scan reads at a time.
const DefaultScanChunk = 4096

// Find locates a control block and returns its address. At an exact address
// the ID must be there; a scan must find it at exactly one 4-aligned address.
// It does not validate the block (Attach does).
func Find(ctx context.Context, mem MemoryAccess, loc Location, ram []Range, chunk int) (uint32, error) {
	if loc.exact {
		var id [16]byte
		if err := mem.ReadMemory(ctx, loc.addr, id[:]); err != nil {
			return 0, fmt.Errorf("rtt: read control block ID at 0x%08x: %w", loc.addr, err)
		}
		if id != ID {
			a := loc.addr
			return 0, &NoControlBlockError{At: &a}
		}
		return loc.addr, nil
	}
	ranges := loc.ranges
	if len(ranges) == 0 {
		ranges = ram
	}
	if chunk < 64 {
		chunk = DefaultScanChunk
	}
	var found []uint32
	for _, r := range ranges {
		hits, err := scanRange(ctx, mem, r, chunk)
		if err != nil {
			return 0, err
		}
		found = append(found, hits...)
	}
	switch len(found) {
	case 0:
		return 0, &NoControlBlockError{Ranges: ranges}
	case 1:
		return found[0], nil
	}
	return 0, &MultipleControlBlocksError{Addrs: found}
}

// scanRange reads r in chunks of chunk bytes that overlap by len(ID)-1, so an
// ID straddling two chunks is seen once, and returns the 4-aligned addresses
// where the whole ID starts.
func scanRange(ctx context.Context, mem MemoryAccess, r Range, chunk int) ([]uint32, error) {
	var hits []uint32
	buf := make([]byte, chunk)
	end := r.End()
	for pos := uint64(r.Start); pos+uint64(len(ID)) <= end; {
		n := uint64(chunk)
		if end-pos < n {
			n = end - pos
		}
		p := buf[:n]
		if err := mem.ReadMemory(ctx, uint32(pos), p); err != nil {
			return nil, fmt.Errorf("rtt: scan for control block: read 0x%08x+%d: %w", pos, n, err)
		}
		for i := 0; ; {
			j := bytes.Index(p[i:], ID[:])
			if j < 0 {
				break
			}
			if a := pos + uint64(i+j); a%4 == 0 {
				hits = append(hits, uint32(a))
			}
			i += j + 1
		}
		if pos+n >= end {
			break
		}
		// Overlap by len(ID)-1: a match starting in the overlap lies wholly in
		// the next chunk, and no match can be counted twice.
		pos += n - uint64(len(ID)-1)
	}
	return hits, nil
}

// SymbolAddress returns the address of the _SEGGER_RTT symbol in the ELF file
// at path (for Zephyr: build/zephyr/zephyr.elf).
func SymbolAddress(path string) (uint32, error) {
	f, err := elf.Open(path)
	if err != nil {
		return 0, fmt.Errorf("rtt: %w", err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
		return 0, fmt.Errorf("rtt: %s: symbols: %w", path, err)
	}
	for _, s := range syms {
		if s.Name != "_SEGGER_RTT" || s.Section == elf.SHN_UNDEF {
			continue
		}
		if s.Value > 0xFFFFFFFF {
			return 0, fmt.Errorf("rtt: %s: _SEGGER_RTT at 0x%x is beyond 32 bits", path, s.Value)
		}
		return uint32(s.Value), nil
	}
	return 0, fmt.Errorf("%w in %s (is RTT enabled in that build?)", ErrNoSymbol, path)
}
