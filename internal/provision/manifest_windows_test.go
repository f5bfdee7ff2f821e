package provision

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// On Windows a manifest names its files with backslashes, in folders with spaces, relative to
// the manifest or absolute with a drive letter.
func TestManifestWindowsPaths(t *testing.T) {
	ca, err := os.ReadFile(filepath.Join(fixtures, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "my provisioning")
	abs := filepath.Join(dir, "other certs", "root ca.pem")
	rel := filepath.Join(dir, "device certs", "ca.pem")
	for _, p := range []string{abs, rel} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, ca, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(abs, `:\`) {
		t.Fatalf("temp dir %s has no drive letter: not a Windows path", abs)
	}
	manifest := "version: 1\ncredentials:\n" +
		"  - {sec_tag: 1001, type: ROOT_CA_CERT, file: 'device certs\\ca.pem'}\n" +
		"  - {sec_tag: 1002, type: ROOT_CA_CERT, file: '" + abs + "'}\n"
	path := filepath.Join(dir, "manifest.yaml")
	if err := os.WriteFile(path, []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := Load(path, env(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(m.Credentials) != 2 {
		t.Fatalf("%d credentials, want 2", len(m.Credentials))
	}
	for _, c := range m.Credentials {
		if string(c.Content) != string(ca) {
			t.Errorf("sec_tag %d (%s): content is not the CA file", c.SecTag, c.File)
		}
	}
}
