package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nrfprov/nrfprov/internal/sim"
)

// TestSecretsNeverLeakFromAnyVerb runs every verb that touches a board, with wire tracing,
// trace-level logs and JSON, on boards holding a private key and a PSK, through success and
// failure (a write that hangs, a refused write, several boards at once), and fails if any 16
// bytes in a row of the key or the PSK appear in anything nrfprov printed.
func TestSecretsNeverLeakFromAnyVerb(t *testing.T) {
	t.Parallel()
	run := t.TempDir()
	b := startBoard(t, sim.BoardConfig{RunDir: run, SerialNumber: "000960000401"})
	b2 := startBoard(t, sim.BoardConfig{RunDir: run, SerialNumber: "000960000402"})
	env := sysfsEnv(run)

	pskRaw := make([]byte, 32)
	if _, err := rand.Read(pskRaw); err != nil {
		t.Fatal(err)
	}
	psk := hex.EncodeToString(pskRaw)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	dir := t.TempDir()
	pskFile, keyFile := writeFile(t, "psk.hex", psk), writeFile(t, "key.pem", keyPEM)
	ca := writeFile(t, "ca.pem", testCert(t))
	m := filepath.Join(dir, "manifest.yaml")
	writeAt(t, m, fmt.Sprintf(`version: 1
credentials:
  - {sec_tag: 5, type: ROOT_CA_CERT, file: %s}
  - {sec_tag: 5, type: CLIENT_KEY, file: %s}
  - {sec_tag: 6, type: PSK, file: %s}
  - {sec_tag: 6, type: PSK_ID, env: NRFPROV_TEST_ID}
`, ca, keyFile, pskFile))
	env = append(env, "NRFPROV_TEST_ID=device-1")

	flags := []string{"--trace-wire", "--log-level", "trace", "--json"}
	one := []string{"--board", "960000401"}
	var all strings.Builder
	do := func(wantCode int, args ...string) {
		t.Helper()
		r := runNrfprovEnv(t, env, "", append(append(append([]string{}, one...), flags...), args...)...)
		if wantCode >= 0 && r.code != wantCode {
			t.Fatalf("%v: exit %d, want %d\n%s", args, r.code, wantCode, r.stderr)
		}
		all.WriteString(r.stdout + r.stderr)
	}
	do(0, "info")
	do(0, "write", "8", "PSK", pskFile)
	do(0, "write", "8", "CLIENT_KEY", keyFile)
	do(0, "list")
	do(0, "list", "8")
	do(2, "read", "8", "PSK")
	do(0, "imei")
	do(0, "attoken")
	do(0, "generate", "9")
	do(0, "plan", "-m", m)
	do(0, "provision", "-m", m)
	do(0, "delete", "8", "PSK")
	do(0, "deleteall", "--yes")
	// Failures: a modem that refuses the key, a key write that hangs with no way to reset.
	do(0, "write", "10", "PSK_ID", writeFile(t, "id", "device-1"))
	inject(t, b, sim.Fault{Kind: "store_capacity", Count: 1})
	do(6, "write", "10", "CLIENT_KEY", keyFile)
	do(6, "provision", "-m", m)
	if err := b.ClearFaults(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	inject(t, b, sim.Fault{Kind: "hang", Count: 6})
	do(5, "--modem-latency", "300ms", "write", "11", "PSK", pskFile)
	if err := b.Reset(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitReady(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	// Several boards at once, text and JSON.
	one = nil
	do(0, "provision", "-m", m, "--all")
	flags = []string{"--trace-wire", "--log-level", "debug"}
	do(0, "--board", "960000401", "--board", "960000402", "provision", "-m", m)
	do(0, "--board", "960000402", "write", "12", "PSK", pskFile)
	_ = b2

	out := all.String()
	if !strings.Contains(out, "wire ") || !strings.Contains(out, "level=debug") {
		t.Fatal("no wire trace or debug log was printed: the test would prove nothing")
	}
	// What two independent P-256 keys have in common in PKCS#8 PEM (the header, the ASN.1
	// structure and algorithm identifiers, which every CSR and public key also carries) is not
	// secret; every other window of the key is.
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherDER, err := x509.MarshalPKCS8PrivateKey(other)
	if err != nil {
		t.Fatal(err)
	}
	structure := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: otherDER}))
	checked := 0
	for name, secret := range map[string]string{"PSK": psk, "key": keyPEM} {
		for i := 0; i+16 <= len(secret); i++ {
			if strings.Contains(structure, secret[i:i+16]) {
				continue
			}
			checked++
			if strings.Contains(out, secret[i:i+16]) {
				j := strings.Index(out, secret[i:i+16])
				t.Fatalf("the output contains 16 bytes of the %s: %q in %q", name, secret[i:i+16], out[max(0, j-300):min(len(out), j+100)])
			}
		}
	}
	if checked < 100 {
		t.Fatalf("only %d secret windows checked", checked)
	}
	if !strings.Contains(out, sha(psk)) {
		t.Fatal("the PSK's SHA-256 is not shown anywhere: did the write happen?")
	}
}

func writeAt(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
