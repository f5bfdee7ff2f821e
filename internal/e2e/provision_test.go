package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/at"
	"github.com/nrfprov/nrfprov/internal/sim"
	"github.com/nrfprov/nrfprov/serialio"
)

// `nrfprov provision`, run as the built binary against nrfsim boards.

type provisionReport struct {
	Plan struct {
		Items []struct {
			SecTag uint32 `json:"sec_tag"`
			Type   int    `json:"type"`
			Action string `json:"action"`
		} `json:"items"`
	} `json:"plan"`
	Results []struct {
		SecTag  uint32 `json:"sec_tag"`
		Type    int    `json:"type"`
		Action  string `json:"action"`
		Outcome string `json:"outcome"`
		Proof   string `json:"proof"`
		SHA256  string `json:"sha256"`
		Detail  string `json:"detail"`
	} `json:"results"`
	Writes     int `json:"writes"`
	Deletes    int `json:"deletes"`
	Recoveries int `json:"recoveries"`
}

// credSet writes a manifest with a CA, a client certificate and a key for sec_tag tag, plus
// extra YAML lines, and returns its path and the files' contents.
func credSet(t testing.TB, tag uint32, lineEndings, extra string) (string, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"ca.pem":     testCert(t),
		"client.pem": testCert(t),
		"key.pem":    "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgnrfprovthrowaway\n-----END PRIVATE KEY-----\n",
	}
	for name, c := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	m := fmt.Sprintf(`version: 1
line_endings: %s
credentials:
  - {sec_tag: %d, type: ROOT_CA_CERT, file: ca.pem}
  - {sec_tag: %d, type: CLIENT_CERT, file: client.pem}
  - {sec_tag: %d, type: CLIENT_KEY, file: key.pem}
%s`, lineEndings, tag, tag, tag, extra)
	path := filepath.Join(dir, "manifest.yaml")
	if err := os.WriteFile(path, []byte(m), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, files
}

func provisionJSON(t *testing.T, wantCode int, args ...string) provisionReport {
	t.Helper()
	r := runNrfprov(t, "", append(args, "--json")...)
	if r.code != wantCode {
		t.Fatalf("nrfprov %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, wantCode, r.stdout, r.stderr)
	}
	var rep provisionReport
	decode(t, r.stdout, "provision", &rep)
	return rep
}

func resetCmd(b *sim.Board) string {
	return nrfsimBin + " ctl " + sim.ControlPath(b.Config().RunDir, b.SerialNumber()) + " reset"
}

// breakBoard leaves the board as the field report describes: a root CA listed with only part of
// its bytes, and a key write that hung with the AT host inside an open quote.
func breakBoard(t *testing.T, b *sim.Board, tag uint32, ca string) {
	t.Helper()
	p, err := serialio.Open(b.VCOM0(), serialio.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	s := at.NewSession(p, at.Config{})
	ctx := ctxT(t)
	if err := s.Sync(ctx, at.SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"AT+CFUN=4", fmt.Sprintf(`AT%%CMNG=0,%d,0,"%s"`, tag, strings.TrimSpace(ca[:len(ca)/2]))} {
		if _, err := s.Exec(ctx, at.Cmd{Text: c}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SendRaw(fmt.Sprintf("AT%%CMNG=0,%d,2,\"-----BEGIN PRIVATE KEY-----\nMIG\r", tag)); err != nil {
		t.Fatal(err)
	}
	// Make sure the board took every byte before the port closes.
	for {
		st, err := b.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.RXInQuotes && st.RXQueued == 0 {
			return
		}
	}
}

// TestProvisionSeedScenarioConverges: the field report's broken board ends verified, through a
// reset, and a second run writes nothing.
func TestProvisionSeedScenarioConverges(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{SerialNumber: "000960000100"})
	m, files := credSet(t, 16842753, "lf", "prune: [16842753]\n")
	breakBoard(t, b, 16842753, files["ca.pem"])

	rep := provisionJSON(t, 0, "--port", b.VCOM0(), "provision", "--reset-cmd", resetCmd(b), "-m", m)
	if rep.Recoveries != 1 || rep.Writes != 3 || len(rep.Results) != 3 {
		t.Fatalf("first run: %+v", rep)
	}
	for _, res := range rep.Results {
		if res.Outcome != "verified" || res.Proof != "sha256" {
			t.Fatalf("first run: %+v", rep.Results)
		}
	}
	want := map[int]string{0: sha(files["ca.pem"]), 1: sha(files["client.pem"]), 2: sha(files["key.pem"])}
	for _, res := range rep.Results {
		if res.SHA256 != want[res.Type] {
			t.Fatalf("type %d verified as %s, want %s", res.Type, res.SHA256, want[res.Type])
		}
	}
	again := provisionJSON(t, 0, "--port", b.VCOM0(), "provision", "--reset-cmd", resetCmd(b), "-m", m)
	if again.Writes != 0 || again.Deletes != 0 || again.Recoveries != 0 {
		t.Fatalf("second run changed something: %+v", again)
	}
	for _, res := range again.Results {
		if res.Outcome != "kept" {
			t.Fatalf("second run: %+v", again.Results)
		}
	}
}

// TestProvisionWithoutResetClaimsNothing: with the AT host stuck inside quotes and no way to
// reset, provision stops with the named error and an exit code, and proves nothing.
func TestProvisionWithoutResetClaimsNothing(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{SerialNumber: "000960000101"})
	m, files := credSet(t, 7, "lf", "")
	breakBoard(t, b, 7, files["ca.pem"])
	r := runNrfprov(t, "", "--port", b.VCOM0(), "--modem-latency", "300ms", "provision", "-m", m)
	if r.code != 4 && r.code != 5 {
		t.Fatalf("stuck board without reset: exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "reset") || strings.Contains(r.stdout, "verified") {
		t.Fatalf("want a reset hint and no claims:\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
	}
	// A hang in the middle of the run (the modem stops answering a write): the named error.
	if err := b.Reset(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitReady(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := b.InjectFault(ctxT(t), sim.Fault{Kind: "hang", Count: 9}); err != nil {
		t.Fatal(err)
	}
	r = runNrfprov(t, "", "--port", b.VCOM0(), "--modem-latency", "300ms", "provision", "-m", m, "--json")
	if r.code != 5 || !strings.Contains(r.stderr, "cannot reset it") || strings.Contains(r.stdout, `"verified"`) {
		t.Fatalf("hang mid-run without reset: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
}

// TestProvisionKilledMidWriteConverges: nrfprov killed with SIGKILL while a write is on the
// wire; the re-run (with a reset available) ends verified.
func TestProvisionKilledMidWriteConverges(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{SerialNumber: "000960000102", Baud: 9600})
	m, _ := credSet(t, 11, "lf", "")
	before, err := b.State(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nrfprovBin, "--port", b.VCOM0(), "--baud", "9600", "provision", "-m", m)
	cmd.Env = append(os.Environ(), stateDirEnv(t), "NRFPROV_PLUGIN_LOCK="+filepath.Join(t.TempDir(), "lock"), "NRFPROV_PLUGIN_DIR=")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once the board is receiving the first certificate (a long line at 9600 baud).
	deadline := time.Now().Add(testTimeout)
	for {
		st, err := b.State(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		if st.RXInQuotes && st.RXPending > 200 && st.Stats.RxBytes > before.Stats.RxBytes {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("never saw the write on the wire; stderr:\n%s", errb.String())
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	rep := provisionJSON(t, 0, "--port", b.VCOM0(), "--baud", "9600", "provision", "--reset-cmd", resetCmd(b), "-m", m)
	for _, res := range rep.Results {
		if res.Outcome != "verified" && res.Outcome != "kept" {
			t.Fatalf("after the kill: %+v", rep.Results)
		}
	}
	if len(rep.Results) != 3 {
		t.Fatalf("results %+v", rep.Results)
	}
}

// TestProvisionPlaceholderFirmware: on mfw 0.7.0 the hashes prove nothing; the readable root CA
// is proven by read-back and kept on the second run, the key is rewritten and reported as
// unverifiable (exit 10).
func TestProvisionPlaceholderFirmware(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{SerialNumber: "000960000103", Profile: "mfw_nrf9160_0.7.0-29.alpha"})
	m, _ := credSet(t, 64738, "lf", "")
	for run := 0; run < 2; run++ {
		rep := provisionJSON(t, 10, "--port", b.VCOM0(), "provision", "-m", m)
		byType := map[int]string{}
		proof := map[int]string{}
		for _, res := range rep.Results {
			byType[res.Type] = res.Outcome
			proof[res.Type] = res.Proof
		}
		wantCA := "verified"
		if run == 1 {
			wantCA = "kept"
		}
		if byType[0] != wantCA || proof[0] != "read-back" || byType[2] != "unverifiable" || byType[1] != "unverifiable" {
			t.Fatalf("run %d: %+v", run, rep.Results)
		}
		for _, it := range rep.Plan.Items {
			if it.Type == 2 && it.Action != map[int]string{0: "write", 1: "unverifiable"}[run] {
				t.Fatalf("run %d plans the key as %q", run, it.Action)
			}
		}
	}
}

// TestProvisionLineEndingsAndPrune: the manifest's line endings decide the bytes and their
// SHA-256; prune deletes the unlisted types of pruned sec_tags only.
func TestProvisionLineEndingsAndPrune(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{SerialNumber: "000960000104"})
	p := b.VCOM0()
	// Credentials that prune must and must not touch.
	ok(t, "--port", p, "write", "21", "PSK_ID", writeFile(t, "id", "stale-identity"))
	ok(t, "--port", p, "write", "22", "PSK_ID", writeFile(t, "id2", "other-tag"))

	mLF, files := credSet(t, 21, "lf", "prune: [21]\n")
	rep := provisionJSON(t, 0, "--port", p, "provision", "-m", mLF)
	if rep.Deletes != 1 {
		t.Fatalf("prune: %+v", rep)
	}
	mCRLF, _ := credSet(t, 21, "crlf", "")
	// Same files, other line endings: rewrite the CRLF copies of the same certificates.
	for _, name := range []string{"ca.pem", "client.pem", "key.pem"} {
		if err := os.WriteFile(filepath.Join(filepath.Dir(mCRLF), name), []byte(files[name]), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	crlf := provisionJSON(t, 0, "--port", p, "provision", "-m", mCRLF)
	if crlf.Writes != 3 {
		t.Fatalf("switching to CRLF should rewrite all three: %+v", crlf)
	}
	for _, res := range crlf.Results {
		name := map[int]string{0: "ca.pem", 1: "client.pem", 2: "key.pem"}[res.Type]
		if want := sha(strings.ReplaceAll(files[name], "\n", "\r\n")); res.SHA256 != want {
			t.Fatalf("type %d: %s, want the CRLF hash %s", res.Type, res.SHA256, want)
		}
	}
	var list struct{ Credentials []jsonEntry }
	decode(t, ok(t, "--port", p, "list", "--json"), "list", &list)
	seen := map[[2]uint32]bool{}
	for _, e := range list.Credentials {
		seen[[2]uint32{e.SecTag, uint32(e.Type)}] = true
	}
	if seen[[2]uint32{21, 4}] || !seen[[2]uint32{22, 4}] || !seen[[2]uint32{4294967294, 6}] {
		t.Fatalf("after prune: %+v", list.Credentials)
	}
}

// TestProvisionBadManifestTouchesNothing: every manifest problem is reported with file:line
// before the board is opened.
func TestProvisionBadManifestTouchesNothing(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{SerialNumber: "000960000105"})
	before, err := b.State(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	m := writeFile(t, "bad.yaml", "version: 1\ncredentials:\n  - {sec_tag: 1, type: NOPE, file: x.pem}\n  - {sec_tag: 99999999999, type: 0, file: missing.pem}\nbogus: true\n")
	r := runNrfprov(t, "", "--port", b.VCOM0(), "provision", "-m", m)
	if r.code != 2 || !strings.Contains(r.stderr, "bad.yaml:3") || !strings.Contains(r.stderr, "bad.yaml:4") || !strings.Contains(r.stderr, "bad.yaml:5") {
		t.Fatalf("bad manifest: exit %d\n%s", r.code, r.stderr)
	}
	after, err := b.State(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if after.Stats.RxBytes != before.Stats.RxBytes {
		t.Fatal("a bad manifest reached the board")
	}
}
