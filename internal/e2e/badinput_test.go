package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nrfprov/nrfprov/internal/sim"
)

// TestProvisionBadManifestsNeverReachTheBoard: every kind of bad manifest is refused with the
// manifest's file:line and exit 2 before nrfprov opens the board: the board receives no byte.
func TestProvisionBadManifestsNeverReachTheBoard(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{SerialNumber: "000960000501"})
	before, err := b.State(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	cert := testCert(t)
	for _, c := range []struct {
		name  string
		files map[string]string
		cred  string // the credential line (line 3 of the manifest)
		extra string // more manifest lines (from line 4)
		line  int    // the line the error must point at
		msg   string
	}{
		{"schema_unknown_key", map[string]string{"ca.pem": cert}, "{sec_tag: 1, type: ROOT_CA_CERT, file: ca.pem}", "colour: blue\n", 4, "colour"},
		{"schema_yaml_syntax", map[string]string{"ca.pem": cert}, "{sec_tag: 1, type: ROOT_CA_CERT, file: ca.pem", "", 3, ""},
		{"schema_missing_source", nil, "{sec_tag: 1, type: ROOT_CA_CERT}", "", 3, ""},
		{"quote_in_content", map[string]string{"id.txt": `dev"ice`}, "{sec_tag: 1, type: PSK_ID, file: id.txt}", "", 3, "quote"},
		{"non_ascii_content", map[string]string{"id.txt": "gerät-1"}, "{sec_tag: 1, type: PSK_ID, file: id.txt}", "", 3, "ASCII"},
		{"oversize_command", map[string]string{"ca.pem": strings.Repeat(cert, 10)}, "{sec_tag: 1, type: ROOT_CA_CERT, file: ca.pem}", "", 3, "limit"},
		{"reserved_sec_tag", map[string]string{"ca.pem": cert}, "{sec_tag: 2147483648, type: ROOT_CA_CERT, file: ca.pem}", "", 3, "reserved"},
		{"out_of_range_sec_tag", map[string]string{"ca.pem": cert}, "{sec_tag: 4294967296, type: ROOT_CA_CERT, file: ca.pem}", "", 3, "sec_tag"},
		{"negative_sec_tag", map[string]string{"ca.pem": cert}, "{sec_tag: -1, type: ROOT_CA_CERT, file: ca.pem}", "", 3, "sec_tag"},
		{"unknown_type", map[string]string{"ca.pem": cert}, "{sec_tag: 1, type: FANCY_CERT, file: ca.pem}", "", 3, "FANCY_CERT"},
		{"modem_type", map[string]string{"ca.pem": cert}, "{sec_tag: 1, type: NORDIC_ID_ROOT_CA, file: ca.pem}", "", 3, ""},
		{"unreadable_file", map[string]string{"ca.pem/x": cert}, "{sec_tag: 1, type: ROOT_CA_CERT, file: ca.pem}", "", 3, "ca.pem"},
		{"missing_file", nil, "{sec_tag: 1, type: ROOT_CA_CERT, file: nowhere.pem}", "", 3, "nowhere.pem"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range c.files {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			m := filepath.Join(dir, "manifest.yaml")
			if err := os.WriteFile(m, []byte("version: 1\ncredentials:\n  - "+c.cred+"\n"+c.extra), 0o600); err != nil {
				t.Fatal(err)
			}
			r := runNrfprov(t, "", "--port", b.VCOM0(), "provision", "-m", m)
			where := fmt.Sprintf("manifest.yaml:%d", c.line)
			if r.code != 2 || !strings.Contains(r.stderr, where) || !strings.Contains(r.stderr, c.msg) {
				t.Fatalf("exit %d, want 2 and %q and %q in:\n%s", r.code, where, c.msg, r.stderr)
			}
		})
	}
	after, err := b.State(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if after.Stats.RxBytes != before.Stats.RxBytes {
		t.Fatalf("bad manifests put %d bytes on the board's line", after.Stats.RxBytes-before.Stats.RxBytes)
	}
}
