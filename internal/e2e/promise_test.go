package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nrfprov/nrfprov/internal/sim"
)

// The core promise on every path (issue 15): the modem holds exactly the manifest's bytes, and
// the board is left as it was found.

// TestShellDialectStoresExactBytes: through Modem Shell every line break is stored as CR LF. A
// manifest whose bytes have LF line breaks is refused before anything reaches the board, naming
// the manifest line and the setting that makes it consistent; with line_endings: crlf the plan's
// hash is the hash of the manifest's bytes, and that is what the modem holds.
func TestShellDialectStoresExactBytes(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{Personality: sim.ModemShell, SerialNumber: "000960001501"})
	path, _ := credSet(t, 1501, "lf", "")
	r := runNrfprov(t, "", "--port", b.VCOM0(), "provision", "-m", path)
	if r.code != 2 {
		t.Fatalf("LF manifest through the shell: exit %d, want 2\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{path + ":4 (line endings lf)", "LF line break", "line_endings: crlf", "nothing was sent"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if st, err := b.State(ctxT(t)); err != nil || len(st.Credentials) != 0 || st.CFUN != 0 {
		t.Fatalf("a refused manifest reached the board: %+v, %v", st, err)
	}

	path, files := credSet(t, 1501, "crlf", "")
	rep := provisionJSON(t, 0, "--port", b.VCOM0(), "provision", "-m", path)
	want := map[int]string{}
	for typ, name := range map[int]string{0: "ca.pem", 1: "client.pem", 2: "key.pem"} {
		want[typ] = sha(strings.ReplaceAll(files[name], "\n", "\r\n"))
	}
	st, err := b.State(ctxT(t))
	if err != nil || len(st.Credentials) != 3 {
		t.Fatalf("board: %+v, %v", st, err)
	}
	for _, c := range st.Credentials {
		if c.SHA256 != want[c.Type] {
			t.Errorf("type %d: the modem holds %s, the manifest's bytes hash to %s", c.Type, c.SHA256, want[c.Type])
		}
	}
	for _, res := range rep.Results {
		if res.SHA256 != want[res.Type] || res.Outcome != "verified" {
			t.Errorf("report: %+v, want verified %s", res, want[res.Type])
		}
	}
}

// writeManifest writes a manifest file next to its credential files.
func writeManifest(t *testing.T, dir, text string) string {
	t.Helper()
	p := filepath.Join(dir, "manifest.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
