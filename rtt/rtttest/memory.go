// Package rtttest provides a fake rtt.MemoryAccess over byte slices and a
// simulated target that keeps a real SEGGER RTT control block in it: it
// drains down channels and fills up channels with the target-side protocol
// of SEGGER_RTT.c, so tests exercise the real ring-buffer logic.
package rtttest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/nrfprov/nrfprov/rtt"
)

// ErrFault: a host access touched unmapped memory (a probe would report a
// bus fault).
var ErrFault = errors.New("rtttest: access outside mapped memory")

// Access is one host access, as recorded by Memory.
type Access struct {
	Write bool
	Addr  uint32
	Len   int
}

func (a Access) String() string {
	op := "R"
	if a.Write {
		op = "W"
	}
	return fmt.Sprintf("%s 0x%08x+%d", op, a.Addr, a.Len)
}

type region struct {
	start uint32
	data  []byte
}

// Memory is a fake rtt.MemoryAccess: mapped regions of bytes, each host
// access atomic under one lock (as a probe's word transaction would be).
// Target-side helpers (Peek, Poke, Word, SetWord) do not count as host
// accesses.
type Memory struct {
	mu      sync.Mutex
	regions []region
	log     []Access
	logging bool
	// OnAccess, when set before use, is called after every host access,
	// outside the lock: a test can step the simulated target from it.
	OnAccess func(Access)
	// Fail, when set before use, makes the host access it returns an error
	// for fail with that error.
	Fail func(Access) error
}

var _ rtt.MemoryAccess = (*Memory)(nil)

// NewMemory maps zeroed regions.
func NewMemory(regions ...rtt.Range) *Memory {
	m := &Memory{}
	for _, r := range regions {
		m.regions = append(m.regions, region{start: r.Start, data: make([]byte, r.Size)})
	}
	return m
}

func (m *Memory) slice(addr uint32, n int) ([]byte, bool) {
	for _, r := range m.regions {
		if addr >= r.start && uint64(addr-r.start)+uint64(n) <= uint64(len(r.data)) {
			off := addr - r.start
			return r.data[off : off+uint32(n)], true
		}
	}
	return nil, false
}

func (m *Memory) access(ctx context.Context, a Access, p []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.Fail != nil {
		if err := m.Fail(a); err != nil {
			return err
		}
	}
	m.mu.Lock()
	s, ok := m.slice(a.Addr, a.Len)
	if ok {
		if a.Write {
			copy(s, p)
		} else {
			copy(p, s)
		}
		if m.logging {
			m.log = append(m.log, a)
		}
	}
	m.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrFault, a)
	}
	if m.OnAccess != nil {
		m.OnAccess(a)
	}
	return nil
}

// ReadMemory implements rtt.MemoryAccess.
func (m *Memory) ReadMemory(ctx context.Context, addr uint32, p []byte) error {
	return m.access(ctx, Access{Addr: addr, Len: len(p)}, p)
}

// WriteMemory implements rtt.MemoryAccess.
func (m *Memory) WriteMemory(ctx context.Context, addr uint32, p []byte) error {
	return m.access(ctx, Access{Write: true, Addr: addr, Len: len(p)}, p)
}

// Record starts (or restarts) recording host accesses.
func (m *Memory) Record() {
	m.mu.Lock()
	m.logging, m.log = true, nil
	m.mu.Unlock()
}

// Log returns the host accesses recorded since Record.
func (m *Memory) Log() []Access {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Access(nil), m.log...)
}

// Peek returns a copy of n bytes at addr; it panics on unmapped memory (a
// test bug).
func (m *Memory) Peek(addr uint32, n int) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.slice(addr, n)
	if !ok {
		panic(fmt.Sprintf("rtttest: Peek 0x%08x+%d: unmapped", addr, n))
	}
	return append([]byte(nil), s...)
}

// Poke writes p at addr; it panics on unmapped memory.
func (m *Memory) Poke(addr uint32, p []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.slice(addr, len(p))
	if !ok {
		panic(fmt.Sprintf("rtttest: Poke 0x%08x+%d: unmapped", addr, len(p)))
	}
	copy(s, p)
}

// Word reads a little-endian 32-bit word.
func (m *Memory) Word(addr uint32) uint32 { return binary.LittleEndian.Uint32(m.Peek(addr, 4)) }

// SetWord writes a little-endian 32-bit word.
func (m *Memory) SetWord(addr, v uint32) {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	m.Poke(addr, b[:])
}
