package sim

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// The J-Link RTT telnet server (rtt §2.1) for one board: what JLinkGDBServer or JLinkExe serve
// on port 19021 while they hold the probe. Raw TCP, no telnet protocol. On connect it sends a
// three-line banner; a $$SEGGER_TELNET_ConfigStr=…$$ the client sends within the first 100 ms
// selects the channel (RTTCh;n), the control block address (SetRTTAddr;0x…) or the search
// ranges (SetRTTSearchRanges;…); sent later, those bytes are RTT data. Then it moves bytes
// between the socket and the RTT channel as the J-Link DLL does (rttprobe.go), finding the
// control block again after a flash moves it.

// TelnetOptions configures ServeRTTTelnet.
type TelnetOptions struct {
	// Addr is where to listen; default 127.0.0.1:0 (J-Link's default port is 19021).
	Addr string
	// ConfigWindow is how long after connecting a config string is honoured (default 100 ms).
	ConfigWindow time.Duration
	// Poll is how often the probe polls the channel (default 1 ms) [inferred: J-Link does not
	// document its RTT poll period; its read path is "optimized to achieve 500KB/s"].
	Poll time.Duration
	// GUIServer emulates a stale JLinkGUIServer holding the port (SEGGER forum thread 7339):
	// every connection gets "J-Link GUI server; V6.80d;" instead of the banner and no RTT.
	GUIServer bool
}

// Banner lines of the J-Link telnet server; the first is what clients match
// (`^SEGGER J-Link (.*?) - Real time terminal output$`, rtt §2.1).
const (
	telnetVersion   = "V7.94e"
	telnetGUIReply  = "J-Link GUI server; V6.80d;"
	telnetConfigTag = "$$SEGGER_TELNET_ConfigStr="
)

// TelnetServer is a board's J-Link RTT telnet endpoint.
type TelnetServer struct {
	b *Board
	o TelnetOptions
	*connServer
}

// ServeRTTTelnet starts the board's J-Link RTT telnet endpoint. It closes with the board.
func ServeRTTTelnet(b *Board, o TelnetOptions) (*TelnetServer, error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.ConfigWindow <= 0 {
		o.ConfigWindow = 100 * time.Millisecond
	}
	if o.Poll <= 0 {
		o.Poll = time.Millisecond
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("sim: rtt telnet server: %w", err)
	}
	s := &TelnetServer{b: b, o: o}
	s.connServer = newConnServer(ln, s.serve)
	s.start(b.quit)
	return s, nil
}

func (s *TelnetServer) serve(c net.Conn) {
	c.SetWriteDeadline(time.Now().Add(probeTimeout))
	if s.o.GUIServer {
		// A stale GUI server answers its own greeting and never RTT [inferred: the exact bytes
		// after the version are not documented; no line end is sent]. It keeps the socket open
		// until the client goes.
		if _, err := c.Write([]byte(telnetGUIReply)); err != nil {
			return
		}
		buf := make([]byte, 256)
		for {
			c.SetReadDeadline(time.Now().Add(gdbIdleTimeout))
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}
	banner := fmt.Sprintf("SEGGER J-Link %s - Real time terminal output\r\nSEGGER J-Link V11.0, SN=%s\r\nProcess: JLinkGDBServerCLExe\r\n",
		telnetVersion, s.b.cfg.SerialNumber)
	if _, err := c.Write([]byte(banner)); err != nil {
		return
	}
	cfg, rest, err := readTelnetConfig(c, time.Now().Add(s.o.ConfigWindow))
	if err != nil {
		return
	}
	cfg.refind = true
	p := &probeConn{b: s.b, c: c, poll: func() time.Duration { return s.o.Poll }, own: probeState{cfg: cfg}}
	p.run(s.done, rest)
}

// readTelnetConfig reads what the client sends until the window closes: a config string at the
// very start is parsed and removed; anything else is RTT data and returned as rest.
func readTelnetConfig(c net.Conn, until time.Time) (probeConfig, []byte, error) {
	var cfg probeConfig
	var got []byte
	buf := make([]byte, 256)
	for {
		// Stop early once the bytes cannot be a config string, or one is complete.
		if !bytes.HasPrefix([]byte(telnetConfigTag), got[:min(len(got), len(telnetConfigTag))]) {
			return cfg, got, nil
		}
		if len(got) > len(telnetConfigTag) {
			if end := bytes.Index(got[len(telnetConfigTag):], []byte("$$")); end >= 0 {
				body := string(got[len(telnetConfigTag) : len(telnetConfigTag)+end])
				return parseTelnetConfig(body), got[len(telnetConfigTag)+end+2:], nil
			}
		}
		c.SetReadDeadline(until)
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// The window closed: whatever came is RTT data, a late config string too.
				return cfg, got, nil
			}
			return cfg, nil, err
		}
	}
}

// parseTelnetConfig reads "Cmd;arg[;Cmd;arg]…" (rtt §2.1). Unknown commands and bad values are
// ignored, as a server that must not fail on them would [inferred]. SetRTTSearchRanges takes
// "addr size[, addr size]…" [inferred from the J-Link command string's syntax].
func parseTelnetConfig(body string) probeConfig {
	var cfg probeConfig
	tok := strings.Split(body, ";")
	for i := 0; i+1 < len(tok); i += 2 {
		name, arg := strings.TrimSpace(tok[i]), strings.TrimSpace(tok[i+1])
		switch strings.ToLower(name) {
		case "rttch":
			if n, err := strconv.Atoi(arg); err == nil && n >= 0 {
				cfg.channel = n
			}
		case "setrttaddr":
			if a, err := strconv.ParseUint(arg, 0, 32); err == nil {
				cfg.addr = uint32(a)
			}
		case "setrttsearchranges":
			cfg.ranges = parseSearchRanges(arg)
		}
	}
	return cfg
}

func parseSearchRanges(s string) []rttSearch {
	var out []rttSearch
	for _, part := range strings.Split(s, ",") {
		f := strings.Fields(part)
		if len(f) != 2 {
			continue
		}
		a, err1 := strconv.ParseUint(f[0], 0, 32)
		n, err2 := strconv.ParseUint(f[1], 0, 32)
		if err1 == nil && err2 == nil && n > 0 {
			out = append(out, rttSearch{uint32(a), uint32(n)})
		}
	}
	return out
}
