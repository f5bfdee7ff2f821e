package e2e

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/marcinbor85/gohex"

	"github.com/nrfprov/nrfprov/internal/at"
	"github.com/nrfprov/nrfprov/internal/sim"
	"github.com/nrfprov/nrfprov/serialio"
)

// The flash workflow end to end: nrfprov runs the vendors' tools, played by stand-ins
// (internal/e2e/testdata/standin) first on PATH, which check their command lines against the documented
// syntax and program and reset nrfsim boards through their control sockets.

// installStandins links the stand-in (built by TestMain as dir/nrfjprog) under the other
// tools' names.
func installStandins(dir string) (string, error) {
	for _, n := range []string{"nrfutil", "JLinkExe", "west"} {
		if err := os.Link(filepath.Join(dir, "nrfjprog"), filepath.Join(dir, n)); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// standins is the directory of the stand-in tools.
func standins(t *testing.T) string {
	t.Helper()
	if standinDir == "" {
		t.Fatal("the stand-ins were not built")
	}
	return standinDir
}

// flashEnv is the environment of an nrfprov run whose tools are the stand-ins acting on the
// boards of runDir, logging their invocations to the returned file.
func flashEnv(t *testing.T, runDir string, extra ...string) ([]string, string) {
	t.Helper()
	log := filepath.Join(t.TempDir(), "standin.log")
	env := []string{
		"PATH=" + standins(t) + string(os.PathListSeparator) + os.Getenv("PATH"),
		"NRFSIM_RUN_DIR=" + runDir,
		"NRFSIM_STANDIN_LOG=" + log,
		"NRFPROV_SYSFS_ROOT=" + filepath.Join(runDir, "sys"),
		"NRFPROV_DEV_ROOT=" + filepath.Join(runDir, "dev"),
	}
	return append(env, extra...), log
}

// invocations reads the stand-ins' log: one argv per line.
func invocations(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var argv []string
		if err := json.Unmarshal(sc.Bytes(), &argv); err != nil {
			t.Fatal(err)
		}
		out = append(out, argv)
	}
	return out
}

// firmwareHex writes an image that nrfsim identifies as personality p.
func firmwareHex(t *testing.T, dir, name string, p sim.Personality) (string, string) {
	t.Helper()
	path := filepath.Join(dir, name)
	var b bytes.Buffer
	if err := sim.WriteFirmwareHex(&b, p, name); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	img, err := sim.ReadFirmwareHex(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, img.ImageSHA256
}

// elfFromHex writes the image of a hex file as a one-segment ARM ELF (what a build's zephyr.elf
// holds), so the ELF path through nrfprov (converted to HEX for nrfjprog) is exercised.
func elfFromHex(t *testing.T, hexPath, out string) {
	t.Helper()
	f, err := os.Open(hexPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mem := gohex.NewMemory()
	if err := mem.ParseIntelHex(f); err != nil {
		t.Fatal(err)
	}
	segs := mem.GetDataSegments()
	if len(segs) != 1 {
		t.Fatalf("%d segments", len(segs))
	}
	addr, data := segs[0].Address, segs[0].Data
	const ehsize, phsize = 52, 32
	var b bytes.Buffer
	h := elf.Header32{Type: uint16(elf.ET_EXEC), Machine: uint16(elf.EM_ARM), Version: 1, Entry: addr,
		Phoff: ehsize, Ehsize: ehsize, Phentsize: phsize, Phnum: 1, Shentsize: 40}
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS], h.Ident[elf.EI_DATA], h.Ident[elf.EI_VERSION] = byte(elf.ELFCLASS32), byte(elf.ELFDATA2LSB), 1
	binary.Write(&b, binary.LittleEndian, h)
	binary.Write(&b, binary.LittleEndian, elf.Prog32{Type: uint32(elf.PT_LOAD), Off: ehsize + phsize, Vaddr: addr, Paddr: addr,
		Filesz: uint32(len(data)), Memsz: uint32(len(data)), Flags: uint32(elf.PF_R | elf.PF_X), Align: 4})
	b.Write(data)
	if err := os.WriteFile(out, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// appBoard starts a board that runs the application (flashed from a hex) and holds part of a
// credential set: half of the root CA, nothing else. It returns the board and the app image's
// path and SHA-256.
func appBoard(t *testing.T, sn string, tag uint32, ca string) (*sim.Board, string, string) {
	t.Helper()
	return appBoardCfg(t, sim.BoardConfig{SerialNumber: sn}, tag, ca)
}

func appBoardCfg(t *testing.T, cfg sim.BoardConfig, tag uint32, ca string) (*sim.Board, string, string) {
	t.Helper()
	b := startBoard(t, cfg)
	sn := cfg.SerialNumber
	p, err := serialio.Open(b.VCOM0(), serialio.Config{Baud: b.Config().Baud})
	if err != nil {
		t.Fatal(err)
	}
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
	p.Close()
	app, sum := firmwareHex(t, t.TempDir(), "app.hex", sim.Application)
	if _, err := (sim.ControlClient{Path: sim.ControlPath(b.Config().RunDir, sn)}).Do(ctx, sim.ControlRequest{Op: "flash", Hex: app}); err != nil {
		t.Fatal(err)
	}
	st, err := b.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Firmware.Personality != sim.Application || len(st.Credentials) != 1 {
		t.Fatalf("start: %s with %d credentials", st.Firmware.Personality, len(st.Credentials))
	}
	return b, app, sum
}

// TestFlashProvisionRestoreEveryRunner: a board running its application with a partial
// credential set gets, with one `nrfprov provision --flash-at-client … --restore-app …` (or
// --build-dir), verified credentials and its application back, through each runner stand-in.
func TestFlashProvisionRestoreEveryRunner(t *testing.T) {
	t.Parallel()
	cases := []struct {
		runner, tool string
		sn           string
		elf          bool   // give the AT client as an ELF (nrfprov converts it for HEX-only tools)
		layout       string // "" → --restore-app; else a build directory of this layout
	}{
		{runner: "nrfutil", tool: "nrfutil", sn: "000960000700"},
		{runner: "nrfjprog", tool: "nrfjprog", sn: "000960000701", elf: true, layout: "sysbuild"},
		{runner: "jlink", tool: "JLinkExe", sn: "000960000702"},
		{runner: "west", tool: "west", sn: "000960000703", layout: "runners.yaml"},
	}
	for _, c := range cases {
		t.Run(c.runner, func(t *testing.T) {
			t.Parallel()
			tag := uint32(16842753)
			m, files := credSet(t, tag, "lf", "")
			b, app, appSum := appBoard(t, c.sn, tag, files["ca.pem"])
			dir := t.TempDir()
			atc, _ := firmwareHex(t, dir, "at_client.hex", sim.ATClient)
			if c.elf {
				elfFromHex(t, atc, filepath.Join(dir, "at_client.elf"))
				atc = filepath.Join(dir, "at_client.elf")
			}
			args := []string{"--board", c.sn, "provision", "-m", m, "--runner", c.runner, "--flash-at-client", atc, "--json"}
			appArg := app // the image the tool is given for the application
			switch c.layout {
			case "":
				args = append(args, "--restore-app", app)
			case "sysbuild": // build/merged.hex
				build := filepath.Join(dir, "build")
				os.MkdirAll(build, 0o755)
				appArg = filepath.Join(build, "merged.hex")
				copyFile(t, app, appArg)
				args = append(args, "--build-dir", build)
			case "runners.yaml": // build/zephyr/runners.yaml names the hex and west's runner
				build := filepath.Join(dir, "build")
				os.MkdirAll(filepath.Join(build, "zephyr"), 0o755)
				appArg = filepath.Join(build, "zephyr", "zephyr.hex")
				copyFile(t, app, appArg)
				yaml := "runners: [nrfjprog, nrfutil, jlink]\nflash-runner: nrfjprog\nconfig:\n  hex_file: zephyr.hex\n  elf_file: zephyr.elf\n"
				os.WriteFile(filepath.Join(build, "zephyr", "runners.yaml"), []byte(yaml), 0o600)
				args = append(args, "--build-dir", build)
			}
			env, log := flashEnv(t, b.Config().RunDir)
			r := runNrfprovEnv(t, env, "", args...)
			if r.code != 0 {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
			}
			var rep provisionReport
			decode(t, r.stdout, "provision", &rep)
			want := map[int]string{0: sha(files["ca.pem"]), 1: sha(files["client.pem"]), 2: sha(files["key.pem"])}
			if len(rep.Results) != 3 || rep.Writes != 3 {
				t.Fatalf("report %+v", rep)
			}
			for _, res := range rep.Results {
				if res.Outcome != "verified" || res.SHA256 != want[res.Type] {
					t.Fatalf("results %+v", rep.Results)
				}
			}
			st, err := b.State(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			if st.Firmware.Personality != sim.Application || st.Firmware.ImageSHA256 != appSum {
				t.Fatalf("the board ends with %s %s, want the application %s", st.Firmware.Personality, st.Firmware.ImageSHA256, appSum)
			}
			got := map[int]string{}
			for _, cr := range st.Credentials {
				if cr.SecTag == tag {
					got[cr.Type] = cr.SHA256
				}
			}
			for ty, h := range want {
				if !strings.EqualFold(got[ty], h) {
					t.Fatalf("the modem holds %v, want %v", got, want)
				}
			}
			// The tool ran: the AT client first, the application last, nothing else but resets.
			inv := invocations(t, log)
			if len(inv) < 2 || inv[0][0] != c.tool || inv[len(inv)-1][0] != c.tool {
				t.Fatalf("invocations %q", inv)
			}
			first, last := strings.Join(inv[0], " "), strings.Join(inv[len(inv)-1], " ")
			if c.runner == "nrfjprog" {
				last = strings.Join(inv[len(inv)-2], " ") // the program; its reset follows
			}
			if !strings.Contains(first, strings.TrimLeft(c.sn, "0")) {
				t.Errorf("the serial number is not on the command line: %s", first)
			}
			if c.runner != "jlink" { // J-Link gets the images in its command file
				if !strings.Contains(first, "at_client") || !strings.Contains(last, appArg) {
					t.Errorf("first %s\nlast %s\nwant the AT client first and %s last", first, last, appArg)
				}
			}
			if os.Getenv("FLASH_DEBUG") != "" {
				t.Logf("stderr:\n%s", r.stderr)
			}
			if !strings.Contains(r.stderr, "flash: the application is back") {
				t.Errorf("stderr: %s", r.stderr)
			}
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestFlashWorkflowRecoversHangThroughRunner: the modem hangs in the middle of the writes (after
// the AT client is on the board); nrfprov resets it through the runner (nrfjprog --pinreset, as
// asked with --reset-kind pin), re-plans, and ends verified with the application back, with no
// user action.
func TestFlashWorkflowRecoversHangThroughRunner(t *testing.T) {
	t.Parallel()
	const sn = "000960000710"
	tag := uint32(42)
	m, files := credSet(t, tag, "lf", "")
	b, app, appSum := appBoard(t, sn, tag, files["ca.pem"])
	// The application runs no AT host, so the count starts with the AT client's first command.
	if err := b.InjectFault(ctxT(t), sim.Fault{Kind: "hang", Count: 9}); err != nil {
		t.Fatal(err)
	}
	atc, _ := firmwareHex(t, t.TempDir(), "at_client.hex", sim.ATClient)
	env, log := flashEnv(t, b.Config().RunDir)
	r := runNrfprovEnv(t, env, "", "--board", sn, "--modem-latency", "300ms", "provision", "-m", m,
		"--runner", "nrfjprog", "--reset-kind", "pin", "--flash-at-client", atc, "--restore-app", app)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "3 written, 0 deleted, 1 resets") || strings.Count(r.stdout, "verified") != 3 {
		t.Fatalf("report:\n%s\nstderr: %s", r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "recover: the board stopped answering") || !strings.Contains(r.stderr, "flash: pin reset with nrfjprog") {
		t.Fatalf("stderr: %s", r.stderr)
	}
	var lines []string
	for _, argv := range invocations(t, log) {
		lines = append(lines, strings.Join(argv, " "))
	}
	want := []string{
		"nrfjprog --program " + atc + " --sectorerase --verify -f NRF91 --snr 960000710",
		"nrfjprog --pinreset -f NRF91 --snr 960000710",
		"nrfjprog --pinreset -f NRF91 --snr 960000710", // the recovery
		"nrfjprog --program " + app + " --sectorerase --verify -f NRF91 --snr 960000710",
		"nrfjprog --pinreset -f NRF91 --snr 960000710",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("invocations:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	st, err := b.State(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if st.Firmware.ImageSHA256 != appSum || st.Hung {
		t.Fatalf("end state: %s hung=%v", st.Firmware.Personality, st.Hung)
	}
}

// TestFlashWorkflowFailuresRestoreAndReport: when provisioning fails after the AT client is on
// the board, the application still goes back and the provisioning error decides the exit code;
// when putting the application back fails, nrfprov says the board is left on the AT client,
// with both errors, and exits 11.
func TestFlashWorkflowFailuresRestoreAndReport(t *testing.T) {
	t.Parallel()
	const sn = "000960000711"
	m, files := credSet(t, 77, "lf", "")
	b, app, appSum := appBoard(t, sn, 77, files["ca.pem"])
	atc, atSum := firmwareHex(t, t.TempDir(), "at_client.hex", sim.ATClient)
	// The modem's store is full: the writes fail with +CME ERROR: 515.
	if err := b.InjectFault(ctxT(t), sim.Fault{Kind: "store_capacity", Count: 1}); err != nil {
		t.Fatal(err)
	}
	args := []string{"--board", sn, "provision", "-m", m, "--runner", "nrfutil", "--flash-at-client", atc, "--restore-app", app}
	env, _ := flashEnv(t, b.Config().RunDir)
	r := runNrfprovEnv(t, env, "", args...)
	if r.code != 6 || !strings.Contains(r.stderr, "515") || !strings.Contains(r.stderr, "flash: the application is back") {
		t.Fatalf("provision fails: exit %d\nstderr: %s", r.code, r.stderr)
	}
	st, _ := b.State(ctxT(t))
	if st.Firmware.ImageSHA256 != appSum {
		t.Fatalf("after a failed provision the board runs %s", st.Firmware.Personality)
	}

	// Now the probe fails while the application goes back, too.
	env, _ = flashEnv(t, b.Config().RunDir, "NRFSIM_STANDIN_FAIL="+app)
	r = runNrfprovEnv(t, env, "", args...)
	if r.code != 11 {
		t.Fatalf("both fail: exit %d\nstderr: %s", r.code, r.stderr)
	}
	for _, w := range []string{"still runs the AT client firmware", "restoring the application " + app + " failed", "lost connection to the debug probe",
		"and before that", "515", "nrfprov flash " + app} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
		}
	}
	st, _ = b.State(ctxT(t))
	if st.Firmware.ImageSHA256 != atSum {
		t.Fatalf("the board should be on the AT client now, runs %s", st.Firmware.Personality)
	}
	// The clear-up the message names works (here after a recover, as for a protected device).
	env, log := flashEnv(t, b.Config().RunDir)
	if r := runNrfprovEnv(t, env, "", "--board", sn, "flash", app, "--runner", "nrfutil", "--recover"); r.code != 0 || !strings.Contains(r.stdout, "programmed "+app) {
		t.Fatalf("flash: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if inv := invocations(t, log); len(inv) != 2 || strings.Join(inv[0], " ") != "nrfutil device recover --serial-number 960000711" {
		t.Fatalf("invocations %q", inv)
	}
	if st, _ = b.State(ctxT(t)); st.Firmware.ImageSHA256 != appSum {
		t.Fatalf("after nrfprov flash: %s", st.Firmware.Personality)
	}
}

// TestFlashRefusesBeforeTouchingTheBoard: a missing runner names what to install; bad images, a
// missing application, an unsupported reset kind are refused with exit 2; none of it runs a tool.
func TestFlashRefusesBeforeTouchingTheBoard(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	app, _ := firmwareHex(t, dir, "app.hex", sim.Application)
	atc, _ := firmwareHex(t, dir, "at_client.hex", sim.ATClient)
	m, _ := credSet(t, 5, "lf", "")
	empty := []string{"PATH=" + t.TempDir()}
	for _, c := range []struct {
		args []string
		code int
		msgs []string
	}{
		{[]string{"flash", app}, 11, []string{"no flash runner found on PATH", "nrfutil install device", "nRF Command Line Tools", "J-Link Software", "west", "OpenOCD with nRF91 support"}},
		{[]string{"flash", app, "--runner", "jlink"}, 11, []string{"JLinkExe is not on PATH", "SEGGER J-Link Software and Documentation Pack"}},
		{[]string{"reset", "--runner", "nrfjprog"}, 11, []string{"nrfjprog is not on PATH", "nRF Command Line Tools"}},
		{[]string{"provision", "-m", m, "--flash-at-client", atc, "--restore-app", app}, 11, []string{"no flash runner found"}},
	} {
		r := runNrfprovEnv(t, empty, "", c.args...)
		if r.code != c.code {
			t.Errorf("%v: exit %d, want %d\n%s", c.args, r.code, c.code, r.stderr)
		}
		for _, w := range c.msgs {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%v: stderr lacks %q:\n%s", c.args, w, r.stderr)
			}
		}
	}
	bad := filepath.Join(dir, "bad.hex")
	os.WriteFile(bad, []byte(":10800000000004209982000068656C6C6F20617071\n"), 0o600)
	env, log := flashEnv(t, t.TempDir())
	for _, c := range []struct {
		args []string
		msgs []string
	}{
		{[]string{"flash", bad, "--runner", "nrfjprog"}, []string{"bad.hex", "checksum"}},
		{[]string{"flash", filepath.Join(dir, "nope.hex"), "--runner", "nrfjprog"}, []string{"nope.hex"}},
		{[]string{"flash", "--build-dir", dir, "--runner", "nrfjprog"}, []string{"no image in the build directory", "zephyr/zephyr.hex"}},
		{[]string{"provision", "-m", m, "--flash-at-client", atc, "--runner", "nrfjprog"}, []string{"--restore-app HEX or --build-dir DIR"}},
		{[]string{"provision", "-m", m, "--restore-app", app, "--runner", "nrfjprog"}, []string{"go with --flash-at-client"}},
		{[]string{"provision", "-m", m, "--flash-at-client", bad, "--restore-app", app, "--runner", "nrfjprog"}, []string{"--flash-at-client", "bad.hex"}},
		{[]string{"provision", "-m", m, "--flash-at-client", atc, "--restore-app", app, "--runner", "jlink", "--reset-kind", "debug"}, []string{"cannot do a debug reset", "system, pin"}},
		{[]string{"reset", "--runner", "openocd", "--kind", "pin"}, []string{"cannot do a pin reset"}},
		{[]string{"reset", "--runner", "gdb"}, []string{"--gdb-address"}},
		{[]string{"flash", app, "--runner", "jlink", "--recover"}, []string{"has no recover", "nrfutil, nrfjprog and an OpenOCD with nrf91_recover"}},
		{[]string{"reset", "--kind", "hard", "--runner", "nrfjprog"}, []string{"want system, pin or debug"}},
	} {
		r := runNrfprovEnv(t, env, "", c.args...)
		if r.code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", c.args, r.code, r.stderr)
		}
		for _, w := range c.msgs {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%v: stderr lacks %q:\n%s", c.args, w, r.stderr)
			}
		}
	}
	if _, err := os.Stat(log); err == nil {
		t.Fatalf("a tool ran: %q", invocations(t, log))
	}
}

// TestFlashDryRunPrintsExactLines: --dry-run prints the command lines and runs nothing; the
// workflow's dry run shows all three steps.
func TestFlashDryRunPrintsExactLines(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	app, _ := firmwareHex(t, dir, "app.hex", sim.Application)
	atc, _ := firmwareHex(t, dir, "at_client.hex", sim.ATClient)
	m, _ := credSet(t, 5, "lf", "")
	env, log := flashEnv(t, t.TempDir())
	r := runNrfprovEnv(t, env, "", "--board", "000960000720", "flash", app, "--runner", "nrfjprog", "--dry-run")
	want := "nrfjprog --program " + app + " --sectorerase --verify -f NRF91 --snr 960000720\nnrfjprog --reset -f NRF91 --snr 960000720\n"
	if r.code != 0 || r.stdout != want {
		t.Fatalf("exit %d\n got: %q\nwant: %q\n%s", r.code, r.stdout, want, r.stderr)
	}
	// auto: nrfutil is the first in the order, and all four stand-ins are on PATH.
	r = runNrfprovEnv(t, env, "", "--board", "000960000720", "flash", app, "--dry-run")
	want = "nrfutil device program --firmware " + app + " --serial-number 960000720 --options chip_erase_mode=ERASE_RANGES_TOUCHED_BY_FIRMWARE,verify=VERIFY_READ,reset=RESET_SYSTEM\n"
	if r.code != 0 || r.stdout != want {
		t.Fatalf("auto: exit %d\n got: %q\nwant: %q\n%s", r.code, r.stdout, want, r.stderr)
	}
	r = runNrfprovEnv(t, env, "", "--board", "960000720", "provision", "-m", m, "--runner", "nrfutil", "--reset-kind", "pin",
		"--flash-at-client", atc, "--restore-app", app, "--dry-run")
	want = "# 1. the AT client\n" +
		"nrfutil device program --firmware " + atc + " --serial-number 960000720 --options chip_erase_mode=ERASE_RANGES_TOUCHED_BY_FIRMWARE,verify=VERIFY_READ,reset=RESET_PIN\n" +
		"# 2. provision (the plan needs the AT client running: `nrfprov plan` after step 1 shows it)\n" +
		"# 3. the application\n" +
		"nrfutil device program --firmware " + app + " --serial-number 960000720 --options chip_erase_mode=ERASE_RANGES_TOUCHED_BY_FIRMWARE,verify=VERIFY_READ,reset=RESET_PIN\n"
	if r.code != 0 || r.stdout != want {
		t.Fatalf("exit %d\n got: %s\nwant: %s\n%s", r.code, r.stdout, want, r.stderr)
	}
	r = runNrfprovEnv(t, env, "", "reset", "--runner", "jlink", "--kind", "pin", "--dry-run", "--json")
	var res struct {
		Runner   string   `json:"runner"`
		Kind     string   `json:"reset_kind"`
		Commands []string `json:"commands"`
		DryRun   bool     `json:"dry_run"`
	}
	decode(t, r.stdout, "reset", &res)
	if res.Runner != "jlink" || res.Kind != "pin" || !res.DryRun || len(res.Commands) != 1 ||
		!strings.HasPrefix(res.Commands[0], "JLinkExe -nogui 1 -if SWD -speed 4000 -device nRF9160_xxAA -CommanderScript ") {
		t.Fatalf("reset dry run: %+v", res)
	}
	if _, err := os.Stat(log); err == nil {
		t.Fatalf("a dry run ran a tool: %q", invocations(t, log))
	}
}

// TestResetUnsticksBoard: an AT host stuck inside quotes answers again after `nrfprov reset`,
// through each runner stand-in and reset kind it offers.
func TestResetUnsticksBoard(t *testing.T) {
	t.Parallel()
	const sn = "000960000730"
	b := startBoard(t, sim.BoardConfig{SerialNumber: sn})
	_, files := credSet(t, 9, "lf", "")
	env, log := flashEnv(t, b.Config().RunDir)
	for _, c := range []struct{ runner, kind string }{
		{"nrfjprog", "system"}, {"nrfjprog", "pin"}, {"nrfjprog", "debug"}, {"nrfutil", "system"}, {"nrfutil", "pin"}, {"nrfutil", "debug"},
		{"jlink", "system"}, {"jlink", "pin"}, {"west", "pin"},
	} {
		breakBoard(t, b, 9, files["ca.pem"])
		before, _ := b.State(ctxT(t))
		// --port, not --board: the probe's serial number comes from the port's USB device.
		r := runNrfprovEnv(t, env, "", "--port", b.VCOM0(), "reset", "--runner", c.runner, "--kind", c.kind)
		if r.code != 0 || !strings.Contains(r.stdout, c.kind+" reset with "+c.runner) {
			t.Fatalf("%s %s: exit %d\n%s\n%s", c.runner, c.kind, r.code, r.stdout, r.stderr)
		}
		inv := invocations(t, log)
		if last := strings.Join(inv[len(inv)-1], " "); !strings.Contains(last, " 960000730") {
			t.Fatalf("%s %s: no serial number on the command line: %s", c.runner, c.kind, last)
		}
		after, _ := b.State(ctxT(t))
		if after.RXInQuotes || after.Stats.Boots <= before.Stats.Boots {
			t.Fatalf("%s %s: still stuck (boots %d → %d)", c.runner, c.kind, before.Stats.Boots, after.Stats.Boots)
		}
		if err := b.WaitReady(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		if out := ok(t, "--port", b.VCOM0(), "imei"); strings.TrimSpace(out) == "" {
			t.Fatalf("%s %s: no IMEI after the reset", c.runner, c.kind)
		}
	}
}

// TestStandinsRejectWrongSyntax: each stand-in refuses command lines the real tool refuses, with
// the tool's kind of message and a non-zero exit, so a wrong command line from nrfprov fails a test.
func TestStandinsRejectWrongSyntax(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{SerialNumber: "000960000740"})
	dir := standins(t)
	app, _ := firmwareHex(t, t.TempDir(), "app.hex", sim.Application)
	script := filepath.Join(t.TempDir(), "s.jlink")
	os.WriteFile(script, []byte("r\nbogus\nq\n"), 0o600)
	noQ := filepath.Join(t.TempDir(), "noq.jlink")
	os.WriteFile(noQ, []byte("r\ng\n"), 0o600)
	for _, c := range []struct {
		argv []string
		code int
		msg  string
	}{
		// nrfjprog's documented return codes: 58 FlashNotErasedError, 12 InsufficientArguments,
		// 40 InvalidSerialNumber, 11 InvalidArgument, 13 IncompatibleArguments, 18 WrongFamily.
		{[]string{"nrfjprog", "--program", app, "--verify", "-f", "NRF91"}, 58, "add --sectorerase or --chiperase"},
		{[]string{"nrfjprog", "--reset"}, 12, "family must be given with -f"},
		{[]string{"nrfjprog", "--reset", "-f", "NRF91", "--snr", "000960000741"}, 40, "no debugger with serial number"},
		{[]string{"nrfjprog", "--rst", "-f", "NRF91"}, 11, `Argument "--rst" is not recognized`},
		{[]string{"nrfjprog", "--reset", "--pinreset", "-f", "NRF91"}, 13, "Only one of"},
		{[]string{"nrfjprog", "--pinreset", "-f", "NRF52"}, 18, "does not match"},
		{[]string{"nrfjprog", "--recover", "--program", app, "--sectorerase", "-f", "NRF91"}, 13, "--recover cannot be combined"},
		{[]string{"nrfjprog", "-f", "NRF91"}, 15, "No operation given"},
		{[]string{"nrfutil", "device", "program", "--firmware", app, "--serial-number", "960000740", "--options", "verify=VERIFY_ALL"}, 2, "verify must be one of"},
		{[]string{"nrfutil", "device", "program", "--hex", app}, 2, "unexpected argument '--hex' found"},
		{[]string{"nrfutil", "device", "reset", "--reset-kind", "RESET_VIA_SECDOM"}, 1, "not supported by this device"},
		{[]string{"nrfutil", "program", "--firmware", app}, 2, "unrecognized subcommand 'program'"},
		{[]string{"JLinkExe", "-USB", "960000740", "-if", "SWD", "-CommanderScript", script}, 1, "No device given"},
		{[]string{"JLinkExe", "-USB", "960000740", "-if", "JTAG", "-device", "nRF9160_xxAA", "-CommanderScript", script}, 1, "-if SWD"},
		{[]string{"JLinkExe", "-USB", "960000740", "-if", "SWD", "-device", "nRF9160_xxAA", "-CommanderScript", script, "-ExitOnError", "1"}, 1, "Unknown command."},
		{[]string{"JLinkExe", "-USB", "960000740", "-if", "SWD", "-device", "nRF9160_xxAA", "-CommanderScript", noQ}, 1, "ended without q"},
		{[]string{"JLinkExe", "-USB", "960000740", "-if", "SWD", "-device", "nRF9160_xxAA", "-Script", script}, 1, "Unknown command line option -Script"},
		{[]string{"west", "flash", "--hex", app}, 2, "unrecognized arguments: --hex"},
		{[]string{"west", "flash", "-d", t.TempDir()}, 1, "does not look like a Zephyr build directory"},
	} {
		cmd := exec.Command(filepath.Join(dir, c.argv[0]), c.argv[1:]...)
		cmd.Env = append(os.Environ(), "NRFSIM_RUN_DIR="+b.Config().RunDir)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if code != c.code || !strings.Contains(string(out), c.msg) {
			t.Errorf("%q: exit %d (want %d)\n%s(want %q)", c.argv, code, c.code, out, c.msg)
		}
	}
	st, _ := b.State(ctxT(t))
	if st.Firmware.Personality != sim.ATClient {
		t.Fatalf("a refused command changed the board: %s", st.Firmware.Personality)
	}
}

// runProc runs a command (the west extension, the shell script) with nrfprov as $NRFPROV and the
// environment nrfprov's own tests use.
func runProc(t *testing.T, env []string, argv ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "NRFPROV="+nrfprovBin, "NRFPROV_PLUGIN_LOCK="+filepath.Join(t.TempDir(), "lock"),
		"NRFPROV_PLUGIN_DIR=", "NRFPROV_LOG_LEVEL=", "PYTHONDONTWRITEBYTECODE=1")
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%v did not end by itself; stderr:\n%s", argv, errb.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return cliResult{out.String(), errb.String(), code}
}

// appBuild lays out a build directory whose zephyr/runners.yaml names the image and runner.
func appBuild(t *testing.T, app, runner string) string {
	t.Helper()
	build := filepath.Join(t.TempDir(), "build")
	if err := os.MkdirAll(filepath.Join(build, "zephyr"), 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, app, filepath.Join(build, "zephyr", "zephyr.hex"))
	yaml := fmt.Sprintf("runners: [%s]\nflash-runner: %s\nconfig:\n  hex_file: zephyr.hex\n", runner, runner)
	if err := os.WriteFile(filepath.Join(build, "zephyr", "runners.yaml"), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return build
}

// TestWestExtension: the `west nrfprov` command's own tests (Python, a fake west API: Debian has
// no west package), then the command driven as west drives it, running the real nrfprov with the
// build directory's runner (runners.yaml says nrfjprog) against a board.
func TestWestExtension(t *testing.T) {
	t.Parallel()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is needed for the west extension's tests: ", err)
	}
	script := filepath.Join("..", "..", "scripts", "west_commands", "test_nrfprov_west.py")
	r := runProc(t, nil, py, script)
	if r.code != 0 || !strings.Contains(r.stderr, "Ran 13 tests") || !strings.Contains(r.stderr, "\nOK") {
		t.Fatalf("python tests: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	const sn = "000960000750"
	b := startBoard(t, sim.BoardConfig{SerialNumber: sn})
	app, appSum := firmwareHex(t, t.TempDir(), "app.hex", sim.Application)
	build := appBuild(t, app, "nrfjprog")
	env, log := flashEnv(t, b.Config().RunDir)
	r = runProc(t, env, py, script, "west", "nrfprov", "flash", "-d", build, "--board", sn)
	if r.code != 0 {
		t.Fatalf("west nrfprov flash: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	inv := invocations(t, log)
	if len(inv) != 2 || inv[0][0] != "nrfjprog" || inv[0][2] != filepath.Join(build, "zephyr", "zephyr.hex") {
		t.Fatalf("invocations %q", inv)
	}
	if st, _ := b.State(ctxT(t)); st.Firmware.ImageSHA256 != appSum {
		t.Fatalf("the board runs %s", st.Firmware.Personality)
	}
	// A failure keeps nrfprov's exit status.
	r = runProc(t, env, py, script, "west", "nrfprov", "reset", "-r", "openocd", "--kind", "pin")
	if r.code != 2 || !strings.Contains(r.stderr, "cannot do a pin reset") {
		t.Fatalf("west nrfprov reset: exit %d\n%s", r.code, r.stderr)
	}
}

// TestFlashAndProvisionScript: scripts/flash-and-provision.sh for plain shell users, through west
// flash (the build directory's runner); its dry run prints the lines and touches nothing.
func TestFlashAndProvisionScript(t *testing.T) {
	t.Parallel()
	const sn = "000960000760"
	tag := uint32(1001)
	m, files := credSet(t, tag, "lf", "")
	b, app, appSum := appBoard(t, sn, tag, files["ca.pem"])
	atc, _ := firmwareHex(t, t.TempDir(), "at_client.hex", sim.ATClient)
	build := appBuild(t, app, "nrfjprog")
	script := filepath.Join("..", "..", "scripts", "flash-and-provision.sh")
	env, log := flashEnv(t, b.Config().RunDir)

	r := runProc(t, env, "sh", script, "-m", m, "-a", atc, "-d", build, "-b", sn, "-r", "west", "-n")
	if r.code != 0 || !strings.Contains(r.stdout, "west flash --build-dir "+build+" --runner nrfjprog --hex-file "+atc+" -i 960000760 --softreset") {
		t.Fatalf("dry run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(log); err == nil {
		t.Fatalf("the dry run ran a tool: %q", invocations(t, log))
	}
	r = runProc(t, env, "sh", script, "-m", m, "-a", atc, "-d", build, "-b", sn, "-r", "west", "--", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var rep provisionReport
	decode(t, r.stdout, "provision", &rep)
	if rep.Writes != 3 || len(rep.Results) != 3 {
		t.Fatalf("report %+v", rep)
	}
	inv := invocations(t, log)
	if len(inv) != 2 || inv[0][0] != "west" || inv[1][0] != "west" || !strings.Contains(strings.Join(inv[1], " "), "--build-dir "+build) {
		t.Fatalf("invocations %q", inv)
	}
	if st, _ := b.State(ctxT(t)); st.Firmware.ImageSHA256 != appSum {
		t.Fatalf("the board runs %s", st.Firmware.Personality)
	}
	if r := runProc(t, env, "sh", script, "-m", m, "-a", atc); r.code != 2 || !strings.Contains(r.stderr, "usage:") {
		t.Fatalf("no application: exit %d\n%s", r.code, r.stderr)
	}
}

// TestGDBRunnerResetAndRecovery: the built-in gdb runner over real TCP to the board's GDB server:
// `nrfprov reset --runner gdb` unsticks an AT host stuck inside quotes, and `provision --runner
// gdb` (no flashing) recovers a modem that hangs mid-run through `monitor reset`.
func TestGDBRunnerResetAndRecovery(t *testing.T) {
	t.Parallel()
	const sn = "000960000770"
	b := startBoard(t, sim.BoardConfig{SerialNumber: sn, RTT: true})
	srv := serveGDB(t, b)
	m, files := credSet(t, 31, "lf", "")
	breakBoard(t, b, 31, files["ca.pem"])
	before, _ := b.State(ctxT(t))
	env, _ := flashEnv(t, b.Config().RunDir)
	r := runNrfprovEnv(t, env, "", "reset", "--runner", "gdb", "--gdb-address", srv.Addr())
	if r.code != 0 {
		t.Fatalf("reset: exit %d\n%s", r.code, r.stderr)
	}
	if after, _ := b.State(ctxT(t)); after.RXInQuotes || after.Stats.Boots != before.Stats.Boots+1 || after.Halted {
		t.Fatalf("after the reset: in quotes %v, boots %d → %d, halted %v", after.RXInQuotes, before.Stats.Boots, after.Stats.Boots, after.Halted)
	}
	if err := b.WaitReady(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := b.InjectFault(ctxT(t), sim.Fault{Kind: "hang", Count: 9}); err != nil {
		t.Fatal(err)
	}
	rep := provisionJSON(t, 0, "--port", b.VCOM0(), "--modem-latency", "300ms", "provision", "-m", m, "--runner", "gdb", "--gdb-address", srv.Addr())
	if rep.Recoveries != 1 || len(rep.Results) != 3 {
		t.Fatalf("report %+v", rep)
	}
	for _, res := range rep.Results {
		if res.Outcome != "verified" {
			t.Fatalf("results %+v", rep.Results)
		}
	}
}

// TestFlashWorkflowInterruptedStillRestores: Ctrl-C while a credential is on the wire stops the
// provisioning, but the application still goes back before nrfprov exits (130).
func TestFlashWorkflowInterruptedStillRestores(t *testing.T) {
	t.Parallel()
	const sn = "000960000780"
	m, files := credSet(t, 12, "lf", "")
	b, app, appSum := appBoardCfg(t, sim.BoardConfig{SerialNumber: sn, Baud: 9600}, 12, files["ca.pem"])
	atc, _ := firmwareHex(t, t.TempDir(), "at_client.hex", sim.ATClient)
	env, log := flashEnv(t, b.Config().RunDir)
	cmd := exec.Command(nrfprovBin, "--board", sn, "--baud", "9600", "provision", "-m", m, "--runner", "nrfjprog",
		"--flash-at-client", atc, "--restore-app", app)
	cmd.Env = append(os.Environ(), stateDirEnv(t), "NRFPROV_PLUGIN_LOCK="+filepath.Join(t.TempDir(), "lock"), "NRFPROV_PLUGIN_DIR=", "NRFPROV_LOG_LEVEL=")
	cmd.Env = append(cmd.Env, env...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	ctx := ctxT(t)
	for {
		st, err := b.State(ctx)
		if err != nil {
			cmd.Process.Kill()
			t.Fatalf("%v; stderr:\n%s", err, errb.String())
		}
		// The AT client runs and a certificate is arriving (a long line at 9600 baud).
		if st.Firmware.Personality == sim.ATClient && st.RXInQuotes && st.RXPending > 100 {
			break
		}
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		cmd.Process.Kill()
		t.Fatalf("nrfprov did not end after the interrupt; stderr:\n%s", errb.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130; stderr:\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "flash: the application is back") {
		t.Fatalf("stderr:\n%s", errb.String())
	}
	st, err := b.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Firmware.ImageSHA256 != appSum {
		t.Fatalf("after the interrupt the board runs %s", st.Firmware.Personality)
	}
	inv := invocations(t, log)
	if last := strings.Join(inv[len(inv)-2], " "); !strings.Contains(last, "--program "+app) {
		t.Fatalf("invocations %q", inv)
	}
}
