package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/sim"
)

// The rtt transport's three backends, end to end: nrfprov (the built binary) provisions, lists
// and reads a Modem Shell board over RTT through its GDB server, its J-Link RTT telnet endpoint
// and its OpenOCD stand-in, and recovers from a hung modem through the backend's reset.

type rttBackend struct {
	name string
	// args are the transport flags for a board.
	args func(e rttEndpoints) []string
	// reset says whether the backend can reset the board.
	reset bool
}

type rttEndpoints struct{ gdb, telnet, tcl string }

var rttBackends = []rttBackend{
	{"gdb", func(e rttEndpoints) []string { return []string{"--transport", "rtt", "--port", e.gdb} }, true},
	{"jlink", func(e rttEndpoints) []string {
		return []string{"--transport", "rtt", "--port", "jlink://" + e.telnet, "--transport-opt", "gdb=" + e.gdb}
	}, true},
	{"jlink-only", func(e rttEndpoints) []string { return []string{"--transport", "rtt", "--port", "jlink://" + e.telnet} }, false},
	{"openocd", func(e rttEndpoints) []string { return []string{"--transport", "rtt", "--port", "openocd://" + e.tcl} }, true},
}

// rttBoard starts a Modem Shell board with RTT and all three debugger endpoints.
func rttBoard(t testing.TB, sn string, telnet sim.TelnetOptions) (*sim.Board, rttEndpoints) {
	t.Helper()
	b := startBoard(t, sim.BoardConfig{SerialNumber: sn, Personality: sim.ModemShell, RTT: true})
	g := serveGDB(t, b)
	tn, err := sim.ServeRTTTelnet(b, telnet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tn.Close() })
	oc, err := sim.ServeOpenOCD(b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { oc.Close() })
	return b, rttEndpoints{g.Addr(), tn.Addr(), oc.Addr()}
}

// TestRTTBackendsProvisionListRead: over each backend, the provision scenario converges
// through a hang (by the backend's own reset where it has one), a second run writes nothing,
// and list and read (a 1.9 KB certificate through the 1 KB up buffer) agree with the files.
func TestRTTBackendsProvisionListRead(t *testing.T) {
	for i, be := range rttBackends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			b, ep := rttBoard(t, fmt.Sprintf("00096000030%d", i), sim.TelnetOptions{})
			args := func(a ...string) []string { return append(be.args(ep), a...) }
			tag := uint32(16842753)
			m, files := credSet(t, tag, "crlf", "")
			// The field report's board, over RTT: a root CA listed with only part of its bytes.
			breakOverRTT(t, ep.telnet, tag, files["ca.pem"])
			// Let the connection and the first write through, then hang the modem.
			if err := b.InjectFault(ctxT(t), sim.Fault{Kind: "hang", Count: 9}); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if !be.reset {
				r := fails(t, 5, args("--modem-latency", "500ms", "provision", "-m", m), "cannot reset", "reset the board")
				if strings.Contains(r.stderr, "BEGIN PRIVATE KEY") {
					t.Fatalf("secret in the error output: %s", r.stderr)
				}
				if err := b.Reset(ctxT(t)); err != nil {
					t.Fatal(err)
				}
				if err := b.WaitReady(ctxT(t)); err != nil {
					t.Fatal(err)
				}
				provisionJSON(t, 0, args("provision", "-m", m)...)
			} else {
				rep := provisionJSON(t, 0, args("--modem-latency", "500ms", "provision", "-m", m)...)
				if rep.Recoveries != 1 || rep.Writes != 3 || len(rep.Results) != 3 { // one hang, one reset
					t.Fatalf("over %s: %+v", be.name, rep)
				}
				for _, res := range rep.Results {
					name := map[int]string{0: "ca.pem", 1: "client.pem", 2: "key.pem"}[res.Type]
					// Through the shell, line breaks are stored (and read back) as CR LF.
					if res.Outcome != "verified" || res.SHA256 != sha(strings.ReplaceAll(files[name], "\n", "\r\n")) {
						t.Fatalf("over %s: %+v", be.name, rep.Results)
					}
				}
			}
			t.Logf("%s: provision through a hang took %v", be.name, time.Since(start))
			start = time.Now()
			again := provisionJSON(t, 0, args("provision", "-m", m)...)
			if again.Writes != 0 || again.Recoveries != 0 {
				t.Fatalf("second run over %s: %+v", be.name, again)
			}
			t.Logf("%s: a converged re-run took %v", be.name, time.Since(start))

			var list struct{ Credentials []jsonEntry }
			decode(t, ok(t, args("list", "--json")...), "list", &list)
			found := 0
			for _, e := range list.Credentials {
				if e.SecTag == tag {
					found++
				}
			}
			if found != 3 {
				t.Fatalf("list over %s: %+v", be.name, list.Credentials)
			}
			// Through the shell only CR LF content is stored exactly as given.
			big := strings.ReplaceAll(certOfSize(t, 1900), "\n", "\r\n")
			fails(t, 2, args("write", "77", "ROOT_CA_CERT", writeFile(t, "big-lf.pem", strings.ReplaceAll(big, "\r\n", "\n"))), "LF line break")
			ok(t, args("write", "77", "ROOT_CA_CERT", writeFile(t, "big.pem", big))...)
			if got := ok(t, args("read", "77", "0")...); got != big {
				t.Fatalf("read over %s: %d bytes, want the %d-byte certificate:\n%q", be.name, len(got), len(big), got)
			}
			var info struct {
				D string `json:"dialect"`
			}
			decode(t, ok(t, args("info", "--json")...), "info", &info)
			if info.D != "shell" {
				t.Fatalf("info over %s: dialect %q", be.name, info.D)
			}
			ok(t, args("delete", "77", "0")...)
			fails(t, 6, args("read", "77", "0"), "513")
			st, err := b.State(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			if st.Stats.RTTUpDropped != 0 {
				t.Fatalf("the board dropped RTT output: %+v", st.Stats)
			}
		})
	}
}

// breakOverRTT writes the first half of ca under tag through the board's J-Link telnet endpoint
// (raw TCP, as a person with JLinkRTTClient would), the way the field report's board was left.
func breakOverRTT(t *testing.T, telnet string, tag uint32, ca string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", telnet, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(testTimeout))
	r := bufio.NewReader(c)
	var got strings.Builder
	expect := func(want string) {
		t.Helper()
		for !strings.Contains(got.String(), want) {
			b, err := r.ReadByte()
			if err != nil {
				t.Fatalf("waiting for %q over RTT: %v; got %q", want, err, got.String())
			}
			got.WriteByte(b)
		}
		got.Reset()
	}
	expect("mosh:~$ ")
	half := strings.ReplaceAll(strings.TrimSpace(ca[:len(ca)/2]), "\n", `\n`)
	for _, cmd := range []string{"at AT+CFUN=4", fmt.Sprintf(`at 'AT%%CMNG=0,%d,0,"%s"'`, tag, half)} {
		if _, err := io.WriteString(c, cmd+"\r\n"); err != nil {
			t.Fatal(err)
		}
		expect("OK\r\n")
	}
}

// TestRTTJLinkGUIServerHoldsThePort: a stale JLinkGUIServer answering on J-Link's RTT port is a
// link failure (exit 9) whose message says what to close; nothing reaches the board.
func TestRTTJLinkGUIServerHoldsThePort(t *testing.T) {
	t.Parallel()
	b, ep := rttBoard(t, "000960000310", sim.TelnetOptions{GUIServer: true})
	fails(t, 9, []string{"--transport", "rtt", "--port", "jlink://" + ep.telnet, "list"},
		"J-Link GUI server; V6.80d;", "close JLinkGUIServer")
	st, err := b.State(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if st.Stats.RTTDownBytes != 0 || st.Stats.Commands != 0 {
		t.Fatalf("bytes reached the board: %+v", st.Stats)
	}
}
