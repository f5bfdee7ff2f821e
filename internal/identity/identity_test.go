package identity

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/cmng"
	"github.com/nrfprov/nrfprov/internal/testsupport"
)

var now = time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)

func newCA(t *testing.T, cn string) (*x509.Certificate, *ecdsa.PrivateKey, []byte) {
	t.Helper()
	ca := testsupport.CA(t, cn, now.AddDate(-1, 0, 0), now.AddDate(5, 0, 0))
	return ca.Cert, ca.Key, ca.KeyPEM
}

// modemCSR plays the modem's %KEYGEN: a key and a CSR for it.
func modemCSR(t *testing.T) ([]byte, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "x"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der, key
}

func TestSignChainsAndCarriesTheModemKey(t *testing.T) {
	ca, caKey, _ := newCA(t, "test CA")
	subj, err := ParseSubject("O=Acme, OU=Lab")
	if err != nil {
		t.Fatal(err)
	}
	spec := &Spec{SecTag: 7, CA: ca, CAKey: caKey, CAKeySrc: "file ca.key", Days: 30, Subject: subj}
	csr, modemKey := modemCSR(t)
	certPEM, err := Sign(spec, csr, "nrf-352656100000001", now)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := PublicKeySHA256(&modemKey.PublicKey)
	c, err := CheckCert(spec, certPEM, pub, now)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject.CommonName != "nrf-352656100000001" || c.Subject.Organization[0] != "Acme" || !c.NotAfter.Equal(now.AddDate(0, 0, 30)) {
		t.Fatalf("certificate: %v until %v", c.Subject, c.NotAfter)
	}
	if _, err := CheckCert(spec, certPEM, pub, now.AddDate(0, 0, 31)); err == nil {
		t.Fatal("an expired certificate passed")
	}
	other, _ := modemCSR(t)
	otherKey, _ := x509.ParseCertificateRequest(other)
	otherPub, _ := PublicKeySHA256(otherKey.PublicKey)
	if _, err := CheckCert(spec, certPEM, otherPub, now); err == nil || !strings.Contains(err.Error(), "not the one the modem generated") {
		t.Fatalf("another key: %v", err)
	}
	ca2, caKey2, _ := newCA(t, "other CA")
	if _, err := CheckCert(&Spec{CA: ca2, CAKey: caKey2}, certPEM, pub, now); err == nil || !strings.Contains(err.Error(), "does not chain") {
		t.Fatalf("another CA: %v", err)
	}
	// A CSR whose signature is broken is not signed.
	bad := append([]byte{}, csr...)
	bad[len(bad)-3] ^= 1
	if _, err := Sign(spec, bad, "x", now); err == nil {
		t.Fatal("a broken CSR was signed")
	}
}

func TestParseCAKeyNeverShowsTheKey(t *testing.T) {
	ca, _, keyPEM := newCA(t, "test CA")
	if _, err := ParseCAKey(keyPEM, ca); err != nil {
		t.Fatal(err)
	}
	other, _, _ := newCA(t, "other")
	body := strings.Split(string(keyPEM), "\n")[1]
	for name, c := range map[string]struct {
		data []byte
		ca   *x509.Certificate
		want string
	}{
		"other CA":  {keyPEM, other, "not the CA certificate's key"},
		"not PEM":   {[]byte("garbage " + body), ca, "no PEM private key"},
		"encrypted": {[]byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\n" + body + "\n-----END ENCRYPTED PRIVATE KEY-----\n"), ca, "encrypted"},
		"damaged":   {[]byte("-----BEGIN PRIVATE KEY-----\n" + body[:40] + "\n-----END PRIVATE KEY-----\n"), ca, "does not parse"},
	} {
		_, err := ParseCAKey(c.data, c.ca)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), body[:20]) {
			t.Errorf("%s: %v, want %q and no key material", name, err, c.want)
		}
	}
}

func TestParseSubject(t *testing.T) {
	for in, want := range map[string]string{
		"O=Acme":        "",
		"":              "",
		"CN=dev":        "must not set CN",
		"X=1":           "use C, ST, L, O or OU",
		"O":             "not KEY=value",
		`O=a"b`:         "quote",
		"O=Acme,OU=Lab": "",
	} {
		_, err := ParseSubject(in)
		if (want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
	s := &Spec{IDSource: FromIMEI, Prefix: "nrf-"}
	s.Subject, _ = ParseSubject("O=Acme,OU=Lab")
	if got := s.KeygenAttributes("352656100000001"); got != "O=Acme,OU=Lab,CN=nrf-352656100000001" {
		t.Fatalf("keygen attributes %q", got)
	}
	s.IDSource = FromUUID
	if got := s.KeygenAttributes("352656100000001"); got != "O=Acme,OU=Lab" {
		t.Fatalf("keygen attributes with the UUID %q", got)
	}
}

// TestDecide is the identity plan's table: keep only with the recorded key, the recorded
// certificate in the modem, and a chain to the CA.
func TestDecide(t *testing.T) {
	ca, caKey, _ := newCA(t, "test CA")
	spec := &Spec{SecTag: 7, CA: ca, CAKey: caKey, Days: 30, IDSource: FromIMEI, Prefix: "nrf-"}
	csr, modemKey := modemCSR(t)
	certPEM, err := Sign(spec, csr, "nrf-1", now)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := PublicKeySHA256(&modemKey.PublicKey)
	rec := &Record{IMEI: "1", SecTag: 7, DeviceID: "nrf-1", KeySHA256: "KEY", PublicKeySHA256: pub, CertPEM: string(certPEM), CASHA256: CASHA256(spec)}
	certSHA := cmng.SHA256Hex(certPEM)
	entry := func(typ cmng.Type, sha string) cmng.Entry {
		return cmng.Entry{SecTag: 7, Type: typ, SHA256: sha, Hash: cmng.HashReal}
	}
	both := []cmng.Entry{entry(cmng.ClientCert, certSHA), entry(cmng.ClientKey, "KEY")}
	otherCA, otherKey, _ := newCA(t, "other")
	for _, c := range []struct {
		name    string
		spec    *Spec
		entries []cmng.Entry
		rec     *Record
		real    bool
		at      time.Time
		want    Action
	}{
		{"everything matches", spec, both, rec, true, now, ActionKeep},
		{"no record", spec, both, nil, true, now, ActionGenerate},
		{"placeholder hashes", spec, both, rec, false, now, ActionGenerate},
		{"no key", spec, both[:1], rec, true, now, ActionGenerate},
		{"another key", spec, []cmng.Entry{entry(cmng.ClientCert, certSHA), entry(cmng.ClientKey, "OTHER")}, rec, true, now, ActionGenerate},
		{"no certificate", spec, both[1:], rec, true, now, ActionWriteCert},
		{"another certificate", spec, []cmng.Entry{entry(cmng.ClientCert, "X"), entry(cmng.ClientKey, "KEY")}, rec, true, now, ActionWriteCert},
		{"another CA", &Spec{SecTag: 7, CA: otherCA, CAKey: otherKey, IDSource: FromIMEI, Prefix: "nrf-"}, both, rec, true, now, ActionSign},
		{"expired", spec, both, rec, true, now.AddDate(0, 0, 40), ActionSign},
		{"another device ID", &Spec{SecTag: 7, CA: ca, CAKey: caKey, IDSource: FromIMEI, Prefix: "dev-"}, both, rec, true, now, ActionSign},
	} {
		d := Decide(c.spec, Observed{IMEI: "1", Entries: c.entries, RealHashes: c.real, CertStoredSHA256: certSHA}, c.rec, c.at)
		if d.Action != c.want || d.Reason == "" {
			t.Errorf("%s: %s (%s), want %s", c.name, d.Action, d.Reason, c.want)
		}
	}
}

func TestRecordRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	if r, err := LoadRecord(dir, "1", 7); r != nil || err != nil {
		t.Fatalf("no record: %v %v", r, err)
	}
	rec := &Record{IMEI: "1", SecTag: 7, DeviceID: "nrf-1", CertPEM: "CERT"}
	if err := rec.Save(dir); err != nil {
		t.Fatal(err)
	}
	got, err := LoadRecord(dir, "1", 7)
	if err != nil || got.DeviceID != "nrf-1" || got.Version != recordVersion {
		t.Fatalf("%+v %v", got, err)
	}
	if b, _ := os.ReadFile(CertPath(dir, "nrf-1")); string(b) != "CERT" {
		t.Fatalf("certificate file %q", b)
	}
	os.WriteFile(RecordPath(dir, "1", 7), []byte("{"), 0o644)
	if _, err := LoadRecord(dir, "1", 7); err == nil || !strings.Contains(err.Error(), "move it away") {
		t.Fatalf("corrupt record: %v", err)
	}
}

// TestOnboardingCSV: nrfcloud-utils' columns, no header, one row per device; an identical row
// leaves the file alone, a changed one replaces it, others are kept.
func TestOnboardingCSV(t *testing.T) {
	path := filepath.Join(t.TempDir(), "onboard.csv")
	cert := "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	a := OnboardingRow{DeviceID: "nrf-1", FWTypes: "APP|MODEM", CertPEM: cert}
	if ch, err := UpsertOnboarding(path, a); !ch || err != nil {
		t.Fatalf("first: %v %v", ch, err)
	}
	data, _ := os.ReadFile(path)
	if string(data) != "nrf-1,,,APP|MODEM,\""+cert+"\"\n" {
		t.Fatalf("file %q", data)
	}
	st1, _ := os.Stat(path)
	if ch, err := UpsertOnboarding(path, a); ch || err != nil {
		t.Fatalf("same row: %v %v", ch, err)
	}
	if st2, _ := os.Stat(path); !st2.ModTime().Equal(st1.ModTime()) {
		t.Fatal("the same row rewrote the file")
	}
	b := OnboardingRow{DeviceID: "nrf-2", Tags: "x|y", CertPEM: cert}
	UpsertOnboarding(path, b)
	a.Tags = "new"
	if ch, _ := UpsertOnboarding(path, a); !ch || !OnboardingHas(path, a) || !OnboardingHas(path, b) {
		t.Fatal("replace one row, keep the other")
	}
	data, _ = os.ReadFile(path)
	if strings.Count(string(data), "nrf-1,") != 1 || strings.Index(string(data), "nrf-1") > strings.Index(string(data), "nrf-2") {
		t.Fatalf("rows %q", data)
	}
}
