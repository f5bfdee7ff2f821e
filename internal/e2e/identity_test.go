package e2e

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/csv"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/sim"
	"github.com/nrfprov/nrfprov/internal/testsupport"
)

// throwawayCA makes a CA certificate and its key in dir (ca.pem, ca.key) for one test.
func throwawayCA(t *testing.T, dir string) (*x509.Certificate, string, string) {
	t.Helper()
	ca := testsupport.CA(t, "nrfprov throwaway test CA", time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	caPath, keyPath := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca.key")
	if err := os.WriteFile(caPath, ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, ca.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return ca.Cert, caPath, string(ca.KeyPEM)
}

// modemKey reads the private key the virtual modem generated for (tag, CLIENT_KEY) out of the
// board's state file: the test's independent view of the key that never left the modem.
func modemKey(t *testing.T, stateFile string, tag uint32) *ecdsa.PublicKey {
	t.Helper()
	data, err := os.ReadFile(stateFile)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Credentials []struct {
			Tag     uint32 `json:"sec_tag"`
			Type    int    `json:"type"`
			Content []byte `json:"content"`
		} `json:"credentials"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	for _, c := range f.Credentials {
		if c.Tag != tag || c.Type != 2 {
			continue
		}
		b, _ := pem.Decode(c.Content)
		if b == nil {
			t.Fatal("the modem's key is not PEM")
		}
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return &k.(*ecdsa.PrivateKey).PublicKey
	}
	t.Fatalf("the modem holds no CLIENT_KEY in %d", tag)
	return nil
}

type identityReport struct {
	Writes    int `json:"writes"`
	Generated int `json:"keys_generated"`
	Plan      struct {
		Identity struct {
			Action   string `json:"action"`
			Reason   string `json:"reason"`
			DeviceID string `json:"device_id"`
		} `json:"identity"`
	} `json:"plan"`
	Identity struct {
		Action            string `json:"action"`
		Outcome           string `json:"outcome"`
		Proof             string `json:"proof"`
		DeviceID          string `json:"device_id"`
		CertSHA256        string `json:"client_cert_sha256"`
		CertFile          string `json:"cert_file"`
		OnboardingWritten bool   `json:"onboarding_written"`
	} `json:"identity"`
	Results []struct {
		SecTag  uint32 `json:"sec_tag"`
		Type    int    `json:"type"`
		Outcome string `json:"outcome"`
	} `json:"results"`
}

// TestIdentityEndToEnd: one command leaves a client certificate signed by a throwaway CA whose
// public key is the key the modem generated, verified by SHA-256, the server root beside it, and
// the onboarding row; the dry run before touches nothing and the re-run writes nothing.
func TestIdentityEndToEnd(t *testing.T) {
	t.Parallel()
	const tag = 16842753
	dir, state := t.TempDir(), t.TempDir()
	b := startBoard(t, sim.BoardConfig{SerialNumber: "000960001701", StateDir: state})
	stateFile := filepath.Join(state, "000960001701.json")
	ca, _, caKeyPEM := throwawayCA(t, dir)
	root := testCert(t)
	if err := os.WriteFile(filepath.Join(dir, "root.pem"), []byte(root), 0o644); err != nil {
		t.Fatal(err)
	}
	m := filepath.Join(dir, "identity.yaml")
	if err := os.WriteFile(m, []byte(fmt.Sprintf(`version: 1
identity:
  sec_tag: %d
  device_id: imei
  device_id_prefix: nrf-
  client_cert:
    sign_with: {ca: ca.pem, ca_key: ca.key}
    days: 30
    subject: "O=nrfprov e2e"
  root_ca: root.pem
  out: out
  onboarding: onboard.csv
  tags: "bench"
`, tag)), 0o644); err != nil {
		t.Fatal(err)
	}
	args := func(a ...string) []string { return append([]string{"--port", b.VCOM0()}, a...) }
	imei := strings.TrimSpace(ok(t, args("imei")...))

	before, _ := os.ReadFile(stateFile)
	var plan identityReport
	decode(t, ok(t, args("identity", "-m", m, "--dry-run", "--json")...), "identity", &plan)
	if plan.Plan.Identity.Action != "generate+sign" || plan.Plan.Identity.DeviceID != "nrf-"+imei {
		t.Fatalf("dry-run plan: %+v", plan.Plan.Identity)
	}
	if after, _ := os.ReadFile(stateFile); string(after) != string(before) {
		t.Fatal("the dry run changed the modem")
	}

	r := runNrfprov(t, "", args("identity", "-m", m, "--json")...)
	if r.code != 0 {
		t.Fatalf("identity: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var rep identityReport
	decode(t, r.stdout, "identity", &rep)
	if rep.Generated != 1 || rep.Identity.Outcome != "verified" || rep.Identity.Proof != "sha256" || rep.Identity.DeviceID != "nrf-"+imei {
		t.Fatalf("report: %+v", rep)
	}
	if strings.Contains(r.stdout+r.stderr, strings.TrimSpace(strings.Split(caKeyPEM, "\n")[1])) {
		t.Fatal("the CA key shows in the output")
	}

	// The certificate: signed by the CA, for the modem's key, stored byte for byte.
	certPEM, err := os.ReadFile(rep.Identity.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("the client certificate does not chain to the CA: %v", err)
	}
	if !modemKey(t, stateFile, tag).Equal(cert.PublicKey) {
		t.Fatal("the certificate's public key is not the key the modem generated")
	}
	if cert.Subject.CommonName != "nrf-"+imei || len(cert.Subject.Organization) != 1 || cert.Subject.Organization[0] != "nrfprov e2e" {
		t.Fatalf("subject %v", cert.Subject)
	}
	st, err := b.State(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	held := map[int]string{}
	for _, c := range st.Credentials {
		if c.SecTag == tag {
			held[c.Type] = c.SHA256
		}
	}
	if held[1] != sha(string(certPEM)) || held[1] != rep.Identity.CertSHA256 || held[0] != sha(root) || held[2] == "" {
		t.Fatalf("modem holds %v; cert %s root %s", held, sha(string(certPEM)), sha(root))
	}

	// The onboarding row, in nrfcloud-utils' columns.
	f, err := os.Open(filepath.Join(dir, "onboard.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || len(rows[0]) != 5 || rows[0][0] != "nrf-"+imei || rows[0][2] != "bench" || rows[0][3] != "APP|MODEM" || rows[0][4] != string(certPEM) {
		t.Fatalf("onboarding rows: %q", rows)
	}
	csvBefore, _ := os.ReadFile(filepath.Join(dir, "onboard.csv"))

	// The re-run proves the identity and writes nothing: not to the modem, not to the file.
	before, _ = os.ReadFile(stateFile)
	var again identityReport
	decode(t, ok(t, args("identity", "-m", m, "--json")...), "identity", &again)
	if again.Writes != 0 || again.Generated != 0 || again.Identity.Action != "keep" || again.Identity.Outcome != "kept" || again.Identity.OnboardingWritten {
		t.Fatalf("re-run: %+v", again)
	}
	if after, _ := os.ReadFile(stateFile); string(after) != string(before) {
		t.Fatal("the re-run changed the modem")
	}
	if csvAfter, _ := os.ReadFile(filepath.Join(dir, "onboard.csv")); string(csvAfter) != string(csvBefore) {
		t.Fatal("the re-run changed the onboarding file")
	}

	// A key replaced behind nrfprov's back (a fresh %KEYGEN elsewhere) is not the recorded one:
	// the plan is to generate and sign again.
	ok(t, args("delete", fmt.Sprint(tag), "CLIENT_KEY")...)
	ok(t, args("generate", fmt.Sprint(tag), "--out", filepath.Join(dir, "other.csr"))...)
	var replan identityReport
	decode(t, ok(t, args("plan", "-m", m, "--json")...), "plan", &replan)
	if replan.Plan.Identity.Action != "generate+sign" || !strings.Contains(replan.Plan.Identity.Reason, "not the one") {
		t.Fatalf("plan after the key changed: %+v", replan.Plan.Identity)
	}
}

// TestIdentityThroughTheShell: through the Modem Shell the modem stores the certificate with
// CR LF line breaks; the identity is still proven (by the stored form's SHA-256), with the device
// ID from the UUID, on nRF91x1 firmware that validates certificate PEM, and the re-run keeps it.
func TestIdentityThroughTheShell(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b := startBoard(t, sim.BoardConfig{SerialNumber: "000960001705", Personality: sim.ModemShell, Profile: "mfw_nrf91x1_2.0.x"})
	throwawayCA(t, dir)
	m := filepath.Join(dir, "identity.yaml")
	if err := os.WriteFile(m, []byte("version: 1\nidentity:\n  sec_tag: 7\n  client_cert: {sign_with: {ca: ca.pem, ca_key: ca.key}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := func(a ...string) []string { return append([]string{"--port", b.VCOM0()}, a...) }
	var rep identityReport
	decode(t, ok(t, args("identity", "-m", m, "--json")...), "identity", &rep)
	if rep.Identity.Outcome != "verified" || len(rep.Identity.DeviceID) != 36 {
		t.Fatalf("first run: %+v", rep.Identity)
	}
	certPEM, err := os.ReadFile(rep.Identity.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	stored := strings.ReplaceAll(string(certPEM), "\n", "\r\n")
	if rep.Identity.CertSHA256 != sha(stored) {
		t.Fatalf("certificate SHA-256 %s, want the CR LF form's %s", rep.Identity.CertSHA256, sha(stored))
	}
	decode(t, ok(t, args("identity", "-m", m, "--json")...), "identity", &rep)
	if rep.Writes != 0 || rep.Generated != 0 || rep.Identity.Outcome != "kept" {
		t.Fatalf("re-run: %+v", rep)
	}
}
