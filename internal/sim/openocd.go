package sim

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

// An OpenOCD stand-in for one board (rtt §2.5): OpenOCD's Tcl RPC port (commands end with 0x1a,
// each reply ends with 0x1a) with the RTT commands (rtt setup/start/stop/polling_interval/
// channels, rtt server start/stop), `target names` and reset. The RTT servers it starts are raw TCP, one
// channel each, and move data the way OpenOCD's rtt_server.c does: up-channel bytes to every
// client at each poll, a client's bytes into the down buffer as it drains (the unwritten rest is
// held, input_pending, and the socket is not read meanwhile) — the same code as the J-Link
// endpoint (rttprobe.go).
//
// Inferred (not documented, kept close to OpenOCD's source): the reply texts. OpenOCD writes
// its log (rtt: Control block found at …, errors) to its log, and over the Tcl port returns the
// command's result; here `rtt start` answers the log line, and a failing command answers its
// error text.

// OpenOCDServer is the stand-in's Tcl endpoint.
type OpenOCDServer struct {
	b         *Board
	ln        net.Listener
	wg        sync.WaitGroup
	done      chan struct{}
	closeOnce sync.Once

	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	setup    rttSearch
	id       string
	started  bool
	cb       uint32
	interval time.Duration
	servers  map[string]*openocdRTTServer
}

type openocdRTTServer struct {
	ln      net.Listener
	channel int
	hello   string
	stop    chan struct{}
	conns   map[net.Conn]struct{}
}

const openocdTerm = 0x1a

// ServeOpenOCD starts the stand-in's Tcl port on 127.0.0.1 and a free port (OpenOCD's default
// is 6666). It closes with the board.
func ServeOpenOCD(b *Board) (*OpenOCDServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("sim: openocd tcl server: %w", err)
	}
	s := &OpenOCDServer{
		b: b, ln: ln, done: make(chan struct{}), conns: map[net.Conn]struct{}{},
		setup: rttSearch{RAMBase, RAMSize}, id: "SEGGER RTT", interval: 100 * time.Millisecond,
		servers: map[string]*openocdRTTServer{},
	}
	s.wg.Add(1)
	go s.accept()
	go func() {
		select {
		case <-b.quit:
			s.Close()
		case <-s.done:
		}
	}()
	return s, nil
}

// Addr is the Tcl port's host:port.
func (s *OpenOCDServer) Addr() string { return s.ln.Addr().String() }

// Close stops the Tcl port, every RTT server and all connections.
func (s *OpenOCDServer) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.done)
		err = s.ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		for port, r := range s.servers {
			s.stopServer(r)
			delete(s.servers, port)
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return err
}

func (s *OpenOCDServer) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.done:
		return false
	default:
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *OpenOCDServer) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
}

func (s *OpenOCDServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		if !s.track(c) {
			c.Close()
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			r := bufio.NewReader(c)
			for {
				c.SetReadDeadline(time.Now().Add(gdbIdleTimeout))
				msg, err := r.ReadString(openocdTerm)
				if err != nil {
					return
				}
				reply := s.command(strings.TrimSuffix(msg, string(rune(openocdTerm))))
				c.SetWriteDeadline(time.Now().Add(probeTimeout))
				if _, err := c.Write(append([]byte(reply), openocdTerm)); err != nil {
					return
				}
			}
		}()
	}
}

// tclWords splits a command into words: whitespace separates, "…" and {…} group.
func tclWords(s string) []string {
	var out []string
	var cur strings.Builder
	in := false
	var close rune
	for _, r := range strings.TrimSpace(s) {
		switch {
		case close != 0 && r == close:
			close = 0
		case close == 0 && (r == '"' || r == '{') && !in:
			in = true
			close = '"'
			if r == '{' {
				close = '}'
			}
		case close == 0 && unicode.IsSpace(r):
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

// command runs one Tcl command and returns its result.
func (s *OpenOCDServer) command(line string) string {
	w := tclWords(line)
	if len(w) == 0 {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	switch {
	case w[0] == "reset":
		mode := "run"
		if len(w) > 1 {
			mode = w[1]
		}
		if mode != "run" && mode != "halt" && mode != "init" {
			return `wrong # args: should be "reset ?run|halt|init?"`
		}
		if err := s.b.Reset(ctx); err != nil {
			return "reset failed: " + err.Error()
		}
		if mode != "run" {
			if err := s.b.setHalted(ctx, true); err != nil {
				return "halt failed: " + err.Error()
			}
		}
		return ""
	case w[0] == "halt":
		if err := s.b.setHalted(ctx, true); err != nil {
			return "halt failed: " + err.Error()
		}
		return ""
	case w[0] == "resume":
		if err := s.b.setHalted(ctx, false); err != nil {
			return "resume failed: " + err.Error()
		}
		return ""
	case w[0] == "rtt" && len(w) > 1:
		return s.rtt(ctx, w[1:])
	case len(w) == 2 && w[0] == "target" && w[1] == "names":
		// The target upstream's target/nordic/nrf91.cfg creates (CHIPNAME nrf91).
		return "nrf91.cpu"
	}
	return fmt.Sprintf("invalid command name \"%s\"", w[0])
}

func parseNum(s string) (uint32, bool) {
	v, err := strconv.ParseUint(s, 0, 32)
	return uint32(v), err == nil
}

func (s *OpenOCDServer) rtt(ctx context.Context, w []string) string {
	switch w[0] {
	case "setup":
		if len(w) < 3 || len(w) > 4 {
			return "rtt setup: usage: rtt setup <address> <size> [ID]"
		}
		a, ok1 := parseNum(w[1])
		n, ok2 := parseNum(w[2])
		if !ok1 || !ok2 {
			return fmt.Sprintf("rtt setup: invalid address or size: %s %s", w[1], w[2])
		}
		s.mu.Lock()
		s.setup = rttSearch{a, n}
		if len(w) == 4 {
			s.id = w[3]
		}
		s.cb = 0 // rtt.changed: the next start searches again
		s.mu.Unlock()
		return ""
	case "start":
		s.mu.Lock()
		if s.cb == 0 {
			cfg := probeConfig{ranges: []rttSearch{s.setup}, id: s.id}
			s.mu.Unlock()
			var at uint32
			if err := s.b.call(ctx, func() error { at = s.b.probeFind(cfg); return nil }); err != nil {
				return "rtt start: " + err.Error()
			}
			s.mu.Lock()
			if at == 0 {
				s.mu.Unlock()
				return "rtt: No control block found"
			}
			s.cb = at
		}
		s.started = true
		at := s.cb
		s.mu.Unlock()
		return fmt.Sprintf("rtt: Control block found at 0x%08x", at)
	case "stop":
		s.mu.Lock()
		s.started = false
		s.mu.Unlock()
		return ""
	case "polling_interval":
		s.mu.Lock()
		defer s.mu.Unlock()
		if len(w) == 1 {
			return strconv.Itoa(int(s.interval / time.Millisecond))
		}
		ms, err := strconv.ParseUint(w[1], 10, 32)
		if err != nil || ms == 0 {
			return fmt.Sprintf("rtt polling_interval: invalid interval: %s", w[1])
		}
		s.interval = time.Duration(ms) * time.Millisecond
		return ""
	case "channels":
		return s.channels(ctx)
	case "server":
		if len(w) < 2 {
			return "rtt server: usage: rtt server start <port> <channel> [message] | stop <port>"
		}
		switch w[1] {
		case "start":
			if len(w) < 4 || len(w) > 5 {
				return "rtt server start: usage: rtt server start <port> <channel> [message]"
			}
			ch, err := strconv.ParseUint(w[3], 10, 8)
			if err != nil {
				return fmt.Sprintf("rtt server start: invalid channel: %s", w[3])
			}
			hello := ""
			if len(w) == 5 {
				hello = w[4] + "\n" // rtt_server.c appends a line feed
			}
			return s.startServer(w[2], int(ch), hello)
		case "stop":
			if len(w) != 3 {
				return "rtt server stop: usage: rtt server stop <port>"
			}
			s.mu.Lock()
			if r, ok := s.servers[w[2]]; ok {
				s.stopServer(r)
				delete(s.servers, w[2])
			}
			s.mu.Unlock()
			return ""
		}
	}
	return fmt.Sprintf("invalid command name \"rtt %s\"", w[0])
}

// channels lists the channels as OpenOCD's `rtt channels` prints them.
func (s *OpenOCDServer) channels(ctx context.Context) string {
	s.mu.Lock()
	started, cb := s.started, s.cb
	s.mu.Unlock()
	if !started {
		return "rtt: Control block not available"
	}
	var out string
	err := s.b.call(ctx, func() error {
		nUp, ok1 := s.b.ramWord(cb + 16)
		nDown, ok2 := s.b.ramWord(cb + 20)
		if !ok1 || !ok2 || nUp > probeMaxChannels || nDown > probeMaxChannels {
			return errors.New("rtt: control block corrupted")
		}
		var sb strings.Builder
		fmt.Fprintf(&sb, "Channels: up=%d, down=%d\n", nUp, nDown)
		list := func(title string, first, n uint32) {
			sb.WriteString(title + "\n")
			for i := uint32(0); i < n; i++ {
				d := first + rttDescSize*i
				size, _ := s.b.ramWord(d + rttDescSizeOff)
				if size == 0 {
					continue
				}
				name := ""
				if p, ok := s.b.ramWord(d); ok && p != 0 {
					if mem, ok := s.b.ramSlice(p, 32); ok {
						if j := strings.IndexByte(string(mem), 0); j >= 0 {
							name = string(mem[:j])
						}
					}
				}
				flags, _ := s.b.ramWord(d + rttDescFlags)
				fmt.Fprintf(&sb, "%d: %s %d %d\n", i, name, size, flags)
			}
		}
		list("Up-channels:", cb+24, nUp)
		list("Down-channels:", cb+24+rttDescSize*nUp, nDown)
		out = strings.TrimSuffix(sb.String(), "\n")
		return nil
	})
	if err != nil {
		return err.Error()
	}
	return out
}

// startServer is `rtt server start`: a raw TCP service for one channel on 127.0.0.1:<port>.
func (s *OpenOCDServer) startServer(port string, ch int, hello string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.servers[port]; dup {
		return fmt.Sprintf("couldn't bind rtt to socket on port %s: Address already in use", port)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		return fmt.Sprintf("couldn't bind rtt to socket on port %s: %v", port, err)
	}
	r := &openocdRTTServer{ln: ln, channel: ch, hello: hello, stop: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	s.servers[port] = r
	s.wg.Add(1)
	go s.serveRTT(r)
	return ""
}

// stopServer closes a server and its connections; s.mu is held.
func (s *OpenOCDServer) stopServer(r *openocdRTTServer) {
	close(r.stop)
	r.ln.Close()
	for c := range r.conns {
		c.Close()
	}
}

func (s *OpenOCDServer) serveRTT(r *openocdRTTServer) {
	defer s.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		select {
		case <-r.stop:
			s.mu.Unlock()
			c.Close()
			return
		default:
		}
		r.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(r.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
			if r.hello != "" {
				c.SetWriteDeadline(time.Now().Add(probeTimeout))
				if _, err := c.Write([]byte(r.hello)); err != nil {
					return
				}
			}
			p := &probeConn{
				b: s.b, c: c,
				poll: func() time.Duration {
					s.mu.Lock()
					defer s.mu.Unlock()
					return s.interval
				},
				state: func(f func(*probeState)) {
					s.mu.Lock()
					defer s.mu.Unlock()
					if !s.started || s.cb == 0 {
						return // polling is off: nothing moves
					}
					st := probeState{cfg: probeConfig{channel: r.channel, addr: s.cb, id: s.id}, cb: s.cb}
					f(&st)
				},
			}
			p.run(r.stop, nil)
		}()
	}
}
