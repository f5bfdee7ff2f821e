// Package rtt reads and writes SEGGER RTT ring buffers in a target's memory.
//
// The package is transport-agnostic: it needs only a MemoryAccess (a debug
// probe, a GDB remote-protocol client, a simulator, a fake) and a memory map
// (the target's RAM ranges). It locates the control block at an exact address
// (for example the ELF symbol _SEGGER_RTT, see SymbolAddress) or by scanning
// RAM for the whole 16-byte ID, validates every descriptor, and moves bytes
// with the same ordering rules as the target side of SEGGER_RTT.c:
//
//   - up channel (target → host): read WrOff and RdOff in one read, then the
//     data (at most two reads on wrap-around), then write RdOff only;
//   - down channel (host → target): read WrOff and RdOff in one read, write the
//     data into the free space leaving one byte empty (at most two writes),
//     then write WrOff last.
//
// Target memory is not trusted: every access re-reads and re-validates the
// channel's descriptor, and a value that cannot be right becomes a
// *CorruptError matching ErrControlBlockCorrupted. After a reset or a flash
// the control block may have moved: call ControlBlock.Relocate.
package rtt

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// MemoryAccess reads and writes target memory. Implementations should make a
// 4-byte access at a 4-aligned address a single word transaction: WrOff and
// RdOff are written that way.
type MemoryAccess interface {
	ReadMemory(ctx context.Context, addr uint32, p []byte) error
	WriteMemory(ctx context.Context, addr uint32, p []byte) error
}

// Range is a region of target address space: [Start, Start+Size).
type Range struct {
	Start uint32
	Size  uint32
}

// End is one past the last address of r (it may be 1<<32).
func (r Range) End() uint64 { return uint64(r.Start) + uint64(r.Size) }

// Contains reports whether the n bytes at addr all lie inside r.
func (r Range) Contains(addr uint32, n uint64) bool {
	return addr >= r.Start && uint64(addr)+n <= r.End()
}

func (r Range) String() string { return fmt.Sprintf("0x%08x-0x%08x", r.Start, r.End()-1) }

func rangesString(rs []Range) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.String()
	}
	return strings.Join(s, ", ")
}

// NRF91RAM is the nRF9160/9161/9151 SRAM: 256 KiB at 0x20000000.
var NRF91RAM = []Range{{Start: 0x20000000, Size: 0x40000}}

// ID is the whole 16-byte control block ID, as the target leaves it once
// initialised. The target writes it last, so a block whose ID is present has
// initialised descriptors.
var ID = [16]byte{'S', 'E', 'G', 'G', 'E', 'R', ' ', 'R', 'T', 'T'}

// Layout constants of the 32-bit control block (SEGGER_RTT.h).
const (
	HeaderSize     = 24 // acID[16], MaxNumUpBuffers, MaxNumDownBuffers
	DescriptorSize = 24 // sName, pBuffer, SizeOfBuffer, WrOff, RdOff, Flags

	OffName  = 0x00
	OffBuf   = 0x04
	OffSize  = 0x08
	OffWrOff = 0x0C
	OffRdOff = 0x10
	OffFlags = 0x14

	// MaxChannels bounds MaxNumUpBuffers and MaxNumDownBuffers. SEGGER's and
	// Zephyr's defaults are 3; anything above this is taken as garbage.
	MaxChannels = 32
	// MaxNameLen bounds how much of a channel name is read.
	MaxNameLen = 32
)

// Mode is the operating mode in Flags[1:0].
type Mode uint32

const (
	ModeNoBlockSkip Mode = 0 // write nothing if the message does not fit (the default)
	ModeNoBlockTrim Mode = 1 // write as much as fits
	ModeBlock       Mode = 2 // the target spins until there is space
	modeMask             = 3
)

func (m Mode) String() string {
	switch m {
	case ModeNoBlockSkip:
		return "no-block-skip"
	case ModeNoBlockTrim:
		return "no-block-trim"
	case ModeBlock:
		return "block-if-fifo-full"
	}
	return fmt.Sprintf("mode(%d)", uint32(m))
}

var (
	// ErrNoControlBlock: no control block ID was found where one was looked
	// for. Errors matching it are *NoControlBlockError. Usually RTT is not
	// initialised yet (the target is halted before init, or the firmware has
	// no RTT).
	ErrNoControlBlock = errors.New("rtt: control block not found")
	// ErrMultipleControlBlocks: a scan found the ID at several addresses (a
	// stale block left in RAM by an earlier image, or the ID in data). Errors
	// matching it are *MultipleControlBlocksError; give the exact address.
	ErrMultipleControlBlocks = errors.New("rtt: several control blocks found")
	// ErrControlBlockCorrupted: a value read from the control block cannot be
	// right. Errors matching it are *CorruptError. After a reset or a flash,
	// Relocate.
	ErrControlBlockCorrupted = errors.New("rtt: control block corrupted")
	// ErrNoChannel: the selected channel does not exist or is not configured.
	ErrNoChannel = errors.New("rtt: no such channel")
	// ErrNoSymbol: the ELF file has no _SEGGER_RTT symbol.
	ErrNoSymbol = errors.New("rtt: no _SEGGER_RTT symbol")
)

// NoControlBlockError says where a control block was looked for and not found.
type NoControlBlockError struct {
	At     *uint32 // the exact address looked at, or nil for a scan
	Ranges []Range // the ranges scanned
}

func (e *NoControlBlockError) Error() string {
	if e.At != nil {
		return fmt.Sprintf("rtt: control block not found at 0x%08x (no %q ID there)", *e.At, "SEGGER RTT")
	}
	return fmt.Sprintf("rtt: control block not found in %s", rangesString(e.Ranges))
}

func (e *NoControlBlockError) Is(target error) bool { return target == ErrNoControlBlock }

// MultipleControlBlocksError lists every address at which a scan found the ID.
type MultipleControlBlocksError struct {
	Addrs []uint32
}

func (e *MultipleControlBlocksError) Error() string {
	s := make([]string, len(e.Addrs))
	for i, a := range e.Addrs {
		s[i] = fmt.Sprintf("0x%08x", a)
	}
	return fmt.Sprintf("rtt: %d control blocks found, at %s; give the address (or the ELF with _SEGGER_RTT)",
		len(e.Addrs), strings.Join(s, ", "))
}

func (e *MultipleControlBlocksError) Is(target error) bool { return target == ErrMultipleControlBlocks }

// CorruptError is a control block value that violates a limit:
// Value Want Limit must hold and does not (Want is "<", "<=", ">=", "==" or
// "in RAM", in which case Limit is unused and RAM says where it should be).
type CorruptError struct {
	Addr  uint32 // control block address
	Field string // e.g. "MaxNumUpBuffers", "down[0].WrOff", "up[1].pBuffer"
	Value uint64
	Want  string
	Limit uint64
	RAM   []Range
}

func (e *CorruptError) Error() string {
	if e.Want == "in RAM" {
		return fmt.Sprintf("rtt: control block at 0x%08x corrupted: %s = %s, not in RAM %s",
			e.Addr, e.Field, num(e.Value), rangesString(e.RAM))
	}
	return fmt.Sprintf("rtt: control block at 0x%08x corrupted: %s = %s, want %s %s",
		e.Addr, e.Field, num(e.Value), e.Want, num(e.Limit))
}

func (e *CorruptError) Is(target error) bool { return target == ErrControlBlockCorrupted }

// num prints sizes and offsets in decimal, addresses in hex.
func num(v uint64) string {
	if v >= 0x10000 {
		return fmt.Sprintf("0x%x", v)
	}
	return fmt.Sprintf("%d", v)
}
