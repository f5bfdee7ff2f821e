package gdb

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
	wg         sync.WaitGroup
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
		data, ok, err := ReadPacket(r)
		if err != nil {
			return
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
		case strings.HasPrefix(p, "qSupported"):
			feat := fmt.Sprintf("PacketSize=%x", s.packetSize)
			if s.noAckOK {
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

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

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
	c.o.HaltForAccess = true
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
