package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"go.bug.st/serial"

	"github.com/nrfprov/nrfprov/internal/provision"
)

// The floors of the benchmarks are what a smarter nrfprov could meet, never what nrfprov itself
// sent: the least exchange a manifest needs, worked out here from the modem's documented answers
// (shared/docs/modem-cmng-athost.md), at the line's baud plus the board's configured latencies,
// plus the least a host process costs, measured in the same run by floorProcess.

// floorPortEnv makes the test binary, started again, the bare floor process: the least a host
// tool can do to talk to a board — start, open the port, send AT, read OK.
const floorPortEnv = "NRFPROV_E2E_FLOOR_PORT"

func floorProcess(port string) int {
	p, err := serial.Open(port, &serial.Mode{BaudRate: 115200})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer p.Close()
	if _, err := p.Write([]byte("AT\r")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := p.SetReadTimeout(100 * time.Millisecond); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var got []byte
	buf := make([]byte, 256)
	for end := time.Now().Add(testTimeout); time.Now().Before(end); {
		n, err := p.Read(buf)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if got = append(got, buf[:n]...); bytes.Contains(got, []byte("OK\r\n")) {
			return 0
		}
	}
	fmt.Fprintf(os.Stderr, "no OK: %q\n", got)
	return 1
}

// floorCmd is the bare floor process for a port.
func floorCmd(tb testing.TB, port string) *exec.Cmd {
	tb.Helper()
	self, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	c := exec.Command(self)
	c.Env = append(os.Environ(), floorPortEnv+"="+port)
	return c
}

// floorRun runs the bare floor process on each port at once and returns the wall time until
// the last has read its OK.
func floorRun(tb testing.TB, ports ...string) time.Duration {
	tb.Helper()
	cmds := make([]*exec.Cmd, len(ports))
	errs := make([]bytes.Buffer, len(ports))
	for i, p := range ports {
		cmds[i] = floorCmd(tb, p)
		cmds[i].Stderr = &errs[i]
	}
	var wg sync.WaitGroup
	fail := make([]error, len(ports))
	start := time.Now()
	for i, c := range cmds {
		wg.Go(func() { fail[i] = c.Run() })
	}
	wg.Wait()
	took := time.Since(start)
	for i, err := range fail {
		if err != nil {
			tb.Fatalf("floor process on %s: %v: %s", ports[i], err, errs[i].String())
		}
	}
	return took
}

// leastExchange adds up the least traffic of a provisioning run and the modem time it costs.
type leastExchange struct {
	bytes    int // both ways
	commands int // each costs the board's command latency
	writes   int // each costs the board's write latency too
}

func (x *leastExchange) cmd(tx, rx string) {
	x.bytes += len(tx) + len(rx)
	x.commands++
}

// time is the exchange at the baud rate (10 bits a byte) plus the modem's latencies.
func (x leastExchange) time(baud int, cmdLatency, writeLatency time.Duration) time.Duration {
	wire := time.Duration(float64(x.bytes) * 10 * float64(time.Second) / float64(baud))
	return wire + time.Duration(x.commands)*cmdLatency + time.Duration(x.writes)*writeLatency
}

// minExchange is the least exchange that provisions m on a raw AT host (CR terminator) whose
// +CGMR answers revision: one +CGMR; one list of each sec_tag the manifest names (its
// credentials' and its pruned ones), which holds what the modem held before (all of m when
// inSync, none of it otherwise); and, unless in sync, one %CMNG=0 per credential with its OK
// and one list of those sec_tags to prove them by their SHA-256.
func minExchange(tb testing.TB, manifest, revision string, inSync bool) leastExchange {
	tb.Helper()
	m, err := provision.Load(manifest, nil)
	if err != nil {
		tb.Fatal(err)
	}
	var x leastExchange
	x.cmd("AT+CGMR\r", revision+"\r\nOK\r\n")
	var tags []uint32
	seen := map[uint32]bool{}
	for _, c := range m.Credentials {
		if !seen[c.SecTag] {
			seen[c.SecTag] = true
			tags = append(tags, c.SecTag)
		}
	}
	for _, t := range m.Prune {
		if !seen[t] {
			seen[t] = true
			tags = append(tags, t)
		}
	}
	list := func(held bool) {
		for _, t := range tags {
			var rx strings.Builder
			for _, c := range m.Credentials {
				if held && c.SecTag == t {
					fmt.Fprintf(&rx, "%%CMNG: %d,%d,\"%s\"\r\n", c.SecTag, int(c.Type), strings.Repeat("0", 64))
				}
			}
			x.cmd(fmt.Sprintf("AT%%CMNG=1,%d\r", t), rx.String()+"OK\r\n")
		}
	}
	list(inSync)
	if inSync {
		return x
	}
	for _, c := range m.Credentials {
		x.cmd(fmt.Sprintf("AT%%CMNG=0,%d,%d,\"%s\"\r", c.SecTag, int(c.Type), c.Content), "OK\r\n")
		x.writes++
	}
	list(true)
	return x
}
