package sim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// GDBServer is a GDB remote-serial-protocol server for one board, enough for a debugger's memory
// access (the way JLinkGDBServer or QEMU's stub is used to reach RTT, rtt §2.3): packets
// $data#cs with +/- acks and QStartNoAckMode, qSupported, ?, m, M, X (binary, escaped),
// qRcmd monitor reset/halt/go, and all-stop run control: a 0x03 byte halts the core and
// answers S02, "c" lets it run with no reply. For GDB itself (gdb-multiarch's `target remote`)
// it also serves the ARM M-profile target description (qXfer:features:read, the
// org.gnu.gdb.arm.m-profile feature: r0–r12, sp, lr, pc, xpsr) and the core registers in that
// order (g, G, p, P). The registers are a model [model choice]: nrfsim runs no ARM code, so
// they hold what a core out of reset holds (sp the top of RAM, lr 0xffffffff, pc 0, xpsr the
// Thumb bit), keep what a debugger writes, and return to that on a reset. It listens on
// 127.0.0.1 and closes with the board.
type GDBServer struct {
	b *Board
	*connServer

	regMu sync.Mutex
	regs  [gdbNumRegs]uint32
}

// The registers of the M-profile feature, in the order of the g packet: r0–r12, sp (13), lr
// (14), pc (15), then xpsr, whose GDB register number is 25 (16–24 are the legacy FPA
// registers an M-profile core does not have).
const (
	gdbNumRegs   = 17
	gdbRegSP     = 13
	gdbRegLR     = 14
	gdbRegPC     = 15
	gdbRegXPSR   = 16
	gdbXPSRNum   = 25
	gdbXPSRThumb = 1 << 24
)

// gdbTargetXML is the target description: GDB's org.gnu.gdb.arm.m-profile feature.
var gdbTargetXML = func() string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?>` + "\n" + `<!DOCTYPE target SYSTEM "gdb-target.dtd">` + "\n")
	b.WriteString(`<target version="1.0"><architecture>arm</architecture><feature name="org.gnu.gdb.arm.m-profile">`)
	for i := 0; i <= 12; i++ {
		fmt.Fprintf(&b, `<reg name="r%d" bitsize="32" regnum="%d"/>`, i, i)
	}
	b.WriteString(`<reg name="sp" bitsize="32" type="data_ptr" regnum="13"/><reg name="lr" bitsize="32" regnum="14"/>`)
	b.WriteString(`<reg name="pc" bitsize="32" type="code_ptr" regnum="15"/><reg name="xpsr" bitsize="32" regnum="25"/>`)
	b.WriteString(`</feature></target>`)
	return b.String()
}()

// resetRegs sets the registers a core holds out of reset.
func (s *GDBServer) resetRegs() {
	s.regMu.Lock()
	defer s.regMu.Unlock()
	s.regs = [gdbNumRegs]uint32{}
	s.regs[gdbRegSP] = RAMBase + RAMSize
	s.regs[gdbRegLR] = 0xffffffff
	s.regs[gdbRegXPSR] = gdbXPSRThumb
}

// gdbRegIndex maps a GDB register number to the g packet's index.
func gdbRegIndex(n uint64) (int, bool) {
	switch {
	case n < 16:
		return int(n), true
	case n == gdbXPSRNum:
		return gdbRegXPSR, true
	}
	return 0, false
}

func gdbRegHex(v uint32) string {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	return hex.EncodeToString(b[:])
}

const (
	gdbPacketSize  = 0x4000 // what qSupported announces: the largest packet we accept
	gdbMaxRead     = 0x2000 // bytes one m packet may read (its answer is twice that in hex)
	gdbIdleTimeout = 10 * time.Minute
	gdbOpTimeout   = 10 * time.Second
)

// ServeGDB starts the board's GDB server on 127.0.0.1 and a free port.
func ServeGDB(b *Board) (*GDBServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("sim: gdb server: %w", err)
	}
	s := &GDBServer{b: b}
	s.resetRegs()
	s.connServer = newConnServer(ln, func(c net.Conn) {
		(&gdbConn{s: s, c: c, r: bufio.NewReader(c)}).serve()
	})
	s.start(b.quit)
	return s, nil
}

type gdbConn struct {
	s     *GDBServer
	c     net.Conn
	r     *bufio.Reader
	noAck bool
	last  []byte // the last packet sent, for a '-'
}

var (
	errGDBClose   = errors.New("close")
	errGDBNoReply = errors.New("no reply") // "c": the answer is the stop reply of the next halt
)

func (g *gdbConn) serve() {
	for {
		g.c.SetReadDeadline(time.Now().Add(gdbIdleTimeout))
		c, err := g.r.ReadByte()
		if err != nil {
			return
		}
		switch c {
		case '+':
		case '-':
			if g.last != nil && !g.noAck {
				if g.write(g.last) != nil {
					return
				}
			}
		case 0x03: // interrupt: the core stops
			ctx, cancel := context.WithTimeout(context.Background(), gdbOpTimeout)
			g.s.b.setHalted(ctx, true)
			cancel()
			if g.reply("S02") != nil {
				return
			}
		case '$':
			data, ok, err := g.readPacket()
			if err != nil {
				return
			}
			if !ok {
				if !g.noAck {
					if g.write([]byte("-")) != nil {
						return
					}
				}
				continue
			}
			if !g.noAck {
				if g.write([]byte("+")) != nil {
					return
				}
			}
			resp, err := g.handle(data)
			if errors.Is(err, errGDBNoReply) {
				continue
			}
			if errors.Is(err, errGDBClose) {
				if resp != "" {
					g.reply(resp)
				}
				return
			}
			if g.reply(resp) != nil {
				return
			}
			if string(data) == "QStartNoAckMode" {
				g.noAck = true
			}
		default:
			// Noise between packets is ignored, as gdbserver does.
		}
	}
}

// readPacket reads up to and including the checksum; ok is false for a bad checksum or an
// oversized packet.
func (g *gdbConn) readPacket() ([]byte, bool, error) {
	var data []byte
	over := false
	for {
		g.c.SetReadDeadline(time.Now().Add(gdbOpTimeout))
		c, err := g.r.ReadByte()
		if err != nil {
			return nil, false, err
		}
		if c == '#' {
			break
		}
		if c == '$' { // a new packet starts: the previous one was cut
			data, over = nil, false
			continue
		}
		if len(data) >= gdbPacketSize {
			over = true
			continue
		}
		data = append(data, c)
	}
	var cs [2]byte
	for i := range cs {
		g.c.SetReadDeadline(time.Now().Add(gdbOpTimeout))
		c, err := g.r.ReadByte()
		if err != nil {
			return nil, false, err
		}
		cs[i] = c
	}
	want, err := strconv.ParseUint(string(cs[:]), 16, 8)
	if err != nil || over || byte(want) != gdbChecksum(data) {
		return nil, false, nil
	}
	return data, true, nil
}

func gdbChecksum(p []byte) byte {
	var s byte
	for _, c := range p {
		s += c
	}
	return s
}

func (g *gdbConn) reply(data string) error {
	var b bytes.Buffer
	b.WriteByte('$')
	b.WriteString(data)
	fmt.Fprintf(&b, "#%02x", gdbChecksum([]byte(data)))
	g.last = b.Bytes()
	return g.write(g.last)
}

func (g *gdbConn) write(p []byte) error {
	g.c.SetWriteDeadline(time.Now().Add(gdbOpTimeout))
	_, err := g.c.Write(p)
	return err
}

func gdbErr(n int) string { return fmt.Sprintf("E%02x", n) }

func (g *gdbConn) handle(p []byte) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), gdbOpTimeout)
	defer cancel()
	b := g.s.b
	s := string(p)
	switch {
	case strings.HasPrefix(s, "qSupported"):
		return fmt.Sprintf("PacketSize=%x;QStartNoAckMode+;qXfer:features:read+", gdbPacketSize), nil
	case strings.HasPrefix(s, "qXfer:features:read:"):
		return gdbXfer(strings.TrimPrefix(s, "qXfer:features:read:")), nil
	case s == "g":
		g.s.regMu.Lock()
		defer g.s.regMu.Unlock()
		var out strings.Builder
		for _, v := range g.s.regs {
			out.WriteString(gdbRegHex(v))
		}
		return out.String(), nil
	case strings.HasPrefix(s, "G"):
		raw, err := hex.DecodeString(s[1:])
		if err != nil || len(raw) != 4*gdbNumRegs {
			return gdbErr(1), nil
		}
		g.s.regMu.Lock()
		defer g.s.regMu.Unlock()
		for i := range g.s.regs {
			g.s.regs[i] = binary.LittleEndian.Uint32(raw[4*i:])
		}
		return "OK", nil
	case strings.HasPrefix(s, "p"):
		n, err := strconv.ParseUint(s[1:], 16, 32)
		i, ok := gdbRegIndex(n)
		if err != nil || !ok {
			return gdbErr(1), nil
		}
		g.s.regMu.Lock()
		defer g.s.regMu.Unlock()
		return gdbRegHex(g.s.regs[i]), nil
	case strings.HasPrefix(s, "P"):
		num, val, found := strings.Cut(s[1:], "=")
		n, err := strconv.ParseUint(num, 16, 32)
		i, ok := gdbRegIndex(n)
		raw, herr := hex.DecodeString(val)
		if !found || err != nil || !ok || herr != nil || len(raw) != 4 {
			return gdbErr(1), nil
		}
		g.s.regMu.Lock()
		defer g.s.regMu.Unlock()
		g.s.regs[i] = binary.LittleEndian.Uint32(raw)
		return "OK", nil
	case s == "QStartNoAckMode":
		return "OK", nil
	case s == "?":
		return "S05", nil
	case s == "qAttached":
		return "1", nil
	case strings.HasPrefix(s, "H"):
		return "OK", nil
	case s == "D" || strings.HasPrefix(s, "D;"):
		// Detaching lets the core run, as a debugger leaves a target.
		if err := b.setHalted(ctx, false); err != nil {
			return gdbErr(5), nil
		}
		return "OK", errGDBClose
	case s == "k":
		return "", errGDBClose
	case s == "c":
		// All-stop run control: the core runs until a 0x03 stops it again.
		if err := b.setHalted(ctx, false); err != nil {
			return gdbErr(5), nil
		}
		return "", errGDBNoReply
	case strings.HasPrefix(s, "c") && !strings.Contains(s, ",") || s == "s" || strings.HasPrefix(s, "vCont;"):
		return gdbErr(1), nil // continuing at an address, stepping and vCont are not modelled
	case strings.HasPrefix(s, "m"):
		addr, n, _, ok := gdbAddrLen(p[1:], false)
		if !ok || n > gdbMaxRead {
			return gdbErr(1), nil
		}
		if err := g.memAllowed(ctx); err != nil {
			return gdbErr(5), nil
		}
		buf := make([]byte, n)
		if err := b.ReadMemory(ctx, addr, buf); err != nil {
			return gdbErr(14), nil
		}
		return hex.EncodeToString(buf), nil
	case strings.HasPrefix(s, "M"):
		addr, n, rest, ok := gdbAddrLen(p[1:], true)
		if !ok {
			return gdbErr(1), nil
		}
		data, err := hex.DecodeString(string(rest))
		if err != nil || len(data) != n {
			return gdbErr(1), nil
		}
		return g.writeMem(ctx, addr, data), nil
	case strings.HasPrefix(s, "X"):
		addr, n, rest, ok := gdbAddrLen(p[1:], true)
		if !ok {
			return gdbErr(1), nil
		}
		data, ok := gdbUnescape(rest)
		if !ok || len(data) != n {
			return gdbErr(1), nil
		}
		return g.writeMem(ctx, addr, data), nil
	case strings.HasPrefix(s, "qRcmd,"):
		cmd, err := hex.DecodeString(s[len("qRcmd,"):])
		if err != nil {
			return gdbErr(1), nil
		}
		return g.monitor(ctx, strings.TrimSpace(string(cmd))), nil
	}
	return "", nil
}

func (g *gdbConn) writeMem(ctx context.Context, addr uint32, data []byte) string {
	if err := g.memAllowed(ctx); err != nil {
		return gdbErr(5)
	}
	if err := g.s.b.WriteMemory(ctx, addr, data); err != nil {
		return gdbErr(14)
	}
	return "OK"
}

// memAllowed applies MemoryNeedsHalt: such a server reads only a halted core.
func (g *gdbConn) memAllowed(ctx context.Context) error {
	if !g.s.b.cfg.MemoryNeedsHalt {
		return nil
	}
	h, err := g.s.b.Halted(ctx)
	if err != nil {
		return err
	}
	if !h {
		return errors.New("core running")
	}
	return nil
}

// monitor runs a monitor command; the output goes back hex-encoded, as qRcmd wants.
func (g *gdbConn) monitor(ctx context.Context, cmd string) string {
	b := g.s.b
	var err error
	switch strings.ToLower(cmd) {
	case "reset":
		if err = b.Reset(ctx); err == nil {
			g.s.resetRegs()
		}
	case "halt":
		err = b.setHalted(ctx, true)
	case "go":
		err = b.setHalted(ctx, false)
	default:
		return hex.EncodeToString([]byte("unknown monitor command: " + cmd + "\n"))
	}
	if err != nil {
		return gdbErr(5)
	}
	return "OK"
}

// gdbXfer answers qXfer:features:read:ANNEX:OFFSET,LENGTH: "m" and a part of target.xml when
// more follows, "l" and the last part, E00 for an unknown annex.
func gdbXfer(req string) string {
	annex, rng, ok := strings.Cut(req, ":")
	if !ok || annex != "target.xml" {
		return gdbErr(0)
	}
	o, l, ok := strings.Cut(rng, ",")
	off, err1 := strconv.ParseUint(o, 16, 32)
	n, err2 := strconv.ParseUint(l, 16, 32)
	if !ok || err1 != nil || err2 != nil {
		return gdbErr(1)
	}
	doc := gdbTargetXML
	if off >= uint64(len(doc)) {
		return "l"
	}
	end := off + n
	if end >= uint64(len(doc)) {
		return "l" + gdbEscape(doc[off:])
	}
	return "m" + gdbEscape(doc[off:end])
}

// gdbEscape escapes the bytes a binary reply must not hold raw: $ # } and *.
func gdbEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '$', '#', '}', '*':
			b.WriteByte('}')
			b.WriteByte(c ^ 0x20)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// gdbAddrLen parses "addr,len" (hex); with data it expects ":" and returns what follows.
func gdbAddrLen(p []byte, data bool) (addr uint32, n int, rest []byte, ok bool) {
	head := p
	if data {
		i := bytes.IndexByte(p, ':')
		if i < 0 {
			return 0, 0, nil, false
		}
		head, rest = p[:i], p[i+1:]
	}
	a, l, found := strings.Cut(string(head), ",")
	if !found {
		return 0, 0, nil, false
	}
	av, err1 := strconv.ParseUint(a, 16, 32)
	lv, err2 := strconv.ParseUint(l, 16, 31)
	if err1 != nil || err2 != nil {
		return 0, 0, nil, false
	}
	return uint32(av), int(lv), rest, true
}

// gdbUnescape undoes the binary escaping of X packets: '}' then the byte XOR 0x20.
func gdbUnescape(p []byte) ([]byte, bool) {
	out := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		if p[i] == '}' {
			i++
			if i == len(p) {
				return nil, false
			}
			out = append(out, p[i]^0x20)
			continue
		}
		out = append(out, p[i])
	}
	return out, true
}
