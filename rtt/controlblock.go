package rtt

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Config says where the control block is and what memory the target has.
type Config struct {
	// Location of the control block. The zero value scans RAM.
	Location Location
	// RAM is the target's memory map. The control block and every buffer
	// must lie inside it. Default NRF91RAM.
	RAM []Range
	// ScanChunk is how many bytes a scan reads at a time. Default
	// DefaultScanChunk.
	ScanChunk int
}

// ControlBlock is an attached RTT control block. Its methods are safe for
// concurrent use; each channel should have one user at a time.
type ControlBlock struct {
	mem MemoryAccess
	cfg Config

	mu     sync.Mutex
	layout Layout
	up     []ChannelInfo
	down   []ChannelInfo
}

// ChannelInfo describes a channel as it was when the control block was
// attached or relocated.
type ChannelInfo struct {
	Dir    Direction
	Index  int
	Name   string // "" when sName is 0 or cannot be read
	Size   uint32 // SizeOfBuffer; 0 for an unconfigured channel
	Mode   Mode
	Active bool
}

func (c ChannelInfo) String() string {
	if !c.Active {
		return fmt.Sprintf("%s %d (not configured)", c.Dir, c.Index)
	}
	return fmt.Sprintf("%s %d %q (%d bytes, %s)", c.Dir, c.Index, c.Name, c.Size, c.Mode)
}

// Attach locates, reads and validates the control block.
func Attach(ctx context.Context, mem MemoryAccess, cfg Config) (*ControlBlock, error) {
	if len(cfg.RAM) == 0 {
		cfg.RAM = NRF91RAM
	}
	cb := &ControlBlock{mem: mem, cfg: cfg}
	if err := cb.Relocate(ctx); err != nil {
		return nil, err
	}
	return cb, nil
}

// Relocate finds, reads and validates the control block again, as Attach
// did. Call it after a reset or a flash: the block may have moved or been
// re-initialised. Channels obtained before keep their direction and index and
// use the new block from their next access. On error the old block is kept.
func (cb *ControlBlock) Relocate(ctx context.Context) error {
	cb.mu.Lock()
	loc := cb.cfg.Location
	cb.mu.Unlock()
	return cb.RelocateTo(ctx, loc)
}

// RelocateTo is Relocate with a new location (for example the
// _SEGGER_RTT address of a newly flashed image), which later Relocate calls
// also use.
func (cb *ControlBlock) RelocateTo(ctx context.Context, loc Location) error {
	addr, err := Find(ctx, cb.mem, loc, cb.cfg.RAM, cb.cfg.ScanChunk)
	if err != nil {
		return err
	}
	hdr := make([]byte, HeaderSize)
	if err := cb.mem.ReadMemory(ctx, addr, hdr); err != nil {
		return fmt.Errorf("rtt: read control block header at 0x%08x: %w", addr, err)
	}
	nUp, nDown, err := ParseHeader(addr, hdr, cb.cfg.RAM)
	if err != nil {
		return err
	}
	b := make([]byte, cbSize(nUp, nDown))
	copy(b, hdr)
	if err := cb.mem.ReadMemory(ctx, addr+HeaderSize, b[HeaderSize:]); err != nil {
		return fmt.Errorf("rtt: read control block at 0x%08x: %w", addr, err)
	}
	l, err := ParseControlBlock(addr, b, cb.cfg.RAM)
	if err != nil {
		return err
	}
	up := cb.infos(ctx, Up, l.Up)
	down := cb.infos(ctx, Down, l.Down)
	cb.mu.Lock()
	cb.cfg.Location = loc
	cb.layout, cb.up, cb.down = l, up, down
	cb.mu.Unlock()
	return nil
}

func (cb *ControlBlock) infos(ctx context.Context, dir Direction, ds []Descriptor) []ChannelInfo {
	out := make([]ChannelInfo, len(ds))
	for i, d := range ds {
		out[i] = ChannelInfo{Dir: dir, Index: i, Size: d.Size, Mode: d.Mode(), Active: d.Active()}
		if d.Active() && d.NameAddr != 0 {
			out[i].Name = readName(ctx, cb.mem, d.NameAddr)
		}
	}
	return out
}

// readName reads at most MaxNameLen bytes of a NUL-terminated name. Names
// are cosmetic: one that cannot be read is "".
func readName(ctx context.Context, mem MemoryAccess, addr uint32) string {
	n := uint64(MaxNameLen)
	if rest := (uint64(1) << 32) - uint64(addr); rest < n {
		n = rest
	}
	b := make([]byte, n)
	if err := mem.ReadMemory(ctx, addr, b); err != nil {
		// Perhaps the name sits near the end of a region: try up to the next
		// 32-byte boundary.
		k := MaxNameLen - int(addr%MaxNameLen)
		if k >= len(b) {
			return ""
		}
		b = b[:k]
		if err := mem.ReadMemory(ctx, addr, b); err != nil {
			return ""
		}
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return strings.ToValidUTF8(string(b), "?")
}

// Addr is the control block's address.
func (cb *ControlBlock) Addr() uint32 {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	return cb.layout.Addr
}

// Layout is the control block as last read by Attach or Relocate.
func (cb *ControlBlock) Layout() Layout {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	return cb.layout
}

// Channels lists the up channels, then the down channels.
func (cb *ControlBlock) Channels() []ChannelInfo {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	return append(append([]ChannelInfo(nil), cb.up...), cb.down...)
}

// RAM is the memory map the control block is checked against.
func (cb *ControlBlock) RAM() []Range { return cb.cfg.RAM }

// Selector picks a channel by index or by name.
type Selector struct {
	Name  string // when not "", select by name
	Index int
}

// Index selects channel i.
func Index(i int) Selector { return Selector{Index: i} }

// Named selects the channel called name (e.g. "Terminal").
func Named(name string) Selector { return Selector{Name: name} }

// ParseSelector reads a decimal number as an index and anything else as a
// name.
func ParseSelector(s string) Selector {
	if i, err := strconv.Atoi(s); err == nil && i >= 0 {
		return Index(i)
	}
	return Named(s)
}

func (s Selector) String() string {
	if s.Name != "" {
		return strconv.Quote(s.Name)
	}
	return strconv.Itoa(s.Index)
}

func (cb *ControlBlock) resolve(dir Direction, sel Selector) (int, error) {
	cb.mu.Lock()
	infos := cb.up
	if dir == Down {
		infos = cb.down
	}
	infos = append([]ChannelInfo(nil), infos...)
	cb.mu.Unlock()
	idx := -1
	if sel.Name == "" {
		if sel.Index < 0 || sel.Index >= len(infos) {
			return 0, fmt.Errorf("%w: %s channel %d (the target has %d)", ErrNoChannel, dir, sel.Index, len(infos))
		}
		idx = sel.Index
	} else {
		var matches []int
		for i, c := range infos {
			if c.Active && c.Name == sel.Name {
				matches = append(matches, i)
			}
		}
		switch len(matches) {
		case 0:
			var names []string
			for _, c := range infos {
				if c.Active {
					names = append(names, fmt.Sprintf("%d %q", c.Index, c.Name))
				}
			}
			return 0, fmt.Errorf("%w: no %s channel named %q (there are: %s)", ErrNoChannel, dir, sel.Name, strings.Join(names, ", "))
		case 1:
			idx = matches[0]
		default:
			return 0, fmt.Errorf("%w: %d %s channels named %q (indexes %v); select by index", ErrNoChannel, len(matches), dir, sel.Name, matches)
		}
	}
	if !infos[idx].Active {
		return 0, fmt.Errorf("%w: %s channel %d is not configured by the target", ErrNoChannel, dir, idx)
	}
	return idx, nil
}

// Up selects an up (target → host) channel.
func (cb *ControlBlock) Up(sel Selector) (*UpChannel, error) {
	i, err := cb.resolve(Up, sel)
	if err != nil {
		return nil, err
	}
	return &UpChannel{ch: channel{cb: cb, dir: Up, idx: i}}, nil
}

// Down selects a down (host → target) channel.
func (cb *ControlBlock) Down(sel Selector) (*DownChannel, error) {
	i, err := cb.resolve(Down, sel)
	if err != nil {
		return nil, err
	}
	return &DownChannel{ch: channel{cb: cb, dir: Down, idx: i}}, nil
}
