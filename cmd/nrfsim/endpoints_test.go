package main

import (
	"bufio"
	"bytes"
	"net"
	"strings"
	"testing"
	"time"
)

// TestRTTEndpointsInJSONLine: --rtt-telnet and --openocd add "rtt_telnet" and "openocd_tcl" to
// the board's line, and both answer there.
func TestRTTEndpointsInJSONLine(t *testing.T) {
	p := startSim(t, 1, "--rtt", "--rtt-telnet", "--openocd", "--personality", "modem_shell", "--run-dir", t.TempDir())
	l := p.lines[0]
	if l.GDB == "" || l.RTTTelnet == "" || l.OpenOCDTcl == "" {
		t.Fatalf("board line %+v", l)
	}
	c, err := net.DialTimeout("tcp", l.RTTTelnet, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	first, err := r.ReadString('\n')
	if err != nil || !strings.HasSuffix(first, " - Real time terminal output\r\n") {
		t.Fatalf("telnet banner %q %v", first, err)
	}
	tcl, err := net.DialTimeout("tcp", l.OpenOCDTcl, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer tcl.Close()
	tcl.SetDeadline(time.Now().Add(10 * time.Second))
	tcl.Write([]byte("rtt start\x1a"))
	reply, err := bufio.NewReader(tcl).ReadString(0x1a)
	if err != nil || !strings.HasPrefix(reply, "rtt: Control block found at 0x2000") {
		t.Fatalf("rtt start: %q %v", reply, err)
	}
	p.stop()
}

func TestRTTEndpointFlagsNeedRTT(t *testing.T) {
	for _, args := range [][]string{{"--rtt-telnet"}, {"--openocd"}, {"--rtt", "--rtt-telnet-gui-server"}} {
		var out, errb bytes.Buffer
		if code := run(append(args, "--run-dir", t.TempDir()), &out, &errb); code == 0 || out.Len() != 0 || !strings.Contains(errb.String(), "need") {
			t.Errorf("%v: code %d, stdout %q, stderr %q", args, code, out.String(), errb.String())
		}
	}
}
