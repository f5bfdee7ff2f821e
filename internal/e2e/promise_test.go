package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/at"
	"github.com/nrfprov/nrfprov/internal/sim"
	"github.com/nrfprov/nrfprov/serialio"
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

// stateDirs gives each test its own nrfprov state directory (the CFUN journal), shared by the
// runs of that test and no other.
var stateDirs sync.Map // testing.TB -> string

func stateDir(t testing.TB) string {
	if d, ok := stateDirs.Load(t); ok {
		return d.(string)
	}
	d := t.TempDir()
	stateDirs.Store(t, d)
	t.Cleanup(func() { stateDirs.Delete(t) })
	return d
}

func stateDirEnv(t testing.TB) string { return "NRFPROV_STATE_DIR=" + stateDir(t) }

// setCFUN sets the board's functional mode through its own link, as the application would.
func setCFUN(t *testing.T, b *sim.Board, fun string) {
	t.Helper()
	p, err := serialio.Open(b.VCOM0(), serialio.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	s := at.NewSession(p, at.Config{})
	if err := s.Sync(ctxT(t), at.SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Exec(ctxT(t), at.Cmd{Text: "AT+CFUN=" + fun}); err != nil {
		t.Fatal(err)
	}
}

func boardCFUN(t *testing.T, b *sim.Board) int {
	t.Helper()
	st, err := b.State(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	return st.CFUN
}

// journaled returns the CFUN journal entries in the test's state directory.
func journaled(t *testing.T) map[string]int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(stateDir(t), "cfun-*.json"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, f := range files {
		var e struct {
			IMEI string `json:"imei"`
			CFUN int    `json:"cfun"`
		}
		data, err := os.ReadFile(f)
		if err != nil || json.Unmarshal(data, &e) != nil {
			t.Fatalf("journal %s: %v %s", f, err, data)
		}
		out[e.IMEI] = e.CFUN
	}
	return out
}

// onlyCFUN: the journal holds one board, journaled with mode fun.
func onlyCFUN(j map[string]int, fun int) bool {
	for _, v := range j {
		return len(j) == 1 && v == fun
	}
	return false
}

// TestCFUNJournalAfterKill: nrfprov killed (-9) while a write executes leaves the modem in
// CFUN=4, and its journal entry (written before the change) says what to put back. The next run
// on the board, whatever the verb, restores the mode, says so, and removes the entry.
func TestCFUNJournalAfterKill(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{SerialNumber: "000960001502", WriteLatency: 3 * time.Second})
	setCFUN(t, b, "1")
	path, _ := credSet(t, 1502, "lf", "")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, nrfprovBin, "--port", b.VCOM0(), "--modem-latency", "10s", "provision", "-m", path)
	cmd.Env = append(os.Environ(), "NRFPROV_PLUGIN_LOCK="+filepath.Join(t.TempDir(), "lock"), "NRFPROV_PLUGIN_DIR=", stateDirEnv(t))
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Offline, and a whole command executing (nothing half-sent): kill.
	if !pollState(ctx, b, func(st sim.State) bool { return st.CFUN == 4 && st.Busy && st.RXPending == 0 }) {
		t.Fatal("the board never went offline")
	}
	if err := syscall.Kill(cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if got := boardCFUN(t, b); got != 4 {
		t.Fatalf("after the kill: CFUN=%d, want 4 (the kill landed offline)", got)
	}
	if j := journaled(t); !onlyCFUN(j, 1) {
		t.Fatalf("journal after the kill: %v, want CFUN 1 for the board's IMEI", j)
	}
	if !pollState(ctxT(t), b, func(st sim.State) bool { return !st.Busy }) {
		t.Fatal("the write never ended")
	}

	r := runNrfprovEnv(t, []string{stateDirEnv(t)}, "", "--port", b.VCOM0(), "list")
	if r.code != 0 || !strings.Contains(r.stderr, "did not restore the modem's functional mode: put CFUN=1 back") {
		t.Fatalf("re-run: exit %d\nstderr: %s", r.code, r.stderr)
	}
	if got := boardCFUN(t, b); got != 1 {
		t.Fatalf("after the re-run: CFUN=%d, want 1", got)
	}
	if j := journaled(t); len(j) != 0 {
		t.Fatalf("journal after the re-run: %v, want empty", j)
	}
}

// TestCFUNRestoredAfterHangOnCFUN4: the board hangs on AT+CFUN=4 itself. nrfprov resets it
// (the modem boots in CFUN=0), writes everything and puts back the mode the board was found in.
func TestCFUNRestoredAfterHangOnCFUN4(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{SerialNumber: "000960001503"})
	setCFUN(t, b, "1")
	if err := b.InjectFault(ctxT(t), sim.Fault{Kind: "hang", Text: "AT+CFUN=4"}); err != nil {
		t.Fatal(err)
	}
	path, _ := credSet(t, 1503, "lf", "")
	r := runNrfprovEnv(t, []string{stateDirEnv(t)}, "", "--port", b.VCOM0(), "--modem-latency", "300ms",
		"provision", "--reset-cmd", resetCmd(b), "-m", path, "--json")
	if r.code != 0 {
		t.Fatalf("exit %d\nstderr: %s", r.code, r.stderr)
	}
	var rep provisionReport
	decode(t, r.stdout, "provision", &rep)
	if rep.Recoveries != 1 || rep.Writes != 3 {
		t.Fatalf("the hang on AT+CFUN=4 was not met: %+v", rep)
	}
	if got := boardCFUN(t, b); got != 1 {
		t.Fatalf("after a hang on AT+CFUN=4 and a reset: CFUN=%d, want 1 (as found)", got)
	}
	if j := journaled(t); len(j) != 0 {
		t.Fatalf("journal after the run: %v, want empty", j)
	}

	// Without a way to reset, the run stops; the journal keeps the mode for the next run.
	if err := b.InjectFault(ctxT(t), sim.Fault{Kind: "hang", Text: "AT+CFUN=4"}); err != nil {
		t.Fatal(err)
	}
	path, _ = credSet(t, 1503, "lf", "")
	fails := runNrfprovEnv(t, []string{stateDirEnv(t)}, "", "--port", b.VCOM0(), "--modem-latency", "300ms", "provision", "-m", path)
	if fails.code != 5 {
		t.Fatalf("without a reset: exit %d, want 5\nstderr: %s", fails.code, fails.stderr)
	}
	if j := journaled(t); !onlyCFUN(j, 1) {
		t.Fatalf("journal after the hang: %v, want CFUN 1", j)
	}
	if err := b.Reset(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitReady(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	again := runNrfprovEnv(t, []string{stateDirEnv(t)}, "", "--port", b.VCOM0(), "provision", "-m", path)
	if again.code != 0 || !strings.Contains(again.stderr, "put CFUN=1 back") {
		t.Fatalf("after the reset: exit %d\nstderr: %s", again.code, again.stderr)
	}
	if got := boardCFUN(t, b); got != 1 {
		t.Fatalf("after the next run: CFUN=%d, want 1", got)
	}
}

// TestManifestSecretsStayOutOfChildren: a manifest's env: secret is in the environment of no
// process nrfprov starts: not the transport plugin, not --reset-cmd. The reset command here
// records its own environment and that of every other child of nrfprov (the plugin) as they run.
func TestManifestSecretsStayOutOfChildren(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{SerialNumber: "000960001504"})
	if err := b.InjectFault(ctxT(t), sim.Fault{Kind: "hang", Text: "AT%CMNG=0"}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	secret := "5ec7e75ec7e75ec7e7a1b2c3d4e5f60718293a4b5c6d7e8f"
	m := filepath.Join(dir, "manifest.yaml")
	if err := os.WriteFile(m, []byte("version: 1\ncredentials:\n  - {sec_tag: 1504, type: PSK, env: NRFPROV_E2E_SECRET_PSK}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	seen := filepath.Join(dir, "children.env")
	script := filepath.Join(dir, "reset.sh")
	if err := os.WriteFile(script, []byte(`#!/bin/sh
for p in $(cat /proc/$PPID/task/*/children); do
	[ "$p" = "$$" ] && continue
	echo "== child $p"; tr '\0' '\n' < /proc/$p/environ
done > `+seen+`
echo "== reset command" >> `+seen+`
env >> `+seen+`
exec `+resetCmd(b)+`
`), 0o700); err != nil {
		t.Fatal(err)
	}
	r := runNrfprovEnv(t, []string{"NRFPROV_E2E_SECRET_PSK=" + secret}, "", "--port", b.VCOM0(), "--modem-latency", "300ms",
		"provision", "--reset-cmd", script, "-m", m, "--json")
	if r.code != 0 {
		t.Fatalf("exit %d\nstderr: %s", r.code, r.stderr)
	}
	data, err := os.ReadFile(seen)
	if err != nil {
		t.Fatalf("the reset command did not run: %v", err)
	}
	if !strings.Contains(string(data), "== child") || !strings.Contains(string(data), "PLUGIN_PROTOCOL_VERSIONS=") {
		t.Fatalf("the transport plugin's environment was not seen:\n%s", data)
	}
	if strings.Contains(string(data), "NRFPROV_E2E_SECRET_PSK") || strings.Contains(string(data), secret[:16]) {
		t.Fatalf("a child process holds the manifest's secret in its environment:\n%s", data)
	}
}

// TestFailedProvisionStillReports: a one-board provision that stops (the second write hangs and
// nothing can reset the board) prints its JSON report: what was written and proven before the
// stop, and the rest as failed; the summary counts what the rows show.
func TestFailedProvisionStillReports(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{SerialNumber: "000960001505"})
	if err := b.InjectFault(ctxT(t), sim.Fault{Kind: "hang", Text: "AT%CMNG=0", Count: 1}); err != nil {
		t.Fatal(err)
	}
	path, files := credSet(t, 1505, "lf", "")
	rep := provisionJSON(t, 5, "--port", b.VCOM0(), "--modem-latency", "300ms", "provision", "-m", path)
	// Writes are proven by one list after the last of them, which the hang prevented: the CA
	// the modem took is reported as answered OK and not proven, nothing is claimed.
	if len(rep.Results) != 3 || rep.Writes != 0 {
		t.Fatalf("report of the failed run: %+v", rep)
	}
	for _, res := range rep.Results {
		want := map[int]string{0: "written (the modem answered OK), not proven", 1: "not written", 2: "not written"}[res.Type]
		if res.Outcome != "failed" || !strings.Contains(res.Detail, want) || res.SHA256 != sha(files[map[int]string{0: "ca.pem", 1: "client.pem", 2: "key.pem"}[res.Type]]) {
			t.Errorf("type %d: %+v, want failed: %q", res.Type, res, want)
		}
	}
}

// TestSummaryAgreesWithRows: a write lands and then the modem hangs before answering; after the
// reset the re-plan finds it in place. The row says written and verified, and so does the
// summary (3 written under 3 written rows).
func TestSummaryAgreesWithRows(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{SerialNumber: "000960001506"})
	if err := b.InjectFault(ctxT(t), sim.Fault{Kind: "hang", Text: "AT%CMNG=0", Count: 1, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	path, _ := credSet(t, 1506, "lf", "")
	args := []string{"--port", b.VCOM0(), "--modem-latency", "300ms", "provision", "--reset-cmd", resetCmd(b), "-m", path}
	rep := provisionJSON(t, 0, args...)
	written := 0
	for _, res := range rep.Results {
		if res.Action == "write" && res.Outcome == "verified" {
			written++
		}
	}
	if rep.Recoveries != 1 || written != 3 || rep.Writes != 3 {
		t.Fatalf("%d written rows, summary %d written, %d resets: %+v", written, rep.Writes, rep.Recoveries, rep)
	}
}

// TestVersionJSON: version speaks JSON like every other command.
func TestVersionJSON(t *testing.T) {
	t.Parallel()
	var v struct {
		Version  string `json:"version"`
		Protocol int    `json:"transport_protocol"`
	}
	decode(t, ok(t, "version", "--json"), "version", &v)
	if v.Version == "" || v.Protocol < 1 {
		t.Fatalf("version --json: %+v", v)
	}
}

// TestDetectionScalesWithModemLatency: a modem that takes 1.5 s to answer anything is found with
// --modem-latency 2s (detection used to wait a fixed second and call it "no AT host").
func TestDetectionScalesWithModemLatency(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{SerialNumber: "000960001507", CommandLatency: 1500 * time.Millisecond})
	var info struct {
		IMEI string `json:"imei"`
	}
	decode(t, ok(t, "--port", b.VCOM0(), "--modem-latency", "2s", "info", "--json"), "info", &info)
	if info.IMEI == "" {
		t.Fatalf("info on a slow modem: %+v", info)
	}
}

// TestTCPTransportNeedsNoBaudFlag: the tcp transport (ser2net) has no line settings: nrfprov
// sends none to it, so it works as documented without --baud 0; a --baud the user does give is
// refused before anything is opened (usage, exit 2).
func TestTCPTransportNeedsNoBaudFlag(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{SerialNumber: "000960001508"})
	addr := tcpBridge(t, b.VCOM0())
	lock := filepath.Join(t.TempDir(), "transports.lock")
	env := []string{"NRFPROV_PLUGIN_DIR=" + pluginDir, "NRFPROV_PLUGIN_LOCK=" + lock}
	if r := runNrfprovEnv(t, env, "", "transports", "lock"); r.code != 0 {
		t.Fatalf("transports lock: %d %s", r.code, r.stderr)
	}
	if r := runNrfprovEnv(t, env, "", "--transport", "tcp", "--port", addr, "info"); r.code != 0 || !strings.Contains(r.stdout, "IMEI") {
		t.Fatalf("tcp info without --baud: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	r := runNrfprovEnv(t, env, "", "--transport", "tcp", "--port", addr, "--baud", "9600", "info")
	if r.code != 2 || !strings.Contains(r.stderr, "does not set the line speed") {
		t.Fatalf("tcp info with --baud 9600: exit %d, want 2\nstderr: %s", r.code, r.stderr)
	}
}

// TestLabelsSayWhatTheyAre: info calls %XMODEMUUID the modem firmware's UUID (it identifies the
// firmware build, not the device), and generate says exactly what it checked of the CSR.
func TestLabelsSayWhatTheyAre(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{SerialNumber: "000960001509"})
	if out := ok(t, "--port", b.VCOM0(), "info"); !strings.Contains(out, "modem firmware UUID") {
		t.Errorf("info:\n%s", out)
	}
	out := ok(t, "--port", b.VCOM0(), "generate", "1509", "--out", filepath.Join(t.TempDir(), "csr.pem"))
	if !strings.Contains(out, "checked: its SHA-256 equals the digest in the modem's COSE_Sign1 payload") ||
		!strings.Contains(out, "not checked: that COSE signature") {
		t.Errorf("generate:\n%s", out)
	}
}

// notACertificate is framed as PEM (what nrfprov checks before sending) around bytes that are
// no certificate (what a 2.x modem checks: +CME ERROR: 527).
const notACertificate = "-----BEGIN CERTIFICATE-----\r\nSE9OS0hPTks=\r\n-----END CERTIFICATE-----\r\n"

// TestWriteChecksContentLikeAManifest: `write` refuses what a manifest refuses (a PSK that is
// not hex, a certificate that is not PEM), with the same message, before touching the board.
func TestWriteChecksContentLikeAManifest(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{SerialNumber: "000960001510"})
	psk := writeFile(t, "p.hex", "zz11")
	r := fails(t, 2, []string{"--port", b.VCOM0(), "write", "10", "PSK", psk}, "a PSK must be hexadecimal text, but the byte at offset 0 is not a hex digit")
	m := writeFile(t, "m.yaml", "version: 1\ncredentials:\n  - {sec_tag: 10, type: PSK, file: "+psk+"}\n")
	rm := fails(t, 2, []string{"--port", b.VCOM0(), "provision", "-m", m}, "a PSK must be hexadecimal text, but the byte at offset 0 is not a hex digit")
	if !strings.Contains(rm.stderr, "file "+psk) || !strings.Contains(r.stderr, "file "+psk) {
		t.Errorf("the messages name the file:\n%s\n%s", r.stderr, rm.stderr)
	}
	if st, err := b.State(ctxT(t)); err != nil || len(st.Credentials) != 0 || st.Stats.Commands != 0 {
		t.Fatalf("refused input reached the board: %+v, %v", st.Stats, err)
	}
}

// TestPortThatIsNoSerialDevice: --port naming a file that is no serial device is "no board"
// (exit 4), with a hint, not "other error".
func TestPortThatIsNoSerialDevice(t *testing.T) {
	t.Parallel()
	fails(t, 4, []string{"--port", "/etc/passwd", "info"}, "not a serial port", "hint: --port must name the board's serial device")
}

// TestNULTerminatedATHost: at_host built with NUL termination (CONFIG_AT_HOST_TERMINATION's
// fourth choice) is detected and written to, and --term nul is accepted; a terminator or dialect
// nrfprov does not know is a usage error (exit 2).
func TestNULTerminatedATHost(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{SerialNumber: "000960001511", Termination: sim.TermNUL, TermSet: true})
	var info struct {
		T string `json:"terminator"`
	}
	decode(t, ok(t, "--port", b.VCOM0(), "info", "--json"), "info", &info)
	if info.T != "nul" {
		t.Fatalf("detected terminator %q, want nul", info.T)
	}
	cert := testCert(t)
	var wr struct {
		jsonEntry
		Verified bool `json:"verified"`
	}
	decode(t, ok(t, "--port", b.VCOM0(), "--term", "nul", "write", "1511", "0", writeFile(t, "ca.pem", cert), "--json"), "write", &wr)
	if !wr.Verified || wr.SHA256 != sha(cert) {
		t.Fatalf("write over a NUL-terminated host: %+v", wr)
	}
	fails(t, 2, []string{"--port", b.VCOM0(), "--term", "semicolon", "info"}, "want auto, cr, lf, crlf or nul")
	fails(t, 2, []string{"--port", b.VCOM0(), "--dialect", "klingon", "info"}, "want auto, raw or shell")
}

// TestOldFirmwareLongWritesRefused: on mfw 0.7.0, which hangs on long %CMNG writes (the field
// report), provision refuses the 1.9 KB certificate before sending it, naming the firmware and
// the fix, and writes what can be written: no hang, no reset, the board left answering.
func TestOldFirmwareLongWritesRefused(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{SerialNumber: "000960001512", Profile: "mfw_nrf9160_0.7.0-29.alpha"})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), []byte(certOfSize(t, 1900)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "id.txt"), []byte("device-1512"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := filepath.Join(dir, "manifest.yaml")
	if err := os.WriteFile(m, []byte("version: 1\ncredentials:\n  - {sec_tag: 1512, type: ROOT_CA_CERT, file: ca.pem}\n  - {sec_tag: 1512, type: PSK_ID, file: id.txt}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runNrfprov(t, "", "--port", b.VCOM0(), "--modem-latency", "500ms", "provision", "-m", m, "--json")
	if r.code != 2 || !strings.Contains(r.stderr, "mfw_nrf9160_0.7.0-29.alpha hangs on %CMNG writes") ||
		!strings.Contains(r.stderr, "update the modem firmware") || !strings.Contains(r.stderr, m+":3") {
		t.Fatalf("exit %d, want 2 naming the firmware, the fix and the manifest line\nstderr: %s", r.code, r.stderr)
	}
	var rep provisionReport
	decode(t, r.stdout, "provision", &rep)
	if rep.Recoveries != 0 || len(rep.Results) != 2 {
		t.Fatalf("report: %+v", rep)
	}
	for _, res := range rep.Results {
		if want := map[int]string{0: "failed", 4: "verified"}[res.Type]; res.Outcome != want {
			t.Errorf("type %d: %+v, want %s", res.Type, res, want)
		}
	}
	st, err := b.State(ctxT(t))
	if err != nil || st.Hung || st.Stats.HungCommands != 0 || len(st.Credentials) != 1 || st.Credentials[0].Type != 4 {
		t.Fatalf("board after the run: %+v, %v", st, err)
	}
}

// TestHintsPointTheRightWay: a board stuck inside an open quote, with no way for nrfprov to
// reset it, is told it needs a reset and how (not only "flash the at_client sample"); a write
// that times out because the device's AT buffer is smaller than assumed mentions --line-limit.
func TestHintsPointTheRightWay(t *testing.T) {
	t.Parallel()
	stuck := startBoard(t, sim.BoardConfig{SerialNumber: "000960001513"})
	breakBoard(t, stuck, 1513, testCert(t))
	r := fails(t, 4, []string{"--port", stuck.VCOM0(), "--modem-latency", "300ms", "list"},
		"stuck inside an open quote and answers nothing until the board is reset", "nrfprov reset --runner")
	if i, j := strings.Index(r.stderr, "stuck inside an open quote"), strings.Index(r.stderr, "flash the at_client sample"); i < 0 || j < i {
		t.Errorf("the reset hint comes first:\n%s", r.stderr)
	}

	small := startBoard(t, sim.BoardConfig{SerialNumber: "000960001514", LineLimit: 1000})
	fails(t, 5, []string{"--port", small.VCOM0(), "--modem-latency", "300ms", "write", "1514", "0", writeFile(t, "ca.pem", certOfSize(t, 1500))},
		"--line-limit")
}
