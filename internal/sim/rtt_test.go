package sim_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/sim"
)

// These tests reach the board the way an RTT host does: through its GDB server over real TCP,
// with a minimal remote-serial-protocol client written here (independent of the board's code).

type rsp struct {
	t     testing.TB
	c     net.Conn
	r     *bufio.Reader
	noAck bool
}

func dialRSP(t testing.TB, addr string) *rsp {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		t.Fatalf("dial gdb %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &rsp{t: t, c: c, r: bufio.NewReader(c)}
}

func rspFrame(data []byte) []byte {
	var sum byte
	for _, c := range data {
		sum += c
	}
	return append(append([]byte{'$'}, data...), []byte(fmt.Sprintf("#%02x", sum))...)
}

func (g *rsp) raw(p []byte) {
	g.t.Helper()
	g.c.SetWriteDeadline(time.Now().Add(testTimeout))
	if _, err := g.c.Write(p); err != nil {
		g.t.Fatalf("gdb write: %v", err)
	}
}

func (g *rsp) byte() byte {
	g.t.Helper()
	g.c.SetReadDeadline(time.Now().Add(testTimeout))
	c, err := g.r.ReadByte()
	if err != nil {
		g.t.Fatalf("gdb read: %v", err)
	}
	return c
}

// recv reads one packet (skipping acks) and checks its checksum.
func (g *rsp) recv() string {
	g.t.Helper()
	for g.byte() != '$' {
	}
	var data []byte
	for {
		c := g.byte()
		if c == '#' {
			break
		}
		data = append(data, c)
	}
	cs := string([]byte{g.byte(), g.byte()})
	var sum byte
	for _, c := range data {
		sum += c
	}
	if cs != fmt.Sprintf("%02x", sum) {
		g.t.Fatalf("gdb reply %q: checksum %s, want %02x", data, cs, sum)
	}
	if !g.noAck {
		g.raw([]byte("+"))
	}
	return string(data)
}

// cmd sends a packet, checks the ack, and returns the reply.
func (g *rsp) cmd(p string) string {
	g.t.Helper()
	g.raw(rspFrame([]byte(p)))
	if !g.noAck {
		if c := g.byte(); c != '+' {
			g.t.Fatalf("gdb %q: ack %q", p, c)
		}
	}
	return g.recv()
}

func (g *rsp) read(addr uint32, n int) []byte {
	g.t.Helper()
	var out []byte
	for n > 0 {
		k := min(n, 0x800)
		r := g.cmd(fmt.Sprintf("m%x,%x", addr, k))
		b, err := hex.DecodeString(r)
		if err != nil || len(b) != k {
			g.t.Fatalf("m %x,%x: %q", addr, k, r)
		}
		out = append(out, b...)
		addr += uint32(k)
		n -= k
	}
	return out
}

func (g *rsp) word(addr uint32) uint32 { return binary.LittleEndian.Uint32(g.read(addr, 4)) }

func (g *rsp) writeM(addr uint32, p []byte) {
	g.t.Helper()
	if r := g.cmd(fmt.Sprintf("M%x,%x:%x", addr, len(p), p)); r != "OK" {
		g.t.Fatalf("M %x: %q", addr, r)
	}
}

func rspEscape(p []byte) []byte {
	var out []byte
	for _, c := range p {
		if c == '#' || c == '$' || c == '}' || c == '*' {
			out = append(out, '}', c^0x20)
			continue
		}
		out = append(out, c)
	}
	return out
}

func (g *rsp) writeX(addr uint32, p []byte) string {
	g.t.Helper()
	pkt := append([]byte(fmt.Sprintf("X%x,%x:", addr, len(p))), rspEscape(p)...)
	g.raw(rspFrame(pkt))
	if !g.noAck {
		if c := g.byte(); c != '+' {
			g.t.Fatalf("X: ack %q", c)
		}
	}
	return g.recv()
}

func (g *rsp) putWord(addr, v uint32) {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	g.writeM(addr, b[:])
}

func (g *rsp) monitor(cmd string) string {
	return g.cmd("qRcmd," + hex.EncodeToString([]byte(cmd)))
}

var rttIDBytes = []byte("SEGGER RTT\x00\x00\x00\x00\x00\x00")

// findCBs scans all of RAM for the whole 16-byte ID.
func (g *rsp) findCBs() []uint32 {
	ram := g.read(sim.RAMBase, sim.RAMSize)
	var found []uint32
	for i := 0; ; {
		j := bytes.Index(ram[i:], rttIDBytes)
		if j < 0 {
			return found
		}
		found = append(found, uint32(sim.RAMBase+i+j))
		i += j + 1
	}
}

type rttDesc struct {
	addr                           uint32
	name, buf, size, wr, rd, flags uint32
}

func (g *rsp) desc(cb uint32, up bool, ch int) rttDesc {
	nUp := g.word(cb + 16)
	a := cb + 24 + 24*uint32(ch)
	if !up {
		a = cb + 24 + 24*nUp + 24*uint32(ch)
	}
	raw := g.read(a, 24)
	w := func(i int) uint32 { return binary.LittleEndian.Uint32(raw[i*4:]) }
	return rttDesc{addr: a, name: w(0), buf: w(1), size: w(2), wr: w(3), rd: w(4), flags: w(5)}
}

func (g *rsp) cstring(addr uint32) string {
	b := g.read(addr, 32)
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// downWrite writes p into a down channel the way a host must: read both offsets, fill the
// contiguous free space (leaving one byte), at most 15 bytes a piece, data first, WrOff last;
// wait for the target to drain when full.
func (g *rsp) downWrite(d rttDesc, p []byte) {
	g.t.Helper()
	deadline := time.Now().Add(testTimeout)
	for len(p) > 0 {
		offs := g.read(d.addr+12, 8)
		wr, rd := binary.LittleEndian.Uint32(offs), binary.LittleEndian.Uint32(offs[4:])
		if wr >= d.size || rd >= d.size {
			g.t.Fatalf("down offsets wr %d rd %d size %d", wr, rd, d.size)
		}
		var n uint32
		switch {
		case rd > wr:
			n = rd - wr - 1
		case rd == 0:
			n = d.size - wr - 1
		default:
			n = d.size - wr
		}
		n = min(n, uint32(len(p)), 15)
		if n == 0 {
			if time.Now().After(deadline) {
				g.t.Fatalf("down buffer never drained (wr %d rd %d)", wr, rd)
			}
			continue // polling the offsets is the wait
		}
		if r := g.writeX(d.buf+wr, p[:n]); r != "OK" {
			g.t.Fatalf("X data: %q", r)
		}
		wr += n
		if wr == d.size {
			wr = 0
		}
		g.putWord(d.addr+12, wr)
		p = p[n:]
	}
}

// upRead takes what the up channel holds: offsets, data, then RdOff.
func (g *rsp) upRead(d rttDesc) []byte {
	g.t.Helper()
	offs := g.read(d.addr+12, 8)
	wr, rd := binary.LittleEndian.Uint32(offs), binary.LittleEndian.Uint32(offs[4:])
	if wr >= d.size || rd >= d.size {
		g.t.Fatalf("up offsets wr %d rd %d size %d", wr, rd, d.size)
	}
	var out []byte
	if rd > wr {
		out = append(out, g.read(d.buf+rd, int(d.size-rd))...)
		rd = 0
	}
	if wr > rd {
		out = append(out, g.read(d.buf+rd, int(wr-rd))...)
	}
	if len(out) > 0 {
		g.putWord(d.addr+16, wr)
	}
	return out
}

// upExpect reads the up channel until want has appeared; it returns everything read.
func (g *rsp) upExpect(d rttDesc, acc *bytes.Buffer, want string) string {
	g.t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !strings.Contains(acc.String(), want) {
		if time.Now().After(deadline) {
			g.t.Fatalf("up channel: %q never came; got %q", want, acc.String())
		}
		acc.Write(g.upRead(d))
	}
	return acc.String()
}

func startRTTBoard(t *testing.T, cfg sim.BoardConfig) (*testBoard, *sim.GDBServer) {
	t.Helper()
	cfg.RTT = true
	if cfg.Personality == "" {
		cfg.Personality = sim.ModemShell
	}
	b := startBoard(t, cfg)
	srv, err := sim.ServeGDB(b.Board)
	if err != nil {
		t.Fatalf("gdb server: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	if err := b.WaitReady(b.ctx()); err != nil {
		t.Fatal(err)
	}
	return b, srv
}

func (g *rsp) attach(t *testing.T, b *testBoard) (cb uint32, up, down rttDesc) {
	t.Helper()
	cbs := g.findCBs()
	if len(cbs) != 1 {
		t.Fatalf("control blocks found at %x, want exactly one", cbs)
	}
	want, err := b.RTTAddress(b.ctx())
	if err != nil || want != cbs[0] {
		t.Fatalf("scan found %#x, board says %#x (%v)", cbs[0], want, err)
	}
	return cbs[0], g.desc(cbs[0], true, 0), g.desc(cbs[0], false, 0)
}

func TestRTTShellOverGDB(t *testing.T) {
	b, srv := startRTTBoard(t, sim.BoardConfig{})
	g := dialRSP(t, srv.Addr())
	if r := g.cmd("qSupported:multiprocess+;swbreak+"); !strings.Contains(r, "PacketSize=") {
		t.Fatalf("qSupported: %q", r)
	}
	if r := g.cmd("?"); !strings.HasPrefix(r, "S") && !strings.HasPrefix(r, "T") {
		t.Fatalf("?: %q", r)
	}
	if r := g.cmd("QStartNoAckMode"); r != "OK" {
		t.Fatalf("QStartNoAckMode: %q", r)
	}
	g.noAck = true

	cb, up, down := g.attach(t, b)
	if cb%4 != 0 || cb < sim.RAMBase || cb >= sim.RAMBase+sim.RAMSize {
		t.Fatalf("control block at %#x", cb)
	}
	if nUp, nDown := g.word(cb+16), g.word(cb+20); nUp < 1 || nDown < 1 || nUp > 16 || nDown > 16 {
		t.Fatalf("MaxNumUp %d MaxNumDown %d", nUp, nDown)
	}
	for _, d := range []struct {
		desc rttDesc
		size uint32
	}{{up, 1024}, {down, 32}} {
		if d.desc.size != d.size || g.cstring(d.desc.name) != "Terminal" || d.desc.flags&^3 != 0 ||
			d.desc.flags&3 != 0 || d.desc.wr >= d.desc.size || d.desc.rd >= d.desc.size ||
			d.desc.buf < sim.RAMBase || d.desc.buf+d.desc.size > sim.RAMBase+sim.RAMSize {
			t.Fatalf("descriptor %+v (name %q), want size %d, Terminal, NO_BLOCK_SKIP", d.desc, g.cstring(d.desc.name), d.size)
		}
	}

	var out bytes.Buffer
	g.upExpect(up, &out, "mosh:~$ ")
	out.Reset()
	g.downWrite(down, []byte("at AT+CGMR\r\n"))
	got := g.upExpect(up, &out, "OK\r\n")
	if !strings.Contains(got, "at AT+CGMR") {
		t.Fatalf("no echo in %q", got)
	}
	g.upExpect(up, &out, "OK\r\n\r\nmosh:~$ ")

	// Two commands in one write: 24 bytes go through the 16-byte buffer in several pieces.
	out.Reset()
	g.downWrite(down, []byte("at AT+CGMI\r\nat AT+CGMM\r\n"))
	got = g.upExpect(up, &out, "Nordic")
	deadline := time.Now().Add(testTimeout)
	for strings.Count(got, "OK\r\n") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("answers: %q", got)
		}
		out.Write(g.upRead(up))
		got = out.String()
	}
	st := b.state()
	if st.Stats.RTTDownBytes != uint64(len("at AT+CGMR\r\nat AT+CGMI\r\nat AT+CGMM\r\n")) || st.RTTAddress != cb {
		t.Fatalf("state: %+v", st)
	}
}

func TestRTTMonitorResetKeepsBlockAndReboots(t *testing.T) {
	b, srv := startRTTBoard(t, sim.BoardConfig{})
	g := dialRSP(t, srv.Addr())
	cb, up, _ := g.attach(t, b)
	var out bytes.Buffer
	g.upExpect(up, &out, "mosh:~$ ")
	boots := b.state().Stats.Boots
	if r := g.monitor("reset"); r != "OK" {
		t.Fatalf("monitor reset: %q", r)
	}
	out.Reset()
	g.upExpect(up, &out, "MOSH version")
	g.upExpect(up, &out, "mosh:~$ ")
	if st := b.state(); st.Stats.Boots != boots+1 {
		t.Fatalf("boots %d, want %d", st.Stats.Boots, boots+1)
	}
	// A warm reset keeps the block where it was (NOLOAD section, strong check).
	if cb2, _, _ := g.attach(t, b); cb2 != cb {
		t.Fatalf("block moved on reset: %#x → %#x", cb, cb2)
	}
	if r := g.monitor("frobnicate"); r == "OK" || r == "" {
		t.Fatalf("unknown monitor command: %q", r)
	}
}

func TestRTTBlockMovesOnFlash(t *testing.T) {
	b, srv := startRTTBoard(t, sim.BoardConfig{})
	ctl, err := sim.ServeControl(b.Board)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ctl.Close() })
	cc := sim.ControlClient{Path: ctl.Path()}
	g := dialRSP(t, srv.Addr())
	cb1, _, _ := g.attach(t, b)

	hexPath := filepath.Join(t.TempDir(), "app.hex")
	f, err := os.Create(hexPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.WriteFirmwareHex(f, sim.Application, "v1"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := cc.Do(b.ctx(), sim.ControlRequest{Op: "flash", Hex: hexPath}); err != nil {
		t.Fatal(err)
	}
	if cbs := g.findCBs(); len(cbs) != 0 {
		t.Fatalf("an application without RTT: control blocks at %x", cbs)
	}
	if _, err := b.RTTAddress(b.ctx()); err == nil {
		t.Fatal("RTTAddress on an application: no error")
	}
	if _, err := cc.Do(b.ctx(), sim.ControlRequest{Op: "flash", Personality: "modem_shell"}); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitReady(b.ctx()); err != nil {
		t.Fatal(err)
	}
	cb2, up, down := g.attach(t, b)
	if cb2 == cb1 {
		t.Fatalf("block did not move: %#x", cb2)
	}
	var out bytes.Buffer
	g.upExpect(up, &out, "mosh:~$ ")
	g.downWrite(down, []byte("at AT+CGMR\r\n"))
	g.upExpect(up, &out, "OK\r\n")
}

func TestGDBEscapingAndErrors(t *testing.T) {
	_, srv := startRTTBoard(t, sim.BoardConfig{})
	g := dialRSP(t, srv.Addr())
	addr := uint32(sim.RAMBase + sim.RAMSize - 64)
	data := []byte{'#', '$', '}', '*', 0x00, 0xff, 'a', 0x7d ^ 0x20, '}', '}'}
	if r := g.writeX(addr, data); r != "OK" {
		t.Fatalf("X: %q", r)
	}
	if got := g.read(addr, len(data)); !bytes.Equal(got, data) {
		t.Fatalf("read back %x, want %x", got, data)
	}
	if r := g.writeX(addr, nil); r != "OK" { // the X probe GDB sends first
		t.Fatalf("X probe: %q", r)
	}
	// Outside RAM, across its end, and malformed requests: error replies.
	for _, p := range []string{
		"m0,4", fmt.Sprintf("m%x,8", sim.RAMBase+sim.RAMSize-4), "mzz,4", "m20000000", "M20000000,2:zz",
		"M20000000,4:00", "X20000000,2:a", fmt.Sprintf("M%x,4:00000000", sim.RAMBase-2),
	} {
		if r := g.cmd(p); !strings.HasPrefix(r, "E") {
			t.Fatalf("%s: %q, want an error", p, r)
		}
	}
	if r := g.cmd("vMustReplyEmpty"); r != "" {
		t.Fatalf("unknown packet: %q", r)
	}
	if r := g.cmd("s"); !strings.HasPrefix(r, "E") { // stepping is not modelled
		t.Fatalf("s: %q", r)
	}
	// A bad checksum is NAKed, noise is ignored, and the server keeps serving.
	g.raw([]byte("$m20000000,4#00"))
	if c := g.byte(); c != '-' {
		t.Fatalf("bad checksum: %q, want -", c)
	}
	g.raw([]byte("garbage\x00\xff"))
	g.raw([]byte("$" + strings.Repeat("m", 0x5000) + "#00"))
	if c := g.byte(); c != '-' {
		t.Fatalf("oversized packet: %q, want -", c)
	}
	if got := g.read(addr, 4); !bytes.Equal(got, data[:4]) {
		t.Fatalf("after malformed packets: %x", got)
	}
	// A second client at the same time.
	g2 := dialRSP(t, srv.Addr())
	if got := g2.read(addr, 4); !bytes.Equal(got, data[:4]) {
		t.Fatalf("second client: %x", got)
	}
}

func TestGDBMemoryNeedsHalt(t *testing.T) {
	b, srv := startRTTBoard(t, sim.BoardConfig{MemoryNeedsHalt: true})
	g := dialRSP(t, srv.Addr())
	if r := g.cmd(fmt.Sprintf("m%x,4", sim.RAMBase)); !strings.HasPrefix(r, "E") {
		t.Fatalf("read of a running core: %q", r)
	}
	if r := g.monitor("halt"); r != "OK" {
		t.Fatalf("halt: %q", r)
	}
	if h, _ := b.Halted(b.ctx()); !h {
		t.Fatal("not halted")
	}
	g.read(sim.RAMBase, 4)
	if r := g.monitor("go"); r != "OK" {
		t.Fatalf("go: %q", r)
	}
	if r := g.cmd(fmt.Sprintf("m%x,4", sim.RAMBase)); !strings.HasPrefix(r, "E") {
		t.Fatalf("read after go: %q", r)
	}
}

// TestGDBInterruptAndContinue: all-stop run control. A 0x03 halts the core and answers a stop
// reply, after which memory is open; "c" is acknowledged with no reply and the core runs again.
func TestGDBInterruptAndContinue(t *testing.T) {
	b, srv := startRTTBoard(t, sim.BoardConfig{MemoryNeedsHalt: true})
	g := dialRSP(t, srv.Addr())
	g.raw([]byte{0x03})
	if r := g.recv(); r != "S02" {
		t.Fatalf("interrupt: %q, want a stop reply S02", r)
	}
	if h, _ := b.Halted(b.ctx()); !h {
		t.Fatal("not halted after 0x03")
	}
	g.read(sim.RAMBase, 4)
	g.raw(rspFrame([]byte("c")))
	if c := g.byte(); c != '+' {
		t.Fatalf("c: ack %q", c)
	}
	// The next packet's reply is its own: "c" sent none.
	if r := g.cmd(fmt.Sprintf("m%x,4", sim.RAMBase)); !strings.HasPrefix(r, "E") {
		t.Fatalf("read after c: %q, want an error (core running)", r)
	}
	if h, _ := b.Halted(b.ctx()); h {
		t.Fatal("still halted after c")
	}
}

func TestRTTHaltedCoreDoesNotPoll(t *testing.T) {
	b, srv := startRTTBoard(t, sim.BoardConfig{})
	g := dialRSP(t, srv.Addr())
	_, up, down := g.attach(t, b)
	var out bytes.Buffer
	g.upExpect(up, &out, "mosh:~$ ")
	if r := g.monitor("halt"); r != "OK" {
		t.Fatalf("halt: %q", r)
	}
	g.downWrite(down, []byte("at AT\r\n"))
	// Several poll periods pass (measured by the board's own state, not a sleep): RdOff stays.
	deadline := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(deadline) {
		if rd := g.word(down.addr + 16); rd != 0 {
			t.Fatalf("halted core drained the down buffer (RdOff %d)", rd)
		}
	}
	if r := g.monitor("go"); r != "OK" {
		t.Fatalf("go: %q", r)
	}
	g.upExpect(up, &out, "OK\r\n")
}

func TestMemoryWithoutRTT(t *testing.T) {
	b := startBoard(t, sim.BoardConfig{})
	if err := b.ReadMemory(b.ctx(), sim.RAMBase, make([]byte, 4)); err == nil {
		t.Fatal("ReadMemory without RTT: no error")
	}
	// RTT on at_client: RAM exists, no control block, the UART keeps working.
	b2 := startBoard(t, sim.BoardConfig{RTT: true, SerialNumber: "000960000002"})
	if err := b2.ReadMemory(b2.ctx(), sim.RAMBase, make([]byte, 4)); err != nil {
		t.Fatal(err)
	}
	if err := b2.WriteMemory(b2.ctx(), sim.RAMBase+sim.RAMSize-2, make([]byte, 4)); err == nil {
		t.Fatal("write across the end of RAM: no error")
	}
	if _, err := b2.RTTAddress(b2.ctx()); err == nil {
		t.Fatal("RTTAddress on at_client: no error")
	}
	h := openHost(t, b2.VCOM0(), 0)
	h.expect("Ready\r\n")
	h.write("AT\r")
	h.expect("OK\r\n")
}

func TestGDBServerClosesWithBoard(t *testing.T) {
	b, srv := startRTTBoard(t, sim.BoardConfig{})
	g := dialRSP(t, srv.Addr())
	g.read(sim.RAMBase, 4)
	b.Close()
	g.c.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := g.r.ReadByte(); err == nil {
		t.Fatal("connection still open after board Close")
	}
	if c, err := net.DialTimeout("tcp", srv.Addr(), time.Second); err == nil {
		c.Close()
		t.Fatal("server still listening after board Close")
	}
}
