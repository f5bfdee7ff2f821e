package provision

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/cmng"
	"github.com/nrfprov/nrfprov/internal/identity"
	"github.com/nrfprov/nrfprov/internal/testsupport"
)

// identityDir writes a CA (ca.pem, ca.key), another key (other.key) and a root (root.pem).
func identityDir(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	ca := testsupport.CA(t, "ca", time.Now(), time.Now().AddDate(1, 0, 0))
	other := testsupport.CA(t, "ca", time.Now(), time.Now().AddDate(1, 0, 0))
	for name, data := range map[string][]byte{"ca.pem": ca.CertPEM, "ca.key": ca.KeyPEM, "other.key": other.KeyPEM, "root.pem": other.CertPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir, strings.Split(string(ca.KeyPEM), "\n")[1]
}

func TestManifestIdentity(t *testing.T) {
	dir, _ := identityDir(t)
	path := filepath.Join(dir, "m.yaml")
	m, err := Parse(path, []byte(`version: 1
identity:
  sec_tag: 16842753
  device_id: IMEI
  device_id_prefix: nrf-
  client_cert:
    sign_with: {ca: ca.pem, ca_key: ca.key}
    subject: "O=Acme"
  root_ca: root.pem
  onboarding: out/onboard.csv
credentials:
  - {sec_tag: 5, type: ROOT_CA_CERT, file: root.pem}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := m.Identity
	if s == nil || s.SecTag != 16842753 || s.IDSource != identity.FromIMEI || s.Prefix != "nrf-" || s.Days != 3650 ||
		s.FWTypes != "APP|MODEM" || s.Onboarding != filepath.Join(dir, "out/onboard.csv") || s.Dir != filepath.Join(dir, "identity") ||
		s.CA == nil || s.CAKey == nil || s.Subject.Organization[0] != "Acme" {
		t.Fatalf("identity spec: %+v", s)
	}
	if len(m.Credentials) != 2 || m.Credentials[1].SecTag != 16842753 || m.Credentials[1].Type != cmng.RootCACert {
		t.Fatalf("the identity's root CA is not a credential: %+v", m.Credentials)
	}
	only := m.IdentityOnly()
	if len(only.Credentials) != 1 || only.Credentials[0].SecTag != 16842753 || only.Identity != s {
		t.Fatalf("identity only: %+v", only.Credentials)
	}
}

func TestManifestIdentityProblems(t *testing.T) {
	dir, keyBody := identityDir(t)
	base := "version: 1\nidentity:\n  sec_tag: 7\n  client_cert:\n    sign_with: {ca: ca.pem, ca_key: ca.key}\n"
	for name, c := range map[string]struct{ yaml, want string }{
		"no sec_tag":    {"version: 1\nidentity:\n  client_cert: {sign_with: {ca: ca.pem, ca_key: ca.key}}\n", "identity.sec_tag is missing"},
		"reserved tag":  {strings.Replace(base, "7", "4294967293", 1), "reserved for the modem"},
		"no client":     {"version: 1\nidentity:\n  sec_tag: 7\n", "identity.client_cert is missing"},
		"no ca_key":     {"version: 1\nidentity:\n  sec_tag: 7\n  client_cert: {sign_with: {ca: ca.pem}}\n", "ca_key is missing"},
		"wrong key":     {strings.Replace(base, "ca_key: ca.key", "ca_key: other.key", 1), "is not the CA certificate's key"},
		"missing ca":    {strings.Replace(base, "ca: ca.pem", "ca: nope.pem", 1), "nope.pem does not exist"},
		"bad id":        {base + "  device_id: serial\n", `device_id "serial": use imei or uuid`},
		"CN in subject": {strings.Replace(base, "sign_with", "subject: CN=x\n    sign_with", 1), "must not set CN"},
		"bad days":      {strings.Replace(base, "sign_with", "days: 0\n    sign_with", 1), "days must be a number"},
		"typo":          {base + "  device-id: imei\n", "did you mean device_id"},
		"clash":         {base + "credentials:\n  - {sec_tag: 7, type: CLIENT_CERT, file: root.pem}\n", "also the identity's"},
		"pruned":        {base + "prune: [7]\n", "both pruned and the identity's"},
		"two roots":     {base + "  root_ca: root.pem\ncredentials:\n  - {sec_tag: 7, type: ROOT_CA_CERT, file: root.pem}\n", "keep one"},
	} {
		_, err := Parse(filepath.Join(dir, "m.yaml"), []byte(c.yaml), nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
			continue
		}
		if strings.Contains(err.Error(), keyBody[:24]) {
			t.Errorf("%s: the CA key shows in the error", name)
		}
	}
}
