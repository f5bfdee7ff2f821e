package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/nrfprov/nrfprov/internal/sim"
)

// bigCert is a root CA certificate of about 2 KB (many DNS names), a %CMNG long enough to take
// two seconds at 9600 bit/s.
func bigCert(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "nrfprov progress CA"},
		NotBefore: time.Unix(1700000000, 0), NotAfter: time.Unix(2000000000, 0), IsCA: true}
	for i := range 40 {
		tmpl.DNSNames = append(tmpl.DNSNames, fmt.Sprintf("device-%02d.provisioning.example.com", i))
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	if len(c) < 2000 {
		t.Fatalf("certificate of %d bytes, want about 2 KB", len(c))
	}
	return c
}

// barPercent matches a frame of the %CMNG bar and its percentage.
var barPercent = regexp.MustCompile(`%CMNG sent[^\r\n]*?\s(\d{1,3}) %`)

// runOnTerminal runs nrfprov with stdout and stderr on a real pseudo-terminal and returns
// everything it drew there.
func runOnTerminal(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ptm, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptm.Close()
	if err := pty.Setsize(ptm, &pty.Winsize{Rows: 40, Cols: 160}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, nrfprovBin, args...)
	cmd.Env = append(os.Environ(), "NRFPROV_PLUGIN_LOCK="+filepath.Join(t.TempDir(), "lock"), "NRFPROV_PLUGIN_DIR=", "NRFPROV_LOG_LEVEL=")
	cmd.Stdout, cmd.Stderr = tty, tty
	drawn := make(chan string)
	go func() { b, _ := io.ReadAll(ptm); drawn <- string(b) }()
	err = cmd.Run()
	tty.Close()
	out := <-drawn
	if ctx.Err() != nil {
		t.Fatalf("nrfprov %s did not end by itself:\n%s", strings.Join(args, " "), out)
	}
	return out, exitCode(t, err)
}

// TestProgressOnATerminal: a 2 KB write at 9600 bit/s draws a live bar (bytes of total, rate,
// time left) on a terminal; in a pipe the same write logs plain lines without terminal
// control; with --json stderr carries no progress and stdout only the JSON.
func TestProgressOnATerminal(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{Baud: 9600})
	cert := writeFile(t, "ca.pem", bigCert(t))
	args := []string{"--port", b.VCOM0(), "--baud", "9600", "write", "42", "root_ca_cert", cert}

	out, code := runOnTerminal(t, args...)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, want := range []string{"%CMNG sent", "KiB", "/s", "left", "100 %", "written and verified"} {
		if !strings.Contains(out, want) {
			t.Errorf("the terminal shows no %q:\n%q", want, out)
		}
	}
	// The bar moved while the one command went out: frames between 0 and 100 %.
	mid := 0
	for _, m := range barPercent.FindAllStringSubmatch(out, -1) {
		if p, _ := strconv.Atoi(m[1]); p > 0 && p < 100 {
			mid++
		}
	}
	if mid < 2 {
		t.Errorf("%d frames of the bar part way, want it to move during the write:\n%q", mid, out)
	}

	r := runNrfprov(t, "", args...)
	if r.code != 0 {
		t.Fatalf("pipe: exit %d\n%s", r.code, r.stderr)
	}
	if strings.Count(r.stderr, "%CMNG sent: ") != 4 || !strings.Contains(r.stderr, " B/s, ") || !strings.Contains(r.stderr, " left") || strings.Contains(r.stderr, "\x1b[") {
		t.Errorf("pipe: want plain progress lines, got:\n%q", r.stderr)
	}
	if strings.Contains(r.stdout, "%CMNG") {
		t.Errorf("pipe: progress on stdout:\n%s", r.stdout)
	}

	r = runNrfprov(t, "", append(args, "--json")...)
	if r.code != 0 {
		t.Fatalf("--json: exit %d\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "%CMNG") || strings.Contains(r.stdout, "%CMNG sent") {
		t.Errorf("--json: progress shown:\nstdout %s\nstderr %s", r.stdout, r.stderr)
	}
	var wr jsonEntry
	decode(t, r.stdout, "write", &wr)
}
