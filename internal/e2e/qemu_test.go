package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/qemutest"
	"github.com/nrfprov/nrfprov/internal/sim"
)

// qemuModem is nrfsim running one Modem Shell board whose UART is a TCP socket, for QEMU's
// UART to connect to.
type qemuModem struct {
	socket  string // host:port
	control string
}

func startSocketModem(t *testing.T) qemuModem {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, nrfsimBin, "--personality", "modem_shell", "--listen", "tcp:127.0.0.1:0",
		"--ready-delay", "10ms", "--run-dir", t.TempDir())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb strings.Builder
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var line struct {
		Socket  string `json:"serial_socket"`
		Control string `json:"control"`
	}
	select {
	case l, ok := <-lines:
		if !ok || json.Unmarshal([]byte(l), &line) != nil {
			t.Fatalf("nrfsim printed %q; stderr:\n%s", l, errb.String())
		}
	case <-time.After(testTimeout):
		t.Fatalf("nrfsim printed no board line; stderr:\n%s", errb.String())
	}
	addr, ok := strings.CutPrefix(line.Socket, "tcp:")
	if !ok {
		t.Fatalf("serial_socket %q", line.Socket)
	}
	return qemuModem{socket: addr, control: line.Control}
}

// TestProvisionThroughQEMU: nrfprov provisions the nRF Cloud example credentials (a 1.9 KB
// certificate among them) over SEGGER RTT through QEMU's own GDB server into real ARM code — a
// Cortex-M3 firmware that bridges its RTT control block (16-byte down buffer) to its UART —
// behind which nrfsim's Modem Shell answers on a socket. The GDB server is nobody's here, and it
// reads memory only while the core is halted: --transport-opt halt=interrupt. A second run
// finds everything in sync; list shows the verified hashes, and the modem holds exactly them.
func TestProvisionThroughQEMU(t *testing.T) {
	qemutest.Require(t)
	t.Parallel()
	start := time.Now()
	elf := qemutest.Firmware(t)
	modem := startSocketModem(t)
	q := qemutest.Start(t, elf, modem.socket)
	t.Logf("firmware built, nrfsim and QEMU started in %v", time.Since(start).Round(time.Millisecond))

	// The Modem Shell stores CR LF line breaks: the reference set with line_endings: crlf.
	manifest, err := filepath.Abs(filepath.Join("..", "..", "examples", "shell", "manifest.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[int]string{0: "ca.pem", 1: "client.pem", 2: "client-key.pem"}
	want := map[int]string{} // type → SHA-256 of what the modem stores (Modem Shell: CR LF)
	for typ, name := range files {
		b, err := os.ReadFile(filepath.Join(filepath.Dir(manifest), "..", "nrfcloud", name))
		if err != nil {
			t.Fatal(err)
		}
		want[typ] = sha(strings.ReplaceAll(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n", "\r\n"))
	}
	rtt := []string{"--transport", "rtt", "--port", q.GDB, "--transport-opt", "halt=interrupt"}
	args := func(a ...string) []string { return append(append([]string{}, rtt...), a...) }

	t0 := time.Now()
	rep := provisionJSON(t, 0, args("provision", "-m", manifest)...)
	t.Logf("first provision (3 writes) took %v", time.Since(t0).Round(time.Millisecond))
	if rep.Writes != 3 || len(rep.Results) != 3 {
		t.Fatalf("through QEMU: %+v", rep)
	}
	for _, res := range rep.Results {
		if res.SecTag != 16842753 || res.Outcome != "verified" || res.SHA256 != want[res.Type] {
			t.Fatalf("through QEMU: %+v, want hashes %v", rep.Results, want)
		}
	}

	t0 = time.Now()
	again := provisionJSON(t, 0, args("provision", "-m", manifest)...)
	t.Logf("second provision (in sync) took %v", time.Since(t0).Round(time.Millisecond))
	if again.Writes != 0 || again.Deletes != 0 {
		t.Fatalf("second run through QEMU: %+v", again)
	}

	var list struct{ Credentials []jsonEntry }
	decode(t, ok(t, args("list", "--json")...), "list", &list)
	listed := 0
	for _, e := range list.Credentials {
		if e.ModemOwned {
			continue
		}
		listed++
		if e.SecTag != 16842753 || e.SHA256 != want[e.Type] || e.Hash != "real" {
			t.Fatalf("list through QEMU: %+v, want hashes %v", list.Credentials, want)
		}
	}
	if listed != 3 {
		t.Fatalf("list through QEMU: %+v", list.Credentials)
	}

	// The modem's own record agrees: the bytes went through the firmware unchanged.
	st, err := sim.ControlClient{Path: modem.control, Timeout: testTimeout}.Do(ctxT(t), sim.ControlRequest{Op: "state"})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Credentials) != 3 {
		t.Fatalf("modem holds %+v", st.Credentials)
	}
	for _, c := range st.Credentials {
		if !strings.EqualFold(c.SHA256, want[c.Type]) {
			t.Fatalf("modem holds %+v, want hashes %v", st.Credentials, want)
		}
	}
}
