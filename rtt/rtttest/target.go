package rtttest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nrfprov/nrfprov/rtt"
)

// Channel configures one buffer of the synthetic control block.
type Channel struct {
	Name  string // "" leaves sName 0
	Size  uint32
	Flags uint32
}

type config struct {
	ram, flash rtt.Range
	addr       uint32
	up, down   []Channel
	maxUp      int
	maxDown    int
	noID       bool
}

// Option configures New.
type Option func(*config)

// WithRAM sets the RAM region (default rtt.NRF91RAM[0]).
func WithRAM(start, size uint32) Option {
	return func(c *config) { c.ram = rtt.Range{Start: start, Size: size} }
}

// WithAddr puts the control block at addr (default the start of RAM, as
// Zephyr's .rtt_buff_data section does). Buffers follow it.
func WithAddr(addr uint32) Option { return func(c *config) { c.addr = addr } }

// WithUp sets the configured up channels (default Zephyr's: "Terminal",
// 1024 bytes).
func WithUp(chs ...Channel) Option { return func(c *config) { c.up = chs } }

// WithDown sets the configured down channels (default Zephyr's: "Terminal",
// 16 bytes).
func WithDown(chs ...Channel) Option { return func(c *config) { c.down = chs } }

// WithMax sets MaxNumUpBuffers and MaxNumDownBuffers (default 3 and 3, or
// the number of configured channels if more). Descriptors beyond the
// configured channels stay zero, as after SEGGER's memset.
func WithMax(up, down int) Option { return func(c *config) { c.maxUp, c.maxDown = up, down } }

// WithoutID leaves the ID unwritten: a block caught half-initialised (the
// target writes the ID last).
func WithoutID() Option { return func(c *config) { c.noID = true } }

// Flash is where channel names are kept (they are string literals).
var Flash = rtt.Range{Start: 0x00010000, Size: 0x1000}

// Target is a simulated target CPU with a control block in its RAM.
type Target struct {
	Mem *Memory
	RAM rtt.Range

	mu  sync.Mutex // serialises target-side operations (one CPU)
	cfg config
}

// New builds a target with a freshly initialised control block.
func New(opts ...Option) *Target {
	c := config{
		ram:   rtt.NRF91RAM[0],
		up:    []Channel{{Name: "Terminal", Size: 1024}},
		down:  []Channel{{Name: "Terminal", Size: 16}},
		maxUp: 3, maxDown: 3,
	}
	for _, o := range opts {
		o(&c)
	}
	if c.addr == 0 {
		c.addr = c.ram.Start
	}
	c.maxUp = max(c.maxUp, len(c.up))
	c.maxDown = max(c.maxDown, len(c.down))
	t := &Target{Mem: NewMemory(c.ram, Flash), RAM: c.ram, cfg: c}
	t.initAt(c.addr, c.noID)
	return t
}

// initAt lays out the control block at addr, buffers after it, names in
// Flash, in SEGGER's order: descriptors first, the ID last.
func (t *Target) initAt(addr uint32, noID bool) {
	c := &t.cfg
	c.addr = addr
	size := rtt.HeaderSize + rtt.DescriptorSize*uint32(c.maxUp+c.maxDown)
	t.Mem.Poke(addr, make([]byte, size))
	t.Mem.SetWord(addr+16, uint32(c.maxUp))
	t.Mem.SetWord(addr+20, uint32(c.maxDown))
	next := (addr + size + 3) &^ 3
	names := Flash.Start
	put := func(desc uint32, ch Channel) {
		var nameAddr uint32
		if ch.Name != "" {
			nameAddr = names
			t.Mem.Poke(names, append([]byte(ch.Name), 0))
			names += uint32(len(ch.Name)+1+3) &^ 3
		}
		t.Mem.SetWord(desc+rtt.OffName, nameAddr)
		t.Mem.SetWord(desc+rtt.OffBuf, next)
		t.Mem.SetWord(desc+rtt.OffSize, ch.Size)
		t.Mem.SetWord(desc+rtt.OffFlags, ch.Flags)
		t.Mem.Poke(next, make([]byte, ch.Size))
		next = (next + ch.Size + 3) &^ 3
	}
	for i, ch := range c.up {
		put(t.Desc(rtt.Up, i), ch)
	}
	for i, ch := range c.down {
		put(t.Desc(rtt.Down, i), ch)
	}
	if !noID {
		t.Mem.Poke(addr, rtt.ID[:])
	}
}

// Addr is the control block's address.
func (t *Target) Addr() uint32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cfg.addr
}

// Desc is the address of a channel's descriptor. Desc, Field and SetField
// must not run concurrently with Move.
func (t *Target) Desc(dir rtt.Direction, i int) uint32 {
	d := t.cfg.addr + rtt.HeaderSize + rtt.DescriptorSize*uint32(i)
	if dir == rtt.Down {
		d += rtt.DescriptorSize * uint32(t.cfg.maxUp)
	}
	return d
}

// Field reads a descriptor word (off is rtt.OffBuf, rtt.OffWrOff, ...).
func (t *Target) Field(dir rtt.Direction, i int, off uint32) uint32 {
	return t.Mem.Word(t.Desc(dir, i) + off)
}

// SetField writes a descriptor word: to corrupt a block, or to set offsets
// before a test.
func (t *Target) SetField(dir rtt.Direction, i int, off, v uint32) {
	t.Mem.SetWord(t.Desc(dir, i)+off, v)
}

// WriteID writes the ID (finishing a block built WithoutID).
func (t *Target) WriteID() { t.Mem.Poke(t.Addr(), rtt.ID[:]) }

// Move re-initialises the control block at addr, as a new image flashed and
// booted would. With clearOld the old block is zeroed; without, it is left
// behind intact (stale: uncleared NOLOAD RAM).
func (t *Target) Move(addr uint32, clearOld bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.cfg.addr
	if clearOld {
		t.Mem.Poke(old, make([]byte, rtt.HeaderSize+rtt.DescriptorSize*(t.cfg.maxUp+t.cfg.maxDown)))
	}
	t.initAt(addr, false)
}

// Drain is the target reading up to max bytes from down channel i, like
// SEGGER_RTT_ReadNoLock: snapshot the offsets, copy, then write RdOff once.
// It returns nil if the descriptor is not sane (the target would misbehave;
// the simulation just stops).
func (t *Target) Drain(i, max int) []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.Desc(rtt.Down, i)
	rd := t.Mem.Word(d + rtt.OffRdOff)
	wr := t.Mem.Word(d + rtt.OffWrOff)
	buf := t.Mem.Word(d + rtt.OffBuf)
	size := t.Mem.Word(d + rtt.OffSize)
	if size == 0 || rd >= size || wr >= size {
		return nil
	}
	var out []byte
	for rd != wr && len(out) < max {
		end := wr
		if rd > wr {
			end = size
		}
		n := min(int(end-rd), max-len(out))
		out = append(out, t.Mem.Peek(buf+rd, n)...)
		rd = (rd + uint32(n)) % size
	}
	if len(out) > 0 {
		t.Mem.SetWord(d+rtt.OffRdOff, rd)
	}
	return out
}

// Emit is the target writing p to up channel i as much as fits (mode
// NO_BLOCK_TRIM): data first, then WrOff. It returns how many bytes fit.
func (t *Target) Emit(i int, p []byte) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.Desc(rtt.Up, i)
	rd := t.Mem.Word(d + rtt.OffRdOff)
	wr := t.Mem.Word(d + rtt.OffWrOff)
	buf := t.Mem.Word(d + rtt.OffBuf)
	size := t.Mem.Word(d + rtt.OffSize)
	if size == 0 || rd >= size || wr >= size {
		return 0
	}
	done := 0
	for done < len(p) {
		var room uint32
		switch {
		case rd > wr:
			room = rd - wr - 1
		case rd == 0:
			room = size - wr - 1
		default:
			room = size - wr
		}
		if room == 0 {
			break
		}
		n := min(int(room), len(p)-done)
		t.Mem.Poke(buf+wr, p[done:done+n])
		done += n
		wr = (wr + uint32(n)) % size
	}
	t.Mem.SetWord(d+rtt.OffWrOff, wr)
	return done
}

// Drainer is the target polling a down channel on a timer, like Zephyr's
// shell RTT backend (every 10 ms, CONFIG_SHELL_RTT_RX_POLL_PERIOD).
type Drainer struct {
	mu      sync.Mutex
	got     []byte
	polls   int
	changed chan struct{}
	done    chan struct{}
}

// StartDrain starts a goroutine that drains up to perPoll bytes from down
// channel ch every interval until ctx is done.
func (t *Target) StartDrain(ctx context.Context, ch int, every time.Duration, perPoll int) *Drainer {
	d := &Drainer{changed: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(d.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			b := t.Drain(ch, perPoll)
			d.mu.Lock()
			d.polls++
			if len(b) > 0 {
				d.got = append(d.got, b...)
				close(d.changed)
				d.changed = make(chan struct{})
			}
			d.mu.Unlock()
		}
	}()
	return d
}

// WaitFor blocks until at least n bytes have been drained, and returns them
// all.
func (d *Drainer) WaitFor(ctx context.Context, n int) ([]byte, error) {
	for {
		d.mu.Lock()
		if len(d.got) >= n {
			out := append([]byte(nil), d.got...)
			d.mu.Unlock()
			return out, nil
		}
		ch := d.changed
		have := len(d.got)
		d.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("rtttest: drained %d of %d bytes: %w", have, n, ctx.Err())
		case <-ch:
		case <-d.done:
			return nil, fmt.Errorf("rtttest: drainer stopped after %d of %d bytes", have, n)
		}
	}
}

// Wait waits for the drain goroutine to end (its ctx must be done) and
// returns every byte drained and the number of polls.
func (d *Drainer) Wait() ([]byte, int) {
	<-d.done
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]byte(nil), d.got...), d.polls
}
