// Package jlink is a client for SEGGER J-Link's RTT telnet server: the raw TCP endpoint
// (default port 19021) that JLinkGDBServer, JLinkExe and the RTT Viewer serve while they hold a
// J-Link connection.
//
// Despite the name it is not telnet: after connecting, the server sends a three-line banner,
//
//	SEGGER J-Link V7.94e - Real time terminal output
//	SEGGER J-Link V11.0, SN=000960000001
//	Process: JLinkGDBServerCLExe
//
// and then the bytes of one RTT channel pair, both ways. Within 100 ms of connecting the client
// may send $$SEGGER_TELNET_ConfigStr=RTTCh;<n>[;SetRTTAddr;<addr>][;SetRTTSearchRanges;<ranges>]$$
// to choose the channel or where the control block is; sent later, the same bytes are RTT data.
// Dial sends it before it reads anything. A JLinkGUIServer left over from an earlier session
// that holds the port answers "J-Link GUI server; V6.80d;" instead; Dial reports that as a
// *GUIServerError.
package jlink

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/nrfprov/nrfprov/rtt"
)

// DefaultPort is the J-Link RTT telnet server's default port.
const DefaultPort = 19021

// Options says which channel and control block to use. Zero values leave the server's defaults
// (channel 0, the control block found by J-Link's own search) and send no config string.
type Options struct {
	// Channel selects the RTT channel (up and down); nil keeps channel 0.
	Channel *int
	// Address is the control block's exact address (SetRTTAddr), e.g. the ELF's _SEGGER_RTT.
	Address *uint32
	// SearchRanges limits J-Link's search for the control block (SetRTTSearchRanges).
	SearchRanges []rtt.Range
	// BannerTimeout bounds the wait for the banner; default 2 s (also bounded by Dial's ctx).
	BannerTimeout time.Duration
}

// ConfigString is what Dial sends first, or "" when o asks for nothing.
func (o Options) ConfigString() string {
	var cmds []string
	if o.Channel != nil {
		cmds = append(cmds, fmt.Sprintf("RTTCh;%d", *o.Channel))
	}
	if o.Address != nil {
		cmds = append(cmds, fmt.Sprintf("SetRTTAddr;0x%08x", *o.Address))
	}
	if len(o.SearchRanges) > 0 {
		rs := make([]string, len(o.SearchRanges))
		for i, r := range o.SearchRanges {
			rs[i] = fmt.Sprintf("0x%08x 0x%x", r.Start, r.Size)
		}
		cmds = append(cmds, "SetRTTSearchRanges;"+strings.Join(rs, ", "))
	}
	if len(cmds) == 0 {
		return ""
	}
	return "$$SEGGER_TELNET_ConfigStr=" + strings.Join(cmds, ";") + "$$"
}

var (
	// ErrGUIServer: a JLinkGUIServer holds the RTT port. Errors matching it are *GUIServerError.
	ErrGUIServer = errors.New("jlink: a J-Link GUI server holds the RTT port")
	// ErrNotJLink: whatever answered is not a J-Link RTT telnet server.
	ErrNotJLink = errors.New("jlink: not a J-Link RTT telnet server")
)

// GUIServerError says a stale JLinkGUIServer answered instead of the RTT server.
type GUIServerError struct {
	Addr  string
	Reply string // e.g. "J-Link GUI server; V6.80d;"
}

func (e *GUIServerError) Error() string {
	return fmt.Sprintf("jlink: %s answered %q instead of RTT: a JLinkGUIServer from an earlier J-Link session holds the port; "+
		"close JLinkGUIServer and other J-Link GUI applications (J-Link Commander, RTT Viewer), then start the J-Link session (JLinkGDBServer) again", e.Addr, e.Reply)
}

func (e *GUIServerError) Is(target error) bool { return target == ErrGUIServer }

// bannerFirst is the first banner line (rtt §2.1); its version differs between releases.
var bannerFirst = regexp.MustCompile(`^SEGGER J-Link (.*?) - Real time terminal output$`)

const guiPrefix = "J-Link GUI server"

// Conn is an open RTT channel through the telnet server: a byte stream. Read and Write may run
// at once; Close ends both.
type Conn struct {
	net.Conn
	r io.Reader
	// Version is the J-Link software version from the banner, e.g. "V7.94e".
	Version string
	// Banner is the banner's three lines, without line ends.
	Banner []string
}

// Read reads RTT data (after the banner).
func (c *Conn) Read(p []byte) (int, error) { return c.r.Read(p) }

// Dial connects to the telnet server at addr (host:port), sends o's config string at once, and
// reads the banner. ctx bounds the connect and the banner, not the Conn's life.
func Dial(ctx context.Context, addr string, o Options) (*Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("jlink: connect to the RTT telnet server %s: %w", addr, err)
	}
	conn, err := handshake(ctx, c, addr, o)
	if err != nil {
		c.Close()
		return nil, err
	}
	return conn, nil
}

func handshake(ctx context.Context, c net.Conn, addr string, o Options) (*Conn, error) {
	wait := o.BannerTimeout
	if wait <= 0 {
		wait = 2 * time.Second
	}
	deadline := time.Now().Add(wait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	// The config string must arrive within 100 ms of the connect: send it before anything else.
	if cs := o.ConfigString(); cs != "" {
		c.SetWriteDeadline(deadline)
		if _, err := io.WriteString(c, cs); err != nil {
			return nil, fmt.Errorf("jlink: send the config string to %s: %w", addr, err)
		}
		c.SetWriteDeadline(time.Time{})
	}
	c.SetReadDeadline(deadline)
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Now()); close(fired) })
	defer func() {
		if !stop() {
			<-fired // a cut deadline must not land on the stream after the handshake
		}
		c.SetReadDeadline(time.Time{})
	}()
	br := bufio.NewReader(c)
	var lines []string
	var cur []byte
	for len(lines) < 3 {
		b, err := br.ReadByte()
		if err != nil {
			if len(lines) == 0 && strings.HasPrefix(string(cur), guiPrefix) {
				// The GUI server's reply needs no line end to be recognised.
				return nil, &GUIServerError{Addr: addr, Reply: strings.TrimSpace(string(cur))}
			}
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return nil, fmt.Errorf("%w: %s: no banner (got %q): %w", ErrNotJLink, addr, string(bytes.Join(append(toBytes(lines), cur), []byte("\n"))), err)
		}
		if b == '\n' {
			lines = append(lines, strings.TrimSuffix(string(cur), "\r"))
			cur = nil
			if len(lines) == 1 && !bannerFirst.MatchString(lines[0]) {
				if strings.HasPrefix(lines[0], guiPrefix) {
					return nil, &GUIServerError{Addr: addr, Reply: strings.TrimSpace(lines[0])}
				}
				return nil, fmt.Errorf("%w: %s said %q", ErrNotJLink, addr, lines[0])
			}
			continue
		}
		cur = append(cur, b)
		if len(lines) == 0 && len(cur) >= len(guiPrefix) && string(cur[:len(guiPrefix)]) == guiPrefix && bytes.Count(cur, []byte(";")) >= 2 {
			return nil, &GUIServerError{Addr: addr, Reply: string(cur)}
		}
		if len(cur) > 512 {
			return nil, fmt.Errorf("%w: %s: banner line longer than 512 bytes", ErrNotJLink, addr)
		}
	}
	m := bannerFirst.FindStringSubmatch(lines[0])
	return &Conn{Conn: c, r: br, Version: m[1], Banner: lines}, nil
}

func toBytes(ss []string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}
