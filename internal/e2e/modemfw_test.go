package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nrfprov/nrfprov/internal/sim"
)

// TestBrokenStorageAndModemFirmware: on a board whose credential storage hangs every write,
// provision resets, retries, checks with a tiny write, and stops with the named error and the
// exact reprogramming commands for this board; modem-firmware through the nrfutil and nrfjprog
// stand-ins (their documented command lines) heals it, info shows the new version, and the
// re-run provisions.
func TestBrokenStorageAndModemFirmware(t *testing.T) {
	t.Parallel()
	const sn = "000960001703"
	m, _ := credSet(t, 42, "lf", "")
	b := startBoard(t, sim.BoardConfig{SerialNumber: sn})
	env, log := flashEnv(t, b.Config().RunDir)
	run := func(args ...string) cliResult {
		t.Helper()
		return runNrfprovEnv(t, env, "", append([]string{"--board", sn, "--modem-latency", "300ms"}, args...)...)
	}
	// The user already holds a PSK identity in the last user sec_tag, the probe's first choice:
	// the storage check must not cost it (it takes the next free slot below).
	userID := filepath.Join(t.TempDir(), "identity.txt")
	os.WriteFile(userID, []byte("users-own-identity"), 0o600)
	if r := run("write", "2147483647", "4", userID); r.code != 0 {
		t.Fatalf("writing the user's identity: exit %d\n%s", r.code, r.stderr)
	}
	inject(t, b, sim.Fault{Kind: "broken_storage"})

	r := run("provision", "-m", m, "--runner", "nrfjprog", "--max-recoveries", "1")
	if r.code != 13 {
		t.Fatalf("provision on broken storage: exit %d, want 13\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"the modem's credential storage looks broken",
		`AT%CMNG=0,2147483646,4,"nrfprov"`,
		"programming the modem firmware (mfw_nrf9160_1.3.5) again",
		"\n    nrfprov modem-firmware mfw_nrf9160_1.3.5.zip --board " + sn + "\n",
		"\n    nrfutil device program --firmware mfw_nrf9160_1.3.5.zip --serial-number 960001703\n",
		"\n    nrfjprog --program mfw_nrf9160_1.3.5.zip -s 960001703 --verify\n",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Fatalf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if st, _ := b.State(ctxT(t)); st.Hung || !st.BrokenStorage || len(st.Credentials) != 1 || st.Credentials[0].SecTag != 2147483647 {
		t.Fatalf("after the named error: hung=%v broken=%v credentials %+v (the board must be left answering with only the user's identity, nothing claimed)", st.Hung, st.BrokenStorage, st.Credentials)
	}

	dir := t.TempDir()
	pkg136, err := sim.WriteModemPackage(dir, "nrf9160", "1.3.6")
	if err != nil {
		t.Fatal(err)
	}
	pkg137, err := sim.WriteModemPackage(dir, "nrf9160", "1.3.7")
	if err != nil {
		t.Fatal(err)
	}

	// The dry run prints the exact line and does nothing; runners that cannot are refused.
	r = run("modem-firmware", pkg136, "--runner", "nrfutil", "--dry-run")
	if r.code != 0 || r.stdout != "nrfutil device program --firmware "+pkg136+" --serial-number 960001703\n" {
		t.Fatalf("dry run: exit %d\nstdout: %q\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	for _, runner := range []string{"jlink", "openocd", "west"} {
		r = run("modem-firmware", pkg136, "--runner", runner)
		if r.code != 2 || !strings.Contains(r.stderr, "cannot program a modem firmware package (nrfutil and nrfjprog can") {
			t.Fatalf("--runner %s: exit %d\n%s", runner, r.code, r.stderr)
		}
	}
	copyFile(t, pkg136, filepath.Join(dir, "firmware.zip"))
	r = run("modem-firmware", filepath.Join(dir, "firmware.zip"))
	if r.code != 2 || !strings.Contains(r.stderr, "mfw_nrf9160_<version>.zip") {
		t.Fatalf("unnamed package: exit %d\n%s", r.code, r.stderr)
	}
	if st, _ := b.State(ctxT(t)); st.ModemFirmware != "mfw_nrf9160_1.3.5" || !st.BrokenStorage {
		t.Fatalf("dry run or refusal touched the board: %s broken=%v", st.ModemFirmware, st.BrokenStorage)
	}

	// nrfutil heals it.
	var res struct {
		Runner        string `json:"runner"`
		Version       string `json:"version"`
		ModemFirmware string `json:"modem_firmware"`
		Confirmed     bool   `json:"confirmed"`
	}
	r = run("modem-firmware", pkg136, "--runner", "nrfutil", "--json")
	if r.code != 0 {
		t.Fatalf("modem-firmware nrfutil: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	decode(t, r.stdout, "modem-firmware", &res)
	if res.Version != "mfw_nrf9160_1.3.6" || !res.Confirmed || res.ModemFirmware != "mfw_nrf9160_1.3.6" {
		t.Fatalf("nrfutil result: %+v", res)
	}
	if st, _ := b.State(ctxT(t)); st.BrokenStorage {
		t.Fatal("still broken after nrfutil programmed the modem firmware")
	}

	// Broken again; nrfjprog heals it too.
	inject(t, b, sim.Fault{Kind: "broken_storage"})
	r = run("modem-firmware", pkg137, "--runner", "nrfjprog")
	if r.code != 0 || !strings.Contains(r.stdout, "the modem now runs mfw_nrf9160_1.3.7 (AT+CGMR)") || !strings.Contains(r.stderr, "100%") {
		t.Fatalf("modem-firmware nrfjprog: exit %d, want the confirmation and progress\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	var info struct {
		FW string `json:"modem_firmware"`
	}
	decode(t, run("info", "--json").stdout, "info", &info)
	if info.FW != "mfw_nrf9160_1.3.7" {
		t.Fatalf("info after the update: %q", info.FW)
	}

	var lines []string
	for _, argv := range invocations(t, log) {
		if len(argv) > 1 && (argv[1] == "device" && argv[2] == "program" || argv[1] == "--program") {
			lines = append(lines, strings.Join(argv, " "))
		}
	}
	want := []string{
		"nrfutil device program --firmware " + pkg136 + " --serial-number 960001703",
		"nrfjprog --program " + pkg137 + " -s 960001703 --verify",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("programming invocations:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}

	// The re-run provisions.
	r = run("provision", "-m", m, "--runner", "nrfjprog")
	if r.code != 0 || !strings.Contains(r.stdout, "3 written, 0 deleted, 0 resets") {
		t.Fatalf("re-run: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
}

// TestLongWriteHangIsNotBrokenStorage: the seed report's firmware hangs on long writes only; the
// tiny write of the storage check answers, so provision gives up as before (exit 5, not 13) and
// leaves nothing of the check behind. nrfprov refuses such a write by default; --write-limit
// above the certificate's size sends it anyway (the limit is inferred), which is the case here.
func TestLongWriteHangIsNotBrokenStorage(t *testing.T) {
	t.Parallel()
	const sn = "000960001704"
	dir := t.TempDir()
	cert := certOfSize(t, 1500)
	m := filepath.Join(dir, "m.yaml")
	for name, content := range map[string]string{"ca.pem": cert, "m.yaml": "version: 1\ncredentials:\n  - {sec_tag: 42, type: ROOT_CA_CERT, file: ca.pem}\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	b := startBoard(t, sim.BoardConfig{SerialNumber: sn, Profile: "mfw_nrf9160_0.7.0-29.alpha"})
	env, _ := flashEnv(t, b.Config().RunDir)
	r := runNrfprovEnv(t, env, "", "--board", sn, "--modem-latency", "300ms", "provision", "-m", m, "--runner", "nrfjprog", "--max-recoveries", "1", "--write-limit", "4096")
	if r.code != 5 || !strings.Contains(r.stderr, "checking the credential storage") || strings.Contains(r.stderr, "looks broken") {
		t.Fatalf("exit %d, want 5 after a storage check that answered\nstderr: %s", r.code, r.stderr)
	}
	st, err := b.State(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range st.Credentials {
		if c.SecTag == 2147483647 {
			t.Fatalf("the storage check's credential was left behind: %+v", c)
		}
	}
}
