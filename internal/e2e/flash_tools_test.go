package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nrfprov/nrfprov/internal/sim"
)

// sysbuildBuild lays out a build directory the way sysbuild (NCS 2.7 and later) writes it:
// domains.yaml naming the default domain "app" (and an mcuboot domain), each domain's own
// <domain>/zephyr/runners.yaml, the application's hex_file pointing at the top-level merged.hex,
// and no runners.yaml in the top-level zephyr/.
func sysbuildBuild(t *testing.T, app, runner string) string {
	t.Helper()
	build := filepath.Join(t.TempDir(), "build")
	for _, d := range []string{"zephyr", "app/zephyr", "mcuboot/zephyr"} {
		if err := os.MkdirAll(filepath.Join(build, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, app, filepath.Join(build, "merged.hex"))
	files := map[string]string{
		"domains.yaml": fmt.Sprintf("default: app\nbuild_dir: %s\ndomains:\n  - name: mcuboot\n    build_dir: %s/mcuboot\n  - name: app\n    build_dir: %s/app\nflash_order:\n  - mcuboot\n  - app\n",
			build, build, build),
		"app/zephyr/runners.yaml": fmt.Sprintf("runners: [nrfjprog, nrfutil, jlink]\nflash-runner: %s\nconfig:\n  hex_file: %s\n",
			runner, filepath.Join(build, "merged.hex")),
		// mcuboot's own runner: must not be the one used.
		"mcuboot/zephyr/runners.yaml": "runners: [nrfutil]\nflash-runner: nrfutil\nconfig:\n  hex_file: zephyr.hex\n",
		"mcuboot/zephyr/zephyr.hex":   "",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(build, filepath.FromSlash(name)), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return build
}

// TestFlashBuildRunnerBothLayouts: without --runner, a build directory's runners.yaml picks the
// runner (not the auto order, which would take nrfutil) — for a plain build and for a sysbuild
// one, where the default domain's runners.yaml counts and the top-level merged.hex is the image.
// The board ends up running that image.
func TestFlashBuildRunnerBothLayouts(t *testing.T) {
	t.Parallel()
	const sn = "000960000760"
	b := startBoard(t, sim.BoardConfig{SerialNumber: sn})
	app, appSum := firmwareHex(t, t.TempDir(), "app.hex", sim.Application)
	atc, atcSum := firmwareHex(t, t.TempDir(), "at_client.hex", sim.ATClient)
	for _, c := range []struct {
		layout, runner, exe, hex string
		image, sum               string
	}{
		{"plain", "jlink", "JLinkExe", "zephyr/zephyr.hex", app, appSum},
		{"sysbuild", "nrfjprog", "nrfjprog", "merged.hex", atc, atcSum},
		{"sysbuild", "jlink", "JLinkExe", "merged.hex", app, appSum},
	} {
		var build string
		if c.layout == "plain" {
			build = appBuild(t, c.image, c.runner)
		} else {
			build = sysbuildBuild(t, c.image, c.runner)
		}
		env, log := flashEnv(t, b.Config().RunDir)
		r := runNrfprovEnv(t, env, "", "--board", sn, "flash", "--build-dir", build)
		if r.code != 0 || !strings.Contains(r.stdout, "with "+c.runner) {
			t.Fatalf("%s %s: exit %d\n%s%s", c.layout, c.runner, r.code, r.stdout, r.stderr)
		}
		inv := invocations(t, log)
		if len(inv) == 0 || inv[0][0] != c.exe {
			t.Fatalf("%s %s: invocations %q", c.layout, c.runner, inv)
		}
		if c.exe == "nrfjprog" && inv[0][2] != filepath.Join(build, filepath.FromSlash(c.hex)) {
			t.Fatalf("%s: programmed %s, want %s", c.layout, inv[0][2], c.hex)
		}
		if st, _ := b.State(ctxT(t)); st.Firmware.ImageSHA256 != c.sum {
			t.Fatalf("%s %s: the board runs %s", c.layout, c.runner, st.Firmware.Personality)
		}
		if err := b.WaitReady(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFlashDryRunWithoutTools: with no vendor tool on PATH at all, --dry-run still prints the
// exact lines: of the build's runners.yaml runner (sysbuild here), else of the first runner auto
// would try; a real run says what to install (exit 11).
func TestFlashDryRunWithoutTools(t *testing.T) {
	t.Parallel()
	app, _ := firmwareHex(t, t.TempDir(), "app.hex", sim.Application)
	build := sysbuildBuild(t, app, "nrfjprog")
	env := []string{"PATH=" + t.TempDir()} // an empty directory: no tool at all
	r := runNrfprovEnv(t, env, "", "--board", "960000761", "flash", "--build-dir", build, "--dry-run")
	merged := filepath.Join(build, "merged.hex")
	want := "nrfjprog --program " + merged + " --sectorerase --verify -f NRF91 --snr 960000761\nnrfjprog --reset -f NRF91 --snr 960000761\n"
	if r.code != 0 || r.stdout != want || !strings.Contains(r.stderr, "nrfjprog is not on PATH") {
		t.Fatalf("exit %d\n got: %q\nwant: %q\n%s", r.code, r.stdout, want, r.stderr)
	}
	r = runNrfprovEnv(t, env, "", "--board", "960000761", "flash", app, "--dry-run")
	want = "nrfutil device program --firmware " + app + " --serial-number 960000761 --options chip_erase_mode=ERASE_RANGES_TOUCHED_BY_FIRMWARE,verify=VERIFY_READ,reset=RESET_SYSTEM\n"
	if r.code != 0 || r.stdout != want || !strings.Contains(r.stderr, "showing what nrfutil would run") {
		t.Fatalf("auto: exit %d\n got: %q\nwant: %q\n%s", r.code, r.stdout, want, r.stderr)
	}
	r = runNrfprovEnv(t, env, "", "--board", "960000761", "flash", "--build-dir", build)
	if r.code != 11 || !strings.Contains(r.stderr, "nRF Command Line Tools") {
		t.Fatalf("real run without nrfjprog: exit %d\n%s", r.code, r.stderr)
	}
}

// TestFlashProtectedDevice: a protected device (APPROTECT) makes nrfjprog exit 16, its
// documented UnavailableOperationBecauseProtectionError; nrfprov says what that is and to run
// with --recover, which then unlocks the device and programs it. An unknown probe serial
// number (nrfjprog's 40, InvalidSerialNumberError) gets its own hint.
func TestFlashProtectedDevice(t *testing.T) {
	t.Parallel()
	const sn = "000960000770"
	b := startBoard(t, sim.BoardConfig{SerialNumber: sn})
	app, appSum := firmwareHex(t, t.TempDir(), "app.hex", sim.Application)
	marker := filepath.Join(b.Config().RunDir, sn+".protected")
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	env, _ := flashEnv(t, b.Config().RunDir)
	r := runNrfprovEnv(t, env, "", "--board", sn, "flash", app, "--runner", "nrfjprog")
	if r.code != 11 || !strings.Contains(r.stderr, "exit status 16") || !strings.Contains(r.stderr, "UnavailableOperationBecauseProtectionError") ||
		!strings.Contains(r.stderr, "hint: the device is protected") || !strings.Contains(r.stderr, "--recover") {
		t.Fatalf("protected: exit %d\n%s", r.code, r.stderr)
	}
	if st, _ := b.State(ctxT(t)); st.Firmware.ImageSHA256 == appSum {
		t.Fatal("a protected device was programmed")
	}
	r = runNrfprovEnv(t, env, "", "--board", sn, "flash", app, "--runner", "nrfjprog", "--recover")
	if r.code != 0 {
		t.Fatalf("--recover: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("--recover left the device protected")
	}
	if st, _ := b.State(ctxT(t)); st.Firmware.ImageSHA256 != appSum {
		t.Fatalf("after --recover the board runs %s", st.Firmware.Personality)
	}
	r = runNrfprovEnv(t, env, "", "--board", "960000779", "reset", "--runner", "nrfjprog")
	if r.code != 11 || !strings.Contains(r.stderr, "exit status 40") || !strings.Contains(r.stderr, "hint: no J-Link with that serial number") {
		t.Fatalf("unknown probe: exit %d\n%s", r.code, r.stderr)
	}
}

// TestRunnerSerialOnlyFromJLinkPorts: without --board, the probe's serial number comes from the
// port's USB device only when that is a J-Link (SEGGER, VID 0x1366); a port on another device
// (an FTDI cable here) makes nrfprov ask for --board instead of passing a number that is not
// the probe's.
func TestRunnerSerialOnlyFromJLinkPorts(t *testing.T) {
	t.Parallel()
	const sn = "000960000780"
	b := startBoard(t, sim.BoardConfig{SerialNumber: sn})
	env, _ := flashEnv(t, b.Config().RunDir)
	r := runNrfprovEnv(t, env, "", "--port", b.VCOM0(), "reset", "--runner", "nrfjprog", "--dry-run")
	if r.code != 0 || r.stdout != "nrfjprog --reset -f NRF91 --snr 960000780\n" {
		t.Fatalf("J-Link port: exit %d\n%q\n%s", r.code, r.stdout, r.stderr)
	}
	vid := filepath.Join(b.Config().RunDir, "sys", "devices", "nrfsim", sn, "idVendor")
	if err := os.WriteFile(vid, []byte("0403\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runNrfprovEnv(t, env, "", "--port", b.VCOM0(), "reset", "--runner", "nrfjprog", "--dry-run")
	if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "not a SEGGER J-Link") || !strings.Contains(r.stderr, "--board") {
		t.Fatalf("FTDI port: exit %d\n%q\n%s", r.code, r.stdout, r.stderr)
	}
	r = runNrfprovEnv(t, env, "", "--port", b.VCOM0(), "--board", sn, "reset", "--runner", "nrfjprog", "--dry-run")
	if r.code != 0 || r.stdout != "nrfjprog --reset -f NRF91 --snr 960000780\n" {
		t.Fatalf("FTDI port with --board: exit %d\n%q\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestWestExtensionSysbuild: `west nrfprov flash -d BUILD` on a sysbuild build directory takes
// the runner of the default domain's runners.yaml (jlink; mcuboot's says nrfutil, the auto order
// would take nrfutil too) and the top-level merged.hex, through the real nrfprov and the
// stand-ins onto a board.
func TestWestExtensionSysbuild(t *testing.T) {
	t.Parallel()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is needed for the west extension: ", err)
	}
	script := filepath.Join("..", "..", "scripts", "west_commands", "test_nrfprov_west.py")
	const sn = "000960000790"
	b := startBoard(t, sim.BoardConfig{SerialNumber: sn})
	app, appSum := firmwareHex(t, t.TempDir(), "app.hex", sim.Application)
	build := sysbuildBuild(t, app, "jlink")
	env, log := flashEnv(t, b.Config().RunDir)
	r := runProc(t, env, py, script, "west", "nrfprov", "flash", "-d", build, "--board", sn)
	if r.code != 0 || !strings.Contains(r.stdout, "with jlink") {
		t.Fatalf("west nrfprov flash: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	inv := invocations(t, log)
	if len(inv) != 1 || inv[0][0] != "JLinkExe" {
		t.Fatalf("invocations %q", inv)
	}
	if st, _ := b.State(ctxT(t)); st.Firmware.ImageSHA256 != appSum {
		t.Fatalf("the board runs %s", st.Firmware.Personality)
	}
}
