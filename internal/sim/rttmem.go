package sim

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Simulated target RAM and the SEGGER RTT control block the Modem Shell's RTT build keeps in it
// (../shared/docs/rtt-jlink-plugins.md §1, cited below as rtt §n). Everything here runs on the
// board's loop goroutine, like the rest of the device state.

// nRF9160 SRAM (rtt §1.6: sram0 at 0x20000000, 256 KiB).
const (
	RAMBase = 0x20000000
	RAMSize = 256 * 1024
)

// The control block of a Zephyr build with the defaults (rtt §1.1, §1.8): 3 up and 3 down
// descriptors of 24 bytes, channel 0 "Terminal" with a 1024-byte up buffer and a down buffer of
// BoardConfig.RTTDownSize bytes (CONFIG_SEGGER_RTT_BUFFER_SIZE_DOWN: 32 with the shell's RTT
// backend, 16 otherwise), mode NO_BLOCK_SKIP.
const (
	rttID          = "SEGGER RTT\x00\x00\x00\x00\x00\x00"
	rttNumUp       = 3
	rttNumDown     = 3
	rttDescSize    = 24
	rttCBSize      = 16 + 4 + 4 + rttDescSize*(rttNumUp+rttNumDown) // 168
	rttUpSize      = 1024
	rttName        = "Terminal\x00"
	rttNameOff     = rttCBSize
	rttUpOff       = rttNameOff + 12 // the name, padded to a word
	rttDownOff     = rttUpOff + rttUpSize
	rttModeMask    = 3
	rttModeSkip    = 0
	rttModeTrim    = 1
	rttDescPBuffer = 4
	rttDescSizeOff = 8
	rttDescWrOff   = 12
	rttDescRdOff   = 16
	rttDescFlags   = 20
)

// rttActive says the running firmware's shell uses RTT: the board was configured with RTT and
// runs Modem Shell (the RTT overlay; at_client has no RTT transport, athost §2.7).
func (b *Board) rttActive() bool {
	return b.ram != nil && b.powered && b.fw != nil && b.fw.personality() == ModemShell
}

func (b *Board) ramWord(addr uint32) (uint32, bool) {
	off := uint64(addr) - RAMBase
	if addr < RAMBase || off+4 > RAMSize {
		return 0, false
	}
	return binary.LittleEndian.Uint32(b.ram[off:]), true
}

func (b *Board) setRAMWord(addr, v uint32) {
	off := uint64(addr) - RAMBase
	if addr >= RAMBase && off+4 <= RAMSize {
		binary.LittleEndian.PutUint32(b.ram[off:], v)
	}
}

// ramSlice returns RAM[addr, addr+n) or false when it is not all inside RAM.
func (b *Board) ramSlice(addr uint32, n uint64) ([]byte, bool) {
	if addr < RAMBase {
		return nil, false
	}
	off := uint64(addr) - RAMBase
	if off > RAMSize || n > RAMSize-off {
		return nil, false
	}
	return b.ram[off : off+n], true
}

// rttAddressFor is where the linker of this image put _SEGGER_RTT: it depends on the image and
// on how many times the board has been flashed, so every flash moves it (4-aligned, low in RAM).
func (b *Board) rttAddressFor() uint32 {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%d", b.cfg.SerialNumber, b.nvm.firmware.Personality, b.nvm.firmware.ImageSHA256, b.flashes)
	mix := binary.LittleEndian.Uint32(h.Sum(nil))
	addr := uint32(RAMBase + 0x400 + (mix%0x3C00)*4)
	if addr == b.rttPrev {
		addr += 0x40
	}
	return addr
}

// rttBoot runs at every boot. A power-on starts from cleared RAM; a flash from cleared RAM and a
// new address; a warm reset keeps an intact control block with its offsets
// (CONFIG_SEGGER_RTT_INIT_MODE_STRONG_CHECK and a NOLOAD section, rtt §1.2).
func (b *Board) rttBoot(power, flashed bool) {
	if b.ram == nil {
		return
	}
	b.rttUp = nil // output of the previous run is gone with it
	if power || flashed {
		clear(b.ram)
	}
	if flashed || b.rttAddr == 0 {
		b.rttPrev = b.rttAddr
		b.rttAddr = b.rttAddressFor()
	}
	if !b.rttActive() {
		return
	}
	if id, ok := b.ramSlice(b.rttAddr, 16); !ok || string(id) != rttID {
		b.rttInit()
	}
	b.rttSchedule(b.gen)
}

// rttInit is SEGGER's _DoInit: clear the block, set the counts and channel 0, then the ID, last.
func (b *Board) rttInit() {
	a := b.rttAddr
	cb, _ := b.ramSlice(a, uint64(rttDownOff+b.cfg.RTTDownSize))
	clear(cb)
	b.setRAMWord(a+16, rttNumUp)
	b.setRAMWord(a+20, rttNumDown)
	copy(cb[rttNameOff:], rttName)
	up := a + 24
	b.setRAMWord(up, a+rttNameOff)
	b.setRAMWord(up+rttDescPBuffer, a+rttUpOff)
	b.setRAMWord(up+rttDescSizeOff, rttUpSize)
	down := a + 24 + rttDescSize*rttNumUp
	b.setRAMWord(down, a+rttNameOff)
	b.setRAMWord(down+rttDescPBuffer, a+rttDownOff)
	b.setRAMWord(down+rttDescSizeOff, uint32(b.cfg.RTTDownSize))
	// The ID is written last (backwards in SEGGER's code), so a host that finds it finds a
	// complete block.
	for i := 15; i >= 0; i-- {
		cb[i] = rttID[i]
	}
}

// rttSchedule arms the shell backend's RX poll (CONFIG_SHELL_RTT_RX_POLL_PERIOD).
func (b *Board) rttSchedule(gen uint64) {
	time.AfterFunc(b.cfg.RTTPoll, func() {
		b.send(func() {
			if b.gen != gen || !b.rttActive() {
				return
			}
			b.rttPoll()
			b.rttFlushUp()
			b.rttSchedule(gen)
		})
	})
}

// rttDesc reads a descriptor as the target code does: from RAM, whatever the host left there.
func (b *Board) rttDesc(d uint32) (buf, size, wr, rd, flags uint32, ok bool) {
	var okB, okS, okW, okR, okF bool
	buf, okB = b.ramWord(d + rttDescPBuffer)
	size, okS = b.ramWord(d + rttDescSizeOff)
	wr, okW = b.ramWord(d + rttDescWrOff)
	rd, okR = b.ramWord(d + rttDescRdOff)
	flags, okF = b.ramWord(d + rttDescFlags)
	ok = okB && okS && okW && okR && okF && size > 0 && wr < size && rd < size
	if ok {
		_, ok = b.ramSlice(buf, uint64(size))
	}
	return
}

// rttPoll is SEGGER_RTT_Read on down channel 0: take [RdOff, WrOff), write RdOff once, and feed
// the bytes to the shell the way UART bytes are fed. A halted core does not poll.
func (b *Board) rttPoll() {
	if b.halted {
		return
	}
	d := b.rttAddr + 24 + rttDescSize*rttNumUp
	buf, size, wr, rd, _, ok := b.rttDesc(d)
	if !ok || wr == rd {
		return
	}
	mem, _ := b.ramSlice(buf, uint64(size))
	var data []byte
	for rd != wr {
		data = append(data, mem[rd])
		rd++
		if rd == size {
			rd = 0
		}
	}
	b.setRAMWord(d+rttDescRdOff, rd)
	b.stats.RTTDownBytes += uint64(len(data))
	b.stats.RxBytes += uint64(len(data))
	now := time.Now()
	for _, c := range data {
		b.queue = append(b.queue, inByte{c: c, at: now})
	}
	b.process()
}

// rttEmit writes firmware output to up channel 0 instead of the UART, the way Zephyr's shell
// RTT backend does (rtt §1.4, §1.8): in pieces of at most rttShellPiece bytes (the shell's
// printf buffer), each piece written whole or not at all (NO_BLOCK_SKIP), and a piece that does
// not fit waits until the host frees space (the shell pends on TX ready and retries). Mode 1
// (TRIM, set by the host in Flags) writes what fits of a piece. Output waits in order; done runs
// on the loop once all of data is in the buffer (or was dropped), as after a UART write.
func (b *Board) rttEmit(data []byte, done func()) {
	b.rttUp = append(b.rttUp, upChunk{data: data, done: done})
	b.rttFlushUp()
}

// upChunk is firmware output not yet in the up buffer.
type upChunk struct {
	data []byte
	done func()
}

const (
	// rttShellPiece is CONFIG_SHELL_PRINTF_BUFF_SIZE's default [inferred]: the shell hands its
	// output to the RTT backend in pieces of this size at most.
	rttShellPiece = 30
	// rttUpStall stands in for the shell RTT backend's host-presence detection: output that has
	// waited this long without the host freeing any space is dropped (counted in
	// rtt_up_dropped), so a board nobody reads does not wedge [model choice].
	rttUpStall = 2 * time.Second
)

// rttFlushUp writes pending output while it fits. It runs when output is emitted, when a host
// frees space (a memory write, a probe's read) and at every shell poll tick.
func (b *Board) rttFlushUp() {
	if !b.rttActive() {
		return
	}
	for len(b.rttUp) > 0 {
		c := &b.rttUp[0]
		for len(c.data) > 0 {
			n := b.rttWriteUp(c.data[:min(len(c.data), rttShellPiece)])
			if n == 0 {
				break
			}
			c.data = c.data[n:]
			b.rttUpSince = time.Now()
		}
		if len(c.data) > 0 {
			if time.Since(b.rttUpSince) < rttUpStall {
				return
			}
			// Nobody has read for too long: the shell gives the output up.
			b.stats.RTTUpDropped += uint64(len(c.data))
			c.data = nil
		}
		done := c.done
		b.rttUp = b.rttUp[1:]
		if done != nil {
			// Later on the loop, as after a UART write (never inside the caller's emit).
			gen := b.gen
			time.AfterFunc(0, func() {
				b.send(func() {
					if b.gen == gen {
						b.outEnd = time.Now()
						done()
					}
				})
			})
		}
	}
	b.rttUpSince = time.Now()
}

// rttWriteUp is SEGGER_RTT_Write on up channel 0 for one piece: data first, then WrOff. It
// returns how many bytes went in: all of data or none in NO_BLOCK_SKIP (and in BLOCK, which the
// caller's waiting models), what fits in NO_BLOCK_TRIM.
func (b *Board) rttWriteUp(data []byte) int {
	d := b.rttAddr + 24
	buf, size, wr, rd, flags, ok := b.rttDesc(d)
	if !ok {
		return 0
	}
	free := (rd + size - wr - 1) % size
	n := uint32(len(data))
	if n > free {
		if flags&rttModeMask == rttModeTrim {
			n = free
		} else {
			n = 0
		}
	}
	if n == 0 {
		return 0
	}
	mem, _ := b.ramSlice(buf, uint64(size))
	for _, c := range data[:n] {
		mem[wr] = c
		wr++
		if wr == size {
			wr = 0
		}
	}
	// Data first, then WrOff.
	b.setRAMWord(d+rttDescWrOff, wr)
	b.stats.RTTUpBytes += uint64(n)
	return int(n)
}

var errNoRAM = errors.New("sim: target memory is modelled only with BoardConfig.RTT (nrfsim --rtt)")

// memAccess checks an access of n bytes at addr and returns the RAM it covers.
func (b *Board) memAccess(addr uint32, n int) ([]byte, error) {
	if b.ram == nil {
		return nil, errNoRAM
	}
	if !b.powered {
		return nil, errUnplugged
	}
	mem, ok := b.ramSlice(addr, uint64(n))
	if !ok {
		return nil, fmt.Errorf("sim: memory access 0x%08x+%d outside RAM 0x%08x..0x%08x", addr, n, RAMBase, RAMBase+RAMSize-1)
	}
	return mem, nil
}

// ReadMemory reads target RAM through the debugger (the core keeps running).
func (b *Board) ReadMemory(ctx context.Context, addr uint32, p []byte) error {
	return b.call(ctx, func() error {
		mem, err := b.memAccess(addr, len(p))
		if err != nil {
			return err
		}
		copy(p, mem)
		return nil
	})
}

// WriteMemory writes target RAM through the debugger.
func (b *Board) WriteMemory(ctx context.Context, addr uint32, p []byte) error {
	return b.call(ctx, func() error {
		mem, err := b.memAccess(addr, len(p))
		if err != nil {
			return err
		}
		copy(mem, p)
		if len(b.rttUp) > 0 {
			b.rttFlushUp() // the host may have freed up-buffer space
		}
		return nil
	})
}

// RTTAddress is where the running firmware keeps its RTT control block (the _SEGGER_RTT symbol
// of its ELF). It fails when the firmware has no RTT.
func (b *Board) RTTAddress(ctx context.Context) (uint32, error) {
	var a uint32
	err := b.call(ctx, func() error {
		if b.ram == nil {
			return errNoRAM
		}
		if !b.rttActive() {
			return fmt.Errorf("sim: firmware %s has no RTT control block", b.nvm.firmware.Personality)
		}
		a = b.rttAddr
		return nil
	})
	return a, err
}

// setHalted halts or resumes the core (monitor halt / monitor go). A halted core does not poll
// the RTT down buffer.
func (b *Board) setHalted(ctx context.Context, halted bool) error {
	return b.call(ctx, func() error {
		if !b.powered {
			return errUnplugged
		}
		b.halted = halted
		return nil
	})
}

// Halted reports whether the core is halted by the debugger.
func (b *Board) Halted(ctx context.Context) (bool, error) {
	var h bool
	err := b.call(ctx, func() error { h = b.halted; return nil })
	return h, err
}
