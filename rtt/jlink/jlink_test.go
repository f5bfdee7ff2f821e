package jlink

import (
	"context"
	"errors"
	"github.com/nrfprov/nrfprov/internal/testsupport"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/sim"
	"github.com/nrfprov/nrfprov/internal/sim/simtest"
	"github.com/nrfprov/nrfprov/rtt"
)

const testTimeout = 10 * time.Second

// ctxT is the test's context with a deadline (internal/testsupport).
var ctxT = testsupport.ContextFunc(testTimeout)

func telnetBoard(t *testing.T, o sim.TelnetOptions) (*sim.Board, string) {
	t.Helper()
	b := simtest.Board(t, sim.BoardConfig{SerialNumber: "000960000901", Personality: sim.ModemShell, RTT: true})
	s, err := sim.ServeRTTTelnet(b, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return b, s.Addr()
}

func readUntil(t *testing.T, c *Conn, want string) string {
	t.Helper()
	return testsupport.ReadUntil(t, c, want, testTimeout)
}

func TestDialBannerAndShell(t *testing.T) {
	b, addr := telnetBoard(t, sim.TelnetOptions{})
	at, err := b.RTTAddress(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	ch := 0
	c, err := Dial(ctxT(t), addr, Options{Channel: &ch, Address: &at})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Version != "V7.94e" || len(c.Banner) != 3 || !strings.Contains(c.Banner[1], "SN=000960000901") {
		t.Fatalf("banner %q version %q", c.Banner, c.Version)
	}
	boot := readUntil(t, c, "mosh:~$ ")
	if strings.Contains(boot, "SEGGER") {
		t.Fatalf("the banner or the config string leaked into the data: %q", boot)
	}
	if _, err := c.Write([]byte("at AT+CGMR\r\n")); err != nil {
		t.Fatal(err)
	}
	if got := readUntil(t, c, "OK\r\n"); !strings.Contains(got, "mfw_nrf9160") {
		t.Fatalf("answer %q", got)
	}
}

func TestConfigString(t *testing.T) {
	ch := 1
	addr := uint32(0x20000400)
	cases := []struct {
		o    Options
		want string
	}{
		{Options{}, ""},
		{Options{Channel: &ch}, "$$SEGGER_TELNET_ConfigStr=RTTCh;1$$"},
		{Options{Address: &addr}, "$$SEGGER_TELNET_ConfigStr=SetRTTAddr;0x20000400$$"},
		{Options{Channel: &ch, SearchRanges: rtt.NRF91RAM}, "$$SEGGER_TELNET_ConfigStr=RTTCh;1;SetRTTSearchRanges;0x20000000 0x40000$$"},
	}
	for _, c := range cases {
		if got := c.o.ConfigString(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.o, got, c.want)
		}
	}
}

func TestGUIServerIsTyped(t *testing.T) {
	_, addr := telnetBoard(t, sim.TelnetOptions{GUIServer: true})
	_, err := Dial(ctxT(t), addr, Options{})
	var ge *GUIServerError
	if !errors.Is(err, ErrGUIServer) || !errors.As(err, &ge) || ge.Reply != "J-Link GUI server; V6.80d;" {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), "close JLinkGUIServer") {
		t.Fatalf("message does not say what to do: %v", err)
	}
}

// fakeServer answers every connection with greeting and then keeps quiet.
func fakeServer(t *testing.T, greeting string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.WriteString(c, greeting)
				c.SetReadDeadline(time.Now().Add(testTimeout))
				io.Copy(io.Discard, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func TestBannerWithLFOnlyAndDataAfterIt(t *testing.T) {
	addr := fakeServer(t, "SEGGER J-Link V6.44 - Real time terminal output\nJ-Link OpenSDA 2 compiled Feb 28 2017 19:27:57 V1.0, SN=621000000\nProcess: JLinkExe\nrtt data")
	c, err := Dial(ctxT(t), addr, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Version != "V6.44" || c.Banner[2] != "Process: JLinkExe" {
		t.Fatalf("banner %q", c.Banner)
	}
	readUntil(t, c, "rtt data")
}

func TestNotJLinkAndSilence(t *testing.T) {
	if _, err := Dial(ctxT(t), fakeServer(t, "HTTP/1.1 400 Bad Request\r\n"), Options{}); !errors.Is(err, ErrNotJLink) {
		t.Fatalf("an HTTP server: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := Dial(ctx, fakeServer(t, ""), Options{}); !errors.Is(err, ErrNotJLink) || !strings.Contains(err.Error(), "no banner") {
		t.Fatalf("a silent server: %v", err)
	}
}
