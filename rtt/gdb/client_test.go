package gdb

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/nrfprov/nrfprov/internal/testsupport"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestFrameAndReadPacket(t *testing.T) {
	cases := [][]byte{
		[]byte("qSupported"),
		[]byte("X20000000,4:\x00#$}*"),
		{},
		bytes.Repeat([]byte{0xff}, 300),
	}
	for _, data := range cases {
		f := Frame(data)
		got, ok, err := ReadPacket(bufio.NewReader(bytes.NewReader(append([]byte("++noise"), f...))))
		if err != nil || !ok || !bytes.Equal(got, data) {
			t.Errorf("round trip of %q: %q ok=%v err=%v (frame %q)", data, got, ok, err, f)
		}
	}
	// Known framing from the protocol documentation's example.
	if got := string(Frame([]byte("OK"))); got != "$OK#9a" {
		t.Errorf("Frame(OK) = %s", got)
	}
	// A bad checksum is reported, not hidden.
	if _, ok, err := ReadPacket(bufio.NewReader(strings.NewReader("$OK#00"))); ok || err != nil {
		t.Errorf("bad checksum: ok=%v err=%v", ok, err)
	}
	// Run-length encoding in replies: "0* " is '0' and 3 more.
	if got, err := Unescape([]byte("0* ")); err != nil || string(got) != "0000" {
		t.Errorf("run-length: %q %v", got, err)
	}
	for _, bad := range []string{"}", "*x", "a*\x01"} {
		if _, err := Unescape([]byte(bad)); !errors.Is(err, ErrProtocol) {
			t.Errorf("Unescape(%q) = %v", bad, err)
		}
	}
}

func FuzzReadPacket(f *testing.F) {
	for _, s := range []string{"$OK#9a", "+$m0,4#fd", "$}]#00", "$a*\"#00", "%Stop:T05#00", "$#00", "$x"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		data, ok, err := ReadPacket(bufio.NewReader(bytes.NewReader(in)))
		if err == nil && ok {
			// What decodes cleanly survives a re-frame.
			back, ok2, err2 := ReadPacket(bufio.NewReader(bytes.NewReader(Frame(data))))
			if err2 != nil || !ok2 || !bytes.Equal(back, data) {
				t.Fatalf("re-frame of %q: %q %v %v", data, back, ok2, err2)
			}
		}
	})
}

// server is a small GDB stub over real TCP: memory, monitor commands, ack or no-ack mode, and
// optionally memory access only while halted (like QEMU).
type server struct {
	t          *testing.T
	ln         net.Listener
	mu         sync.Mutex
	mem        map[uint32]byte
	halted     bool
	needHalt   bool
	noAckOK    bool
	packetSize int
	corruptOne bool // send the next reply with a bad checksum once
	resets     int
	// allStop models QEMU's gdbstub: a running core stops when a debugger connects (with a
	// stop reply sent unasked, before any other), at a 0x03, and at any packet that arrives
	// while it runs, which is then dropped; "c" resumes it without a reply; "D" detaches and
	// leaves it running. Memory is accessible only while stopped.
	allStop  bool
	noX      bool // answer X with an empty reply (unknown), as QEMU 7.2 does; M works
	mWrites  int
	stops    int // 0x03 interrupts that stopped the core
	conts    int
	dropped  int // packets that arrived while the core ran
	detached bool
	wg       sync.WaitGroup
}

func newServer(t *testing.T) *server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, ln: ln, mem: map[uint32]byte{}, packetSize: 0x100, noAckOK: true}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *server) serve() {
	defer s.wg.Done()
	conn, err := s.ln.Accept()
	if err != nil {
		return
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	noAck := false
	s.mu.Lock()
	if s.allStop {
		s.needHalt = true
		if !s.halted {
			s.halted = true
			conn.Write(Frame([]byte("T02thread:01;")))
		}
	}
	s.mu.Unlock()
	reply := func(data string) {
		f := Frame([]byte(data))
		s.mu.Lock()
		if s.corruptOne {
			s.corruptOne = false
			f[len(f)-1] ^= 1
			conn.Write(f)
			s.mu.Unlock()
			// The client naks; send it properly.
			if b, _ := r.ReadByte(); b != '-' {
				return
			}
			f[len(f)-1] ^= 1
		} else {
			s.mu.Unlock()
		}
		conn.Write(f)
		if !noAck {
			r.ReadByte() // the client's ack
		}
	}
	for {
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		b, err := r.ReadByte()
		if err != nil {
			return
		}
		if b == 0x03 {
			s.mu.Lock()
			stop := !s.halted
			if stop {
				s.halted = true
				s.stops++
			}
			s.mu.Unlock()
			if stop {
				reply("T02thread:01;")
			}
			continue
		}
		if b != '$' {
			continue
		}
		r.UnreadByte()
		data, ok, err := ReadPacket(r)
		if err != nil {
			return
		}
		s.mu.Lock()
		drop := s.allStop && !s.halted
		if drop {
			s.dropped++
			s.halted = true
		}
		s.mu.Unlock()
		if drop {
			reply("T02thread:01;")
			continue
		}
		if !noAck {
			if !ok {
				conn.Write([]byte{'-'})
				continue
			}
			conn.Write([]byte{'+'})
		}
		p := string(data)
		switch {
		case p == "?":
			reply("T05thread:01;")
		case p == "c" && s.allStop:
			s.mu.Lock()
			s.halted = false
			s.conts++
			s.mu.Unlock()
		case p == "D" && s.allStop:
			s.mu.Lock()
			s.halted = false
			s.detached = true
			s.mu.Unlock()
			reply("OK")
		case strings.HasPrefix(p, "qSupported"):
			s.mu.Lock()
			feat := fmt.Sprintf("PacketSize=%x", s.packetSize)
			noAckOK := s.noAckOK
			s.mu.Unlock()
			if noAckOK {
				feat += ";QStartNoAckMode+"
			}
			reply(feat)
		case p == "QStartNoAckMode":
			reply("OK")
			noAck = true
		case strings.HasPrefix(p, "m"):
			addr, n := parseAddrLen(p[1:])
			s.mu.Lock()
			if s.needHalt && !s.halted {
				s.mu.Unlock()
				reply("E01")
				continue
			}
			var b []byte
			for i := 0; i < n; i++ {
				b = append(b, s.mem[addr+uint32(i)])
			}
			s.mu.Unlock()
			reply(hex.EncodeToString(b))
		case strings.HasPrefix(p, "X") && s.noX:
			reply("")
		case strings.HasPrefix(p, "M"):
			head, body, _ := strings.Cut(p[1:], ":")
			addr, n := parseAddrLen(head)
			b, err := hex.DecodeString(body)
			s.mu.Lock()
			if (s.needHalt && !s.halted) || err != nil || n != len(b) {
				s.mu.Unlock()
				reply("E02")
				continue
			}
			for i := 0; i < n; i++ {
				s.mem[addr+uint32(i)] = b[i]
			}
			s.mWrites++
			s.mu.Unlock()
			reply("OK")
		case strings.HasPrefix(p, "X"):
			head, body, _ := strings.Cut(p[1:], ":")
			addr, n := parseAddrLen(head)
			s.mu.Lock()
			if (s.needHalt && !s.halted) || n != len(body) {
				s.mu.Unlock()
				reply("E02")
				continue
			}
			for i := 0; i < n; i++ {
				s.mem[addr+uint32(i)] = body[i]
			}
			s.mu.Unlock()
			reply("OK")
		case strings.HasPrefix(p, "qRcmd,"):
			cmd, _ := hex.DecodeString(p[6:])
			s.mu.Lock()
			switch string(cmd) {
			case "halt":
				s.halted = true
			case "go":
				s.halted = false
			case "reset":
				s.resets++
			}
			s.mu.Unlock()
			reply("O" + hex.EncodeToString([]byte(string(cmd)+" done\n")))
			reply("OK")
		default:
			reply("")
		}
	}
}

func parseAddrLen(s string) (uint32, int) {
	a, l, _ := strings.Cut(s, ",")
	addr, _ := strconv.ParseUint(a, 16, 32)
	n, _ := strconv.ParseUint(l, 16, 32)
	return uint32(addr), int(n)
}

// ctxT is the test's context with a deadline (internal/testsupport).
var ctxT = testsupport.ContextFunc(10 * time.Second)

func TestClientMemoryAndMonitor(t *testing.T) {
	for _, noAck := range []bool{false, true} {
		t.Run(fmt.Sprintf("noack=%v", noAck), func(t *testing.T) {
			s := newServer(t)
			c, err := Dial(ctxT(t), s.ln.Addr().String(), Options{NoAck: noAck})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if c.PacketSize() != 0x100 {
				t.Fatalf("packet size %d", c.PacketSize())
			}
			// More than one packet's worth, with every byte the protocol escapes.
			data := bytes.Repeat([]byte{'#', '$', '}', '*', 0, 0xff, 'a'}, 100)
			if err := c.WriteMemory(ctxT(t), 0x20000000, data); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, len(data))
			if err := c.ReadMemory(ctxT(t), 0x20000000, got); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read back %v (equal %v)", err, bytes.Equal(got, data))
			}
			out, err := c.Monitor(ctxT(t), "reset")
			if err != nil || out != "reset done\n" || s.resets != 1 {
				t.Fatalf("monitor: %q %v resets %d", out, err, s.resets)
			}
		})
	}
}

func TestClientHaltsForAccessAndRetriesBadChecksums(t *testing.T) {
	s := newServer(t)
	s.needHalt = true
	c, err := Dial(ctxT(t), s.ln.Addr().String(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var se *ServerError
	if err := c.ReadMemory(ctxT(t), 0x20000000, make([]byte, 4)); !errors.As(err, &se) {
		t.Fatalf("reading a running core from a QEMU-like server: %v, want a server error", err)
	}
	c.o.Halt = HaltMonitor
	s.mu.Lock()
	s.corruptOne = true
	s.mu.Unlock()
	if err := c.WriteMemory(ctxT(t), 0x20000010, []byte("rtt")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 3)
	if err := c.ReadMemory(ctxT(t), 0x20000010, got); err != nil || string(got) != "rtt" {
		t.Fatalf("halted read: %q %v", got, err)
	}
	if s.halted {
		t.Fatal("the core was left halted")
	}
}

func TestClientDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	silent := make(chan struct{})
	defer close(silent)
	go func() {
		conn, err := ln.Accept()
		if err == nil {
			defer conn.Close()
			conn.Read(make([]byte, 1024)) // take the packet, never answer
			<-silent                      // keep the connection open until the test is done
		}
	}()
	_, err = Dial(ctxT(t), ln.Addr().String(), Options{Timeout: 200 * time.Millisecond})
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("silent server: %v, want a timeout", err)
	}
}

// TestClientInterruptHalt: against a server that behaves as QEMU's gdbstub (stop on connect
// with an unasked stop reply, 0x03 and "c", packets dropped while the core runs), the client
// resumes the core after attaching, writes with M where X is unknown, halts once per Halted batch however many accesses it
// makes, never sends a packet to a running core, and detaches leaving the core running.
func TestClientInterruptHalt(t *testing.T) {
	for _, noAck := range []bool{false, true} {
		t.Run(fmt.Sprintf("noack=%v", noAck), func(t *testing.T) {
			s := newServer(t)
			s.mu.Lock()
			s.allStop, s.noAckOK, s.noX = true, noAck, true
			s.mu.Unlock()
			c, err := Dial(ctxT(t), s.ln.Addr().String(), Options{NoAck: true, Halt: HaltInterrupt})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			state := func() (_ bool, stops, conts, dropped int) {
				s.mu.Lock()
				defer s.mu.Unlock()
				return s.halted, s.stops, s.conts, s.dropped
			}
			// Dial answered the connect stop, then let the core run. A memory reply arrives only
			// after the server took the "c", so this checks state after it.
			err = c.Halted(ctxT(t), func() error {
				if err := c.WriteMemory(ctxT(t), 0x20000000, []byte("RTT!")); err != nil {
					return err
				}
				got := make([]byte, 4)
				if err := c.ReadMemory(ctxT(t), 0x20000000, got); err != nil || string(got) != "RTT!" {
					return fmt.Errorf("read back %q: %v", got, err)
				}
				s.mu.Lock()
				h := s.halted
				s.mu.Unlock()
				if !h {
					return errors.New("core running inside Halted")
				}
				return c.WriteMemory(ctxT(t), 0x20000004, []byte{1})
			})
			if err != nil {
				t.Fatal(err)
			}
			// A lone access halts and resumes around itself. (Its interrupt reaches the server
			// after the batch's "c", which in no-ack mode has no answer to wait for.)
			if err := c.ReadMemory(ctxT(t), 0x20000000, make([]byte, 5)); err != nil {
				t.Fatal(err)
			}
			if _, stops, conts, dropped := state(); stops != 2 || conts < 2 || dropped != 0 {
				t.Fatalf("a batch and an access: %d interrupts (want 2), %d continues (want 2 or 3: attach, batch, access), %d dropped packets", stops, conts, dropped)
			}
			// Overlapping batches share one halt.
			inner := make(chan error, 1)
			err = c.Halted(ctxT(t), func() error {
				go func() {
					inner <- c.Halted(ctxT(t), func() error { return c.ReadMemory(ctxT(t), 0x20000000, make([]byte, 1)) })
				}()
				return <-inner
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.mWrites != 2 {
				t.Fatalf("%d M writes, want 2 (X is unknown to this server)", s.mWrites)
			}
			if s.stops != 4 || s.dropped != 0 || !s.detached || s.halted {
				t.Fatalf("after close: %d interrupts (want 4: batch, access, shared batch, detach), %d dropped, detached %v, halted %v", s.stops, s.dropped, s.detached, s.halted)
			}
		})
	}
}

// TestClientInterruptSeesTargetExit: a W reply where a stop reply was expected is
// ErrTargetExited, not a hang or a protocol error.
func TestClientInterruptSeesTargetExit(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		r := bufio.NewReader(conn)
		for {
			data, _, err := ReadPacket(r)
			if err != nil {
				return
			}
			conn.Write([]byte{'+'})
			switch p := string(data); {
			case strings.HasPrefix(p, "qSupported"):
				conn.Write(Frame([]byte("PacketSize=1000")))
			case p == "?":
				conn.Write(Frame([]byte("W00")))
			}
		}
	}()
	_, err = Dial(ctxT(t), ln.Addr().String(), Options{Halt: HaltInterrupt})
	if !errors.Is(err, ErrTargetExited) {
		t.Fatalf("dial a server whose target exited: %v", err)
	}
}

// TestClientUnusableAfterTimeout: after a request timed out, a late reply must not be taken for
// the answer to the next one: the client refuses further requests.
func TestClientUnusableAfterTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	late := make(chan struct{})
	done := make(chan struct{})
	defer close(done)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		r := bufio.NewReader(conn)
		for {
			data, _, err := ReadPacket(r)
			if err != nil {
				return
			}
			conn.Write([]byte{'+'})
			if strings.HasPrefix(string(data), "qSupported") {
				conn.Write(Frame([]byte("PacketSize=1000")))
				continue
			}
			<-late // answer the read only after the client gave up
			conn.Write(Frame([]byte("00000000")))
			<-done
			return
		}
	}()
	c, err := Dial(ctxT(t), ln.Addr().String(), Options{Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var ne net.Error
	if err := c.ReadMemory(ctxT(t), 0x20000000, make([]byte, 4)); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("first read: %v, want a timeout", err)
	}
	close(late)
	if err := c.ReadMemory(ctxT(t), 0x20000000, make([]byte, 4)); err == nil || !strings.Contains(err.Error(), "unusable") {
		t.Fatalf("read after a timeout: %v, want the connection refused", err)
	}
}
