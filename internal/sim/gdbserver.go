package sim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// GDBServer is a GDB remote-serial-protocol server for one board, enough for a debugger's memory
// access (the way JLinkGDBServer or QEMU's stub is used to reach RTT, rtt §2.3): packets
// $data#cs with +/- acks and QStartNoAckMode, qSupported, ?, m, M, X (binary, escaped),
// qRcmd monitor reset/halt/go, and all-stop run control: a 0x03 byte halts the core and
// answers S02, "c" lets it run with no reply. It listens on 127.0.0.1 and closes with the board.
type GDBServer struct {
	b *Board
	*connServer
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
		return fmt.Sprintf("PacketSize=%x;QStartNoAckMode+", gdbPacketSize), nil
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
		err = b.Reset(ctx)
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
