package rtt

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"
)

type channel struct {
	cb  *ControlBlock
	dir Direction
	idx int
}

// descriptor reads the channel's whole descriptor (pointer, size, WrOff and
// RdOff in one read) and validates it: target memory is not trusted between
// accesses.
func (c channel) descriptor(ctx context.Context) (Descriptor, error) {
	c.cb.mu.Lock()
	l := c.cb.layout
	c.cb.mu.Unlock()
	ds := l.Up
	if c.dir == Down {
		ds = l.Down
	}
	if c.idx >= len(ds) {
		return Descriptor{}, fmt.Errorf("%w: %s channel %d (the control block at 0x%08x has %d)", ErrNoChannel, c.dir, c.idx, l.Addr, len(ds))
	}
	at := ds[c.idx].Addr
	var b [DescriptorSize]byte
	if err := c.cb.mem.ReadMemory(ctx, at, b[:]); err != nil {
		return Descriptor{}, fmt.Errorf("rtt: read %s[%d] descriptor at 0x%08x: %w", c.dir, c.idx, at, err)
	}
	d := decodeDescriptor(at, b[:])
	if err := validateDescriptor(l, c.dir, c.idx, d, c.cb.cfg.RAM, true); err != nil {
		return Descriptor{}, err
	}
	return d, nil
}

func (c channel) writeWord(ctx context.Context, addr, v uint32, what string) error {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	if err := c.cb.mem.WriteMemory(ctx, addr, b[:]); err != nil {
		return fmt.Errorf("rtt: write %s[%d].%s at 0x%08x: %w", c.dir, c.idx, what, addr, err)
	}
	return nil
}

func (c channel) info() ChannelInfo {
	c.cb.mu.Lock()
	defer c.cb.mu.Unlock()
	infos := c.cb.up
	if c.dir == Down {
		infos = c.cb.down
	}
	if c.idx < len(infos) {
		return infos[c.idx]
	}
	return ChannelInfo{Dir: c.dir, Index: c.idx}
}

// UpChannel is a target → host channel. The host writes only its RdOff.
type UpChannel struct{ ch channel }

// Info describes the channel as of the last Attach or Relocate.
func (u *UpChannel) Info() ChannelInfo { return u.ch.info() }

// Read copies up to len(p) bytes the target has written and frees their
// space. It does not wait: with nothing to read it returns 0, nil.
//
// Order: one read of the descriptor (WrOff and RdOff together), at most two
// reads of data (the second on wrap-around), then one write of RdOff.
func (u *UpChannel) Read(ctx context.Context, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	d, err := u.ch.descriptor(ctx)
	if err != nil {
		return 0, err
	}
	avail := d.WrOff - d.RdOff
	if d.WrOff < d.RdOff {
		avail = d.Size - d.RdOff + d.WrOff
	}
	n := min(uint32(len(p)), avail)
	if n == 0 {
		return 0, nil
	}
	first := min(n, d.Size-d.RdOff)
	if err := u.ch.cb.mem.ReadMemory(ctx, d.Buffer+d.RdOff, p[:first]); err != nil {
		return 0, fmt.Errorf("rtt: read up[%d] data at 0x%08x: %w", u.ch.idx, d.Buffer+d.RdOff, err)
	}
	if n > first {
		if err := u.ch.cb.mem.ReadMemory(ctx, d.Buffer, p[first:n]); err != nil {
			return 0, fmt.Errorf("rtt: read up[%d] data at 0x%08x: %w", u.ch.idx, d.Buffer, err)
		}
	}
	if err := u.ch.writeWord(ctx, d.Addr+OffRdOff, (d.RdOff+n)%d.Size, "RdOff"); err != nil {
		// The bytes were read but not released: the target will offer them
		// again. Report none read so a retry does not duplicate them.
		return 0, err
	}
	return int(n), nil
}

// DownChannel is a host → target channel. The host writes only the data and
// its WrOff.
type DownChannel struct{ ch channel }

// Info describes the channel as of the last Attach or Relocate.
func (w *DownChannel) Info() ChannelInfo { return w.ch.info() }

// Free returns how many bytes the channel can take now.
func (w *DownChannel) Free(ctx context.Context) (int, error) {
	d, err := w.ch.descriptor(ctx)
	if err != nil {
		return 0, err
	}
	return int(free(d)), nil
}

func free(d Descriptor) uint32 {
	if d.RdOff > d.WrOff {
		return d.RdOff - d.WrOff - 1
	}
	return d.Size - 1 - d.WrOff + d.RdOff
}

// Write puts as much of p as fits into the free space (one byte always stays
// empty) and returns how many bytes that was; 0 when the buffer is full. It
// does not wait: see Writer.
//
// Order: one read of the descriptor (WrOff and RdOff together), at most two
// writes of data (the second on wrap-around), then one write of WrOff.
func (w *DownChannel) Write(ctx context.Context, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	d, err := w.ch.descriptor(ctx)
	if err != nil {
		return 0, err
	}
	n := min(uint32(len(p)), free(d))
	if n == 0 {
		return 0, nil
	}
	first := min(n, d.Size-d.WrOff)
	if err := w.ch.cb.mem.WriteMemory(ctx, d.Buffer+d.WrOff, p[:first]); err != nil {
		return 0, fmt.Errorf("rtt: write down[%d] data at 0x%08x: %w", w.ch.idx, d.Buffer+d.WrOff, err)
	}
	if n > first {
		if err := w.ch.cb.mem.WriteMemory(ctx, d.Buffer, p[first:n]); err != nil {
			return 0, fmt.Errorf("rtt: write down[%d] data at 0x%08x: %w", w.ch.idx, d.Buffer, err)
		}
	}
	if err := w.ch.writeWord(ctx, d.Addr+OffWrOff, (d.WrOff+n)%d.Size, "WrOff"); err != nil {
		return 0, err
	}
	return int(n), nil
}

// DefaultPoll is how often a Writer looks for space the target has freed.
// Zephyr's shell RTT backend drains its down buffer every 10 ms.
const DefaultPoll = time.Millisecond

// Writer writes whole buffers to a down channel: it fills exactly the free
// space, then polls RdOff every Poll until the target has drained some, and
// fills again. One poll is one descriptor read.
type Writer struct {
	Ch   *DownChannel
	Poll time.Duration // default DefaultPoll
}

// Write writes all of p, or stops when ctx is done or an access fails; it
// returns how many bytes reached the buffer.
func (w *Writer) Write(ctx context.Context, p []byte) (int, error) {
	poll := w.Poll
	if poll <= 0 {
		poll = DefaultPoll
	}
	var timer *time.Timer
	total := 0
	for {
		n, err := w.Ch.Write(ctx, p[total:])
		total += n
		if err != nil {
			return total, fmt.Errorf("rtt: down[%d]: %d of %d bytes written: %w", w.Ch.ch.idx, total, len(p), err)
		}
		if total == len(p) {
			return total, nil
		}
		// The buffer is full now: wait for the target to drain it.
		if timer == nil {
			timer = time.NewTimer(poll)
			defer timer.Stop()
		} else {
			timer.Reset(poll)
		}
		select {
		case <-ctx.Done():
			return total, fmt.Errorf("rtt: down[%d]: %d of %d bytes written: %w", w.Ch.ch.idx, total, len(p), context.Cause(ctx))
		case <-timer.C:
		}
	}
}
