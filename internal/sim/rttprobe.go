package sim

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync"
	"time"
)

// The debug-probe side of RTT as the probe vendors' own software does it, for the sim's RTT
// endpoints (the J-Link telnet server in rtttelnet.go, OpenOCD's RTT server in openocd.go): find
// the control block in the board's RAM, move up-channel bytes to a TCP client (advancing RdOff)
// and the client's bytes into the down buffer as the target drains it, never more than its free
// space (rtt §1.3, §1.5). This is the sim's own reading of the spec; it shares nothing with the
// host's rtt package.

// rttSearch is one region to look for the control block ID in.
type rttSearch struct{ start, size uint32 }

// probeConfig says what a probe attaches to.
type probeConfig struct {
	channel int
	// addr is an exact control block address (J-Link SetRTTAddr); 0 searches.
	addr uint32
	// ranges are where to search (J-Link SetRTTSearchRanges, OpenOCD rtt setup); none means
	// all of RAM.
	ranges []rttSearch
	// id is the ID searched for (OpenOCD's rtt setup ID; "SEGGER RTT" by default).
	id string
	// refind: when the ID disappears from the block's address (a flash cleared RAM and moved
	// it), search again, as the J-Link DLL does. OpenOCD keeps the address `rtt start` found
	// until the next `rtt setup` / `rtt start`.
	refind bool
}

// probeState is one probe's view: where it found the block.
type probeState struct {
	cfg probeConfig
	cb  uint32 // 0: not found (yet)
}

const probeMaxChannels = 255

// probeFind searches the configured ranges for the ID; the first match wins (OpenOCD, J-Link).
func (b *Board) probeFind(cfg probeConfig) uint32 {
	id := cfg.id
	if id == "" {
		id = "SEGGER RTT"
	}
	if cfg.addr != 0 {
		if mem, ok := b.ramSlice(cfg.addr, uint64(len(id))); ok && string(mem) == id {
			return cfg.addr
		}
		return 0
	}
	ranges := cfg.ranges
	if len(ranges) == 0 {
		ranges = []rttSearch{{RAMBase, RAMSize}}
	}
	for _, r := range ranges {
		start, size := r.start, uint64(r.size)
		if start < RAMBase { // clip to RAM
			cut := uint64(RAMBase - start)
			if cut >= size {
				continue
			}
			start, size = RAMBase, size-cut
		}
		if off := uint64(start) - RAMBase; off < RAMSize && off+size > RAMSize {
			size = RAMSize - off
		}
		mem, ok := b.ramSlice(start, size)
		if !ok {
			continue
		}
		if i := bytes.Index(mem, []byte(id)); i >= 0 {
			return start + uint32(i)
		}
	}
	return 0
}

// probeDesc reads a channel descriptor and validates it; the probe trusts nothing in target RAM.
func (b *Board) probeDesc(d uint32) (buf, size, wr, rd uint32, ok bool) {
	buf, size, wr, rd, _, ok = b.rttDesc(d)
	return
}

// probeStep runs one poll of a probe on the board's loop: attach if needed, take what the up
// channel holds (data, then RdOff), and put as much of in as fits into the down channel (data,
// then WrOff). It returns the up bytes and how many bytes of in went down.
func (b *Board) probeStep(st *probeState, in []byte) (out []byte, took int) {
	if b.ram == nil || !b.powered {
		return nil, 0
	}
	if st.cb != 0 && st.cfg.refind {
		if id, ok := b.ramSlice(st.cb, 16); !ok || string(id) != rttID {
			st.cb = 0
		}
	}
	if st.cb == 0 {
		if st.cb = b.probeFind(st.cfg); st.cb == 0 {
			return nil, 0
		}
	}
	nUp, ok1 := b.ramWord(st.cb + 16)
	nDown, ok2 := b.ramWord(st.cb + 20)
	if !ok1 || !ok2 || nUp > probeMaxChannels || nDown > probeMaxChannels {
		return nil, 0
	}
	ch := uint32(st.cfg.channel)
	if ch < nUp {
		d := st.cb + 24 + rttDescSize*ch
		if buf, size, wr, rd, ok := b.probeDesc(d); ok && wr != rd {
			mem, _ := b.ramSlice(buf, uint64(size))
			if rd > wr {
				out = append(out, mem[rd:]...)
				rd = 0
			}
			out = append(out, mem[rd:wr]...)
			b.setRAMWord(d+rttDescRdOff, wr)
			b.rttFlushUp()
		}
	}
	if ch < nDown && len(in) > 0 {
		d := st.cb + 24 + rttDescSize*nUp + rttDescSize*ch
		if buf, size, wr, rd, ok := b.probeDesc(d); ok {
			free := (rd + size - wr - 1) % size
			n := min(uint32(len(in)), free)
			mem, _ := b.ramSlice(buf, uint64(size))
			for _, c := range in[:n] {
				mem[wr] = c
				wr++
				if wr == size {
					wr = 0
				}
			}
			if n > 0 {
				b.setRAMWord(d+rttDescWrOff, wr) // data first, then WrOff
			}
			took = int(n)
		}
	}
	return out, took
}

// probeTimeout bounds every step and every socket write of a probe connection.
const probeTimeout = 10 * time.Second

// probePending is how many client bytes a probe holds before it stops reading its socket (TCP
// then pushes back on the client). OpenOCD's RTT server holds one 64-byte read.
const probePending = 64

// probeConn moves RTT data between one TCP client and the board until the client goes, the
// board closes, or stop is closed. initial is client data already read (after a config
// string). cfg may change between steps through st, under mu (OpenOCD's rtt setup/start).
type probeConn struct {
	b     *Board
	c     net.Conn
	poll  func() time.Duration
	state func(func(*probeState)) // runs f with the probe state locked; nil: own state
	own   probeState
	mu    sync.Mutex
}

func (p *probeConn) withState(f func(*probeState)) {
	if p.state != nil {
		p.state(f)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	f(&p.own)
}

func (p *probeConn) run(stop <-chan struct{}, initial []byte) {
	in := make(chan []byte)
	readErr := make(chan struct{})
	go func() {
		defer close(readErr)
		buf := make([]byte, probePending)
		for {
			// A quiet client is normal (a terminal left open); one idle as long as the GDB
			// server allows is dropped, like there.
			p.c.SetReadDeadline(time.Now().Add(gdbIdleTimeout))
			n, err := p.c.Read(buf)
			if n > 0 {
				select {
				case in <- append([]byte(nil), buf[:n]...):
				case <-stop:
					return
				case <-p.b.quit:
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	pending := append([]byte(nil), initial...)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		var recv chan []byte
		if len(pending) < probePending {
			recv = in
		}
		select {
		case d := <-recv:
			pending = append(pending, d...)
			continue
		case <-t.C:
		case <-readErr:
			return
		case <-stop:
			return
		case <-p.b.quit:
			return
		}
		var out []byte
		gone := false
		ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
		err := p.b.call(ctx, func() error {
			// A board unplugged (its USB, and with it the on-board debugger, gone) ends the
			// debug session, and the server closes the connection (rtt §2.1).
			if gone = p.b.ram != nil && !p.b.powered; gone {
				return nil
			}
			p.withState(func(st *probeState) {
				var took int
				out, took = p.b.probeStep(st, pending)
				pending = pending[took:]
			})
			return nil
		})
		cancel()
		if gone || (err != nil && !errors.Is(err, context.DeadlineExceeded)) {
			return
		}
		if len(out) > 0 {
			p.c.SetWriteDeadline(time.Now().Add(probeTimeout))
			if _, err := p.c.Write(out); err != nil {
				return
			}
		}
		t.Reset(p.poll())
	}
}
