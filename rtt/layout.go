package rtt

import (
	"encoding/binary"
	"fmt"
)

// Direction is the direction of a channel.
type Direction uint8

const (
	Up   Direction = iota // target → host
	Down                  // host → target
)

func (d Direction) String() string {
	if d == Up {
		return "up"
	}
	return "down"
}

// Descriptor is one channel's buffer descriptor as read from the target.
type Descriptor struct {
	Addr     uint32 // where the descriptor itself is
	NameAddr uint32 // sName; 0 for none. Names usually live in flash, so this is not checked against RAM
	Buffer   uint32 // pBuffer
	Size     uint32 // SizeOfBuffer
	WrOff    uint32
	RdOff    uint32
	Flags    uint32
}

// Active reports whether the target has configured the channel (an
// unconfigured descriptor is all zeros).
func (d Descriptor) Active() bool { return d.Buffer != 0 || d.Size != 0 }

// Mode is the operating mode in Flags[1:0].
func (d Descriptor) Mode() Mode { return Mode(d.Flags & modeMask) }

// Layout is a parsed, validated control block.
type Layout struct {
	Addr uint32
	Up   []Descriptor
	Down []Descriptor
}

// Size is the control block's size in bytes.
func (l Layout) Size() uint32 { return cbSize(len(l.Up), len(l.Down)) }

func cbSize(nUp, nDown int) uint32 { return HeaderSize + DescriptorSize*uint32(nUp+nDown) }

func ramRangeOf(ram []Range, addr uint32) (Range, bool) {
	for _, r := range ram {
		if r.Contains(addr, 1) {
			return r, true
		}
	}
	return Range{}, false
}

// ParseHeader checks the 24-byte header in b (read at addr): the whole ID,
// the channel counts (1..MaxChannels each), and that the whole control block
// lies in one range of ram. It returns the counts.
func ParseHeader(addr uint32, b []byte, ram []Range) (nUp, nDown int, err error) {
	if len(b) < HeaderSize {
		return 0, 0, fmt.Errorf("rtt: control block header at 0x%08x: %d bytes, need %d", addr, len(b), HeaderSize)
	}
	if [16]byte(b[:16]) != ID {
		return 0, 0, &NoControlBlockError{At: &addr}
	}
	corrupt := func(field string, v uint64, want string, limit uint64) error {
		return &CorruptError{Addr: addr, Field: field, Value: v, Want: want, Limit: limit, RAM: ram}
	}
	if addr%4 != 0 {
		return 0, 0, corrupt("control block address % 4", uint64(addr%4), "==", 0)
	}
	up := binary.LittleEndian.Uint32(b[16:])
	down := binary.LittleEndian.Uint32(b[20:])
	for _, c := range []struct {
		name string
		v    uint32
	}{{"MaxNumUpBuffers", up}, {"MaxNumDownBuffers", down}} {
		if c.v == 0 {
			return 0, 0, corrupt(c.name, uint64(c.v), ">=", 1)
		}
		if c.v > MaxChannels {
			return 0, 0, corrupt(c.name, uint64(c.v), "<=", MaxChannels)
		}
	}
	r, ok := ramRangeOf(ram, addr)
	if !ok {
		return 0, 0, corrupt("control block address", uint64(addr), "in RAM", 0)
	}
	if end := uint64(addr) + uint64(cbSize(int(up), int(down))); end > r.End() {
		return 0, 0, corrupt("control block end", end, "<=", r.End())
	}
	return int(up), int(down), nil
}

// ParseControlBlock parses and validates the control block whose bytes, read
// at addr, are b (at least Layout.Size bytes; ParseHeader says how many).
// Every descriptor is checked against ram: see Descriptor validation rules in
// the package documentation. It never panics, whatever b holds.
func ParseControlBlock(addr uint32, b []byte, ram []Range) (Layout, error) {
	nUp, nDown, err := ParseHeader(addr, b, ram)
	if err != nil {
		return Layout{}, err
	}
	if need := cbSize(nUp, nDown); uint32(len(b)) < need {
		return Layout{}, fmt.Errorf("rtt: control block at 0x%08x: %d bytes, need %d", addr, len(b), need)
	}
	l := Layout{Addr: addr, Up: make([]Descriptor, nUp), Down: make([]Descriptor, nDown)}
	for i := range nUp + nDown {
		off := HeaderSize + DescriptorSize*i
		d := decodeDescriptor(addr+uint32(off), b[off:off+DescriptorSize])
		dir, idx := Up, i
		if i >= nUp {
			dir, idx = Down, i-nUp
		}
		if err := validateDescriptor(l, dir, idx, d, ram, false); err != nil {
			return Layout{}, err
		}
		if dir == Up {
			l.Up[idx] = d
		} else {
			l.Down[idx] = d
		}
	}
	return l, nil
}

func decodeDescriptor(at uint32, b []byte) Descriptor {
	w := func(off int) uint32 { return binary.LittleEndian.Uint32(b[off:]) }
	return Descriptor{
		Addr:     at,
		NameAddr: w(OffName),
		Buffer:   w(OffBuf),
		Size:     w(OffSize),
		WrOff:    w(OffWrOff),
		RdOff:    w(OffRdOff),
		Flags:    w(OffFlags),
	}
}

// validateDescriptor checks one descriptor of the control block l. An
// inactive descriptor passes unless mustBeActive.
//
// Rules: SizeOfBuffer >= 2 (one byte is always left empty); pBuffer inside a
// RAM range and the whole buffer inside that same range; the buffer does not
// overlap the control block; WrOff and RdOff < SizeOfBuffer; Flags[31:24]
// zero; mode (Flags[1:0]) one of the three SEGGER modes.
func validateDescriptor(l Layout, dir Direction, idx int, d Descriptor, ram []Range, mustBeActive bool) error {
	if !d.Active() && !mustBeActive {
		return nil
	}
	name := fmt.Sprintf("%s[%d].", dir, idx)
	corrupt := func(field string, v uint64, want string, limit uint64) error {
		return &CorruptError{Addr: l.Addr, Field: name + field, Value: v, Want: want, Limit: limit, RAM: ram}
	}
	if d.Size < 2 {
		return corrupt("SizeOfBuffer", uint64(d.Size), ">=", 2)
	}
	r, ok := ramRangeOf(ram, d.Buffer)
	if !ok {
		return corrupt("pBuffer", uint64(d.Buffer), "in RAM", 0)
	}
	end := uint64(d.Buffer) + uint64(d.Size)
	if end > r.End() {
		return corrupt("pBuffer+SizeOfBuffer", end, "<=", r.End())
	}
	if cbEnd := uint64(l.Addr) + uint64(l.Size()); uint64(d.Buffer) < cbEnd && end > uint64(l.Addr) {
		// The buffer overlaps the control block: writing data would clobber it.
		if uint64(d.Buffer) < uint64(l.Addr) {
			return corrupt("pBuffer+SizeOfBuffer", end, "<=", uint64(l.Addr))
		}
		return corrupt("pBuffer", uint64(d.Buffer), ">=", cbEnd)
	}
	if d.WrOff >= d.Size {
		return corrupt("WrOff", uint64(d.WrOff), "<", uint64(d.Size))
	}
	if d.RdOff >= d.Size {
		return corrupt("RdOff", uint64(d.RdOff), "<", uint64(d.Size))
	}
	if hi := d.Flags >> 24; hi != 0 {
		return corrupt("Flags[31:24]", uint64(hi), "==", 0)
	}
	if m := d.Flags & modeMask; m > uint32(ModeBlock) {
		return corrupt("Flags[1:0] (mode)", uint64(m), "<=", uint64(ModeBlock))
	}
	return nil
}
