package flash

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/marcinbor85/gohex"
)

// writeHex writes a 17-byte Intel HEX image at 0x8000.
func writeHex(t *testing.T, dir, name string) *Image {
	t.Helper()
	p := filepath.Join(dir, name)
	mem := gohex.NewMemory()
	if err := mem.AddBinary(0x8000, []byte("\x00\x00\x04\x20\x99\x82\x00\x00hello app")); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := mem.DumpIntelHex(&b, 16); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	img, err := LoadImage(p)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// render is what --dry-run prints: each generated command file, then the command line.
func render(cmds []Command) string {
	var b strings.Builder
	for _, c := range cmds {
		for _, f := range c.Files {
			fmt.Fprintf(&b, "# %s:\n%s", f.Path, f.Content)
		}
		fmt.Fprintln(&b, c.String())
	}
	return b.String()
}

// TestGoldenProgram: the exact command lines of each runner for programming, with the documented
// syntax (rtt-jlink-plugins.md §2.4–§2.7, modem-cmng-athost.md §5.3).
func TestGoldenProgram(t *testing.T) {
	dir := t.TempDir()
	img := writeHex(t, dir, "nrfprov-golden-app.hex")
	tgt := Target{Serial: "000960000100", BuildDir: "/ws/build", WestRunner: "nrfjprog", GDBAddress: "127.0.0.1:2331"}
	cases := []struct {
		runner string
		kind   ResetKind
		want   string
	}{
		{"nrfutil", ResetSystem, "nrfutil device program --firmware {dir}/nrfprov-golden-app.hex --serial-number 960000100 --options chip_erase_mode=ERASE_RANGES_TOUCHED_BY_FIRMWARE,verify=VERIFY_READ,reset=RESET_SYSTEM\n"},
		{"nrfutil", ResetPin, "nrfutil device program --firmware {dir}/nrfprov-golden-app.hex --serial-number 960000100 --options chip_erase_mode=ERASE_RANGES_TOUCHED_BY_FIRMWARE,verify=VERIFY_READ,reset=RESET_PIN\n"},
		{"nrfjprog", ResetSystem, "nrfjprog --program {dir}/nrfprov-golden-app.hex --sectorerase --verify -f NRF91 --snr 960000100\nnrfjprog --reset -f NRF91 --snr 960000100\n"},
		{"nrfjprog", ResetPin, "nrfjprog --program {dir}/nrfprov-golden-app.hex --sectorerase --verify -f NRF91 --snr 960000100\nnrfjprog --pinreset -f NRF91 --snr 960000100\n"},
		{"nrfjprog", ResetDebug, "nrfjprog --program {dir}/nrfprov-golden-app.hex --sectorerase --verify -f NRF91 --snr 960000100\nnrfjprog --debugreset -f NRF91 --snr 960000100\n"},
		{"jlink", ResetSystem, "# /work/nrfprov.jlink:\nExitOnError 1\nconnect\nr\nloadfile \"{dir}/nrfprov-golden-app.hex\"\nr\ng\nq\n" +
			"JLinkExe -USB 960000100 -nogui 1 -if SWD -speed 4000 -device nRF9160_xxAA -CommanderScript /work/nrfprov.jlink\n"},
		{"jlink", ResetPin, "# /work/nrfprov.jlink:\nExitOnError 1\nRSetType 2\nconnect\nr\nloadfile \"{dir}/nrfprov-golden-app.hex\"\nr\ng\nq\n" +
			"JLinkExe -USB 960000100 -nogui 1 -if SWD -speed 4000 -device nRF9160_xxAA -CommanderScript /work/nrfprov.jlink\n"},
		{"west", ResetSystem, "west flash --build-dir /ws/build --runner nrfjprog --hex-file {dir}/nrfprov-golden-app.hex -i 960000100 --softreset\n"},
		{"west", ResetPin, "west flash --build-dir /ws/build --runner nrfjprog --hex-file {dir}/nrfprov-golden-app.hex -i 960000100\n"},
		{"openocd", ResetSystem, "openocd -f board/nordic/nrf9160-dk.cfg -c 'adapter serial 960000100' -c 'program \"{dir}/nrfprov-golden-app.hex\" verify reset exit'\n"},
		{"gdb", ResetSystem, "(built in) gdb remote 127.0.0.1:2331: load nrfprov-golden-app.hex (hex, 17 bytes in 1 segments, 0x00008000-0x00008011, sha256 " + img.SHA256[:16] + "); monitor reset; monitor go\n"},
	}
	for _, c := range cases {
		r, err := Lookup(c.runner)
		if err != nil {
			t.Fatal(err)
		}
		cmds, err := r.PlanProgram(tgt, img, c.kind, "/work")
		if err != nil {
			t.Fatalf("%s %s: %v", c.runner, c.kind, err)
		}
		want := strings.ReplaceAll(c.want, "{dir}", dir)
		if got := render(cmds); got != want {
			t.Errorf("%s program, %s reset:\n got: %s\nwant: %s", c.runner, c.kind, got, want)
		}
	}
}

// TestGoldenReset: the exact reset command lines; west resets through its workspace runner.
func TestGoldenReset(t *testing.T) {
	tgt := Target{Serial: "960000100"}
	cases := []struct {
		runner, westRunner string
		kind               ResetKind
		want               string
	}{
		{"nrfutil", "", ResetSystem, "nrfutil device reset --reset-kind RESET_SYSTEM --serial-number 960000100\n"},
		{"nrfutil", "", ResetPin, "nrfutil device reset --reset-kind RESET_PIN --serial-number 960000100\n"},
		{"nrfutil", "", ResetDebug, "nrfutil device reset --reset-kind RESET_SOFT --serial-number 960000100\n"},
		{"nrfjprog", "", ResetSystem, "nrfjprog --reset -f NRF91 --snr 960000100\n"},
		{"nrfjprog", "", ResetPin, "nrfjprog --pinreset -f NRF91 --snr 960000100\n"},
		{"nrfjprog", "", ResetDebug, "nrfjprog --debugreset -f NRF91 --snr 960000100\n"},
		{"jlink", "", ResetSystem, "# /w/nrfprov.jlink:\nExitOnError 1\nconnect\nr\ng\nq\nJLinkExe -USB 960000100 -nogui 1 -if SWD -speed 4000 -device nRF9160_xxAA -CommanderScript /w/nrfprov.jlink\n"},
		{"west", "", ResetSystem, "nrfjprog --reset -f NRF91 --snr 960000100\n"},
		{"west", "nrfutil", ResetPin, "nrfutil device reset --reset-kind RESET_PIN --serial-number 960000100\n"},
		{"openocd", "", ResetSystem, "openocd -f board/nordic/nrf9160-dk.cfg -c 'adapter serial 960000100' -c init -c 'reset run' -c shutdown\n"},
	}
	for _, c := range cases {
		r, _ := Lookup(c.runner)
		tg := tgt
		tg.WestRunner = c.westRunner
		cmds, err := r.PlanReset(tg, c.kind, "/w")
		if err != nil {
			t.Fatalf("%s %s: %v", c.runner, c.kind, err)
		}
		if got := render(cmds); got != c.want {
			t.Errorf("%s reset %s:\n got: %s\nwant: %s", c.runner, c.kind, got, c.want)
		}
	}
}

// TestNoSerialDropsTheArguments: without a serial number the tools choose the one probe; the
// options that carry it disappear, and so do west's unset build directory and runner.
func TestNoSerialDropsTheArguments(t *testing.T) {
	img := writeHex(t, t.TempDir(), "a.hex")
	for name, want := range map[string]string{
		"nrfjprog": "nrfjprog --reset -f NRF91\n",
		"nrfutil":  "nrfutil device reset --reset-kind RESET_SYSTEM\n",
	} {
		r, _ := Lookup(name)
		cmds, _ := r.PlanReset(Target{}, "", "/w")
		if got := render(cmds); got != want {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
	r, _ := Lookup("west")
	cmds, _ := r.PlanProgram(Target{WestRunner: "jlink"}, img, ResetSystem, "/w")
	if got, want := cmds[0].String(), "west flash --runner jlink --hex-file "+img.Path; got != want {
		t.Errorf("west with the jlink runner takes no --softreset: got %q, want %q", got, want)
	}
	cmds, _ = r.PlanProgram(Target{}, img, ResetPin, "/w")
	if got, want := cmds[0].String(), "west flash --hex-file "+img.Path; got != want {
		t.Errorf("west: got %q, want %q", got, want)
	}
}

// TestUnsupportedResetKinds: a kind a runner (or the nRF91) cannot do is refused by name, with
// what it can do.
func TestUnsupportedResetKinds(t *testing.T) {
	for _, c := range []struct {
		runner string
		kind   ResetKind
		can    string
	}{
		{"jlink", ResetDebug, "system, pin"},
		{"openocd", ResetPin, "system"},
		{"gdb", ResetPin, "system"},
	} {
		r, _ := Lookup(c.runner)
		_, err := r.PlanReset(Target{GDBAddress: "h:1"}, c.kind, "/w")
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "it can: "+c.can) {
			t.Errorf("%s %s reset: %v", c.runner, c.kind, err)
		}
	}
	if _, err := ParseResetKind("hard"); err == nil {
		t.Error("reset kind hard accepted")
	}
}

// TestResolve: auto takes the first installed in the documented order; a named runner that is
// missing, and auto with none installed, name what to install.
func TestResolve(t *testing.T) {
	installed := func(have ...string) LookPath {
		return func(f string) (string, error) {
			for _, h := range have {
				if h == f {
					return "/usr/bin/" + f, nil
				}
			}
			return "", errors.New("not found")
		}
	}
	for _, c := range []struct {
		have []string
		want string
	}{
		{[]string{"openocd", "west", "JLinkExe", "nrfjprog", "nrfutil"}, "nrfutil"},
		{[]string{"openocd", "west", "JLinkExe", "nrfjprog"}, "nrfjprog"},
		{[]string{"openocd", "west", "JLinkExe"}, "jlink"},
		{[]string{"openocd", "west"}, "west"},
		{[]string{"openocd"}, "openocd"},
	} {
		r, err := Resolve("auto", Target{}, installed(c.have...))
		if err != nil || r.Name != c.want {
			t.Errorf("auto with %v: %v, %v; want %s", c.have, r, err, c.want)
		}
	}
	_, err := Resolve("auto", Target{}, installed())
	if !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("auto with nothing: %v", err)
	}
	for _, w := range []string{"nrfutil, nrfjprog, JLinkExe, west, openocd", "nrfutil install device", "J-Link Software", "OpenOCD with nRF91 support"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("auto with nothing: %q lacks %q", err, w)
		}
	}
	_, err = Resolve("jlink", Target{}, installed("nrfjprog"))
	var ni *NotInstalledError
	if !errors.As(err, &ni) || ni.Exe != "JLinkExe" || !strings.Contains(err.Error(), "SEGGER J-Link Software and Documentation Pack") {
		t.Errorf("missing JLinkExe: %v", err)
	}
	if _, err := Resolve("gdb", Target{}, installed()); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "--gdb-address") {
		t.Errorf("gdb without an address: %v", err)
	}
	if r, err := Resolve("gdb", Target{GDBAddress: "127.0.0.1:3333"}, installed()); err != nil || r.Name != "gdb" {
		t.Errorf("gdb with an address: %v %v", r, err)
	}
	if _, err := Resolve("pyocd", Target{}, installed()); err == nil || !strings.Contains(err.Error(), "auto, nrfutil, nrfjprog, jlink, west, openocd, gdb") {
		t.Errorf("unknown runner: %v", err)
	}
}

// TestTemplatesUseKnownPlaceholders: every placeholder in every template has a value for a full
// target and every kind the runner supports (an unknown one would silently drop arguments).
func TestTemplatesUseKnownPlaceholders(t *testing.T) {
	full := merge(Target{Serial: "1", BuildDir: "b", WestRunner: "r", GDBAddress: "g", OpenOCDInterface: "i"}.vars(),
		map[string]string{"hex": "h", "script": "s", "zip": "z"})
	for _, r := range runners {
		for kind, kv := range r.Kinds {
			vars := merge(full, kv)
			all := append(append(append(append(append([]template{}, r.Program...), r.Reset...), r.Recover...), r.ModemFirmware...), r.ProgramScript, r.ResetScript)
			for _, tm := range all {
				for _, g := range tm {
					for _, a := range g {
						for _, p := range placeholder.FindAllString(a, -1) {
							name := p[1 : len(p)-1]
							if _, ok := vars[name]; !ok && !strings.HasPrefix(name, "reset_") && name != "rsettype" && name != "west_reset" {
								t.Errorf("%s (%s): unknown placeholder %s", r.Name, kind, p)
							}
						}
					}
				}
			}
		}
	}
}

// TestELFImageConvertedForHexOnlyTools: an ELF reaches nrfjprog as an Intel HEX copy holding the
// same bytes at the same addresses; J-Link and gdb take the ELF itself.
func TestELFImageConvertedForHexOnlyTools(t *testing.T) {
	dir := t.TempDir()
	data := []byte("\x00\x00\x04\x20\x99\x82\x00\x00The AT host sample started\x00")
	p := filepath.Join(dir, "at_client.elf")
	if err := os.WriteFile(p, elf32(0x8000, data), 0o600); err != nil {
		t.Fatal(err)
	}
	img, err := LoadImage(p)
	if err != nil {
		t.Fatal(err)
	}
	if img.Format != "elf" || len(img.Segments) != 1 || img.Segments[0].Addr != 0x8000 || string(img.Segments[0].Data) != string(data) {
		t.Fatalf("elf image: %+v", img)
	}
	r, _ := Lookup("nrfjprog")
	cmds, err := r.PlanProgram(Target{}, img, ResetSystem, dir)
	if err != nil {
		t.Fatal(err)
	}
	hexPath := filepath.Join(dir, "at_client.hex")
	if len(cmds[0].Files) != 1 || cmds[0].Files[0].Path != hexPath || cmds[0].Argv[2] != hexPath {
		t.Fatalf("nrfjprog gets %v with files %v", cmds[0].Argv, cmds[0].Files)
	}
	if err := os.WriteFile(hexPath, []byte(cmds[0].Files[0].Content), 0o600); err != nil {
		t.Fatal(err)
	}
	back, err := LoadImage(hexPath)
	if err != nil {
		t.Fatal(err)
	}
	if back.SHA256 != img.SHA256 {
		t.Fatalf("the HEX copy differs from the ELF: %s vs %s", back.Describe(), img.Describe())
	}
	j, _ := Lookup("jlink")
	cmds, _ = j.PlanProgram(Target{}, img, ResetSystem, dir)
	if !strings.Contains(cmds[0].Files[0].Content, `loadfile "`+p+`"`) {
		t.Fatalf("J-Link should load the ELF itself:\n%s", cmds[0].Files[0].Content)
	}
}

// TestBadImages: missing files, text that is not Intel HEX, bad checksums, an ELF without
// loadable data: ErrImage, with the file named.
func TestBadImages(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{
		"text.hex":  []byte("hello\n"),
		"sum.hex":   []byte(":10800000000004209982000068656C6C6F20617071\n:00000001FF\n"),
		"empty.hex": []byte(":00000001FF\n"),
		"nobss.elf": elf32(0x20000000, nil),
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, content, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadImage(p); !errors.Is(err, ErrImage) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := LoadImage(filepath.Join(dir, "missing.hex")); !errors.Is(err, ErrImage) {
		t.Errorf("missing: %v", err)
	}
}

// TestGoldenRecover: the recover command lines; runners without one say which have it.
func TestGoldenRecover(t *testing.T) {
	tgt := Target{Serial: "000960000100"}
	for name, want := range map[string]string{
		"nrfutil":  "nrfutil device recover --serial-number 960000100\n",
		"nrfjprog": "nrfjprog --recover -f NRF91 --snr 960000100\n",
		"west":     "nrfjprog --recover -f NRF91 --snr 960000100\n",
	} {
		r, _ := Lookup(name)
		cmds, err := r.PlanRecover(tgt, "/w")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := render(cmds); got != want {
			t.Errorf("%s recover: got %q, want %q", name, got, want)
		}
	}
	for _, name := range []string{"jlink", "gdb"} {
		r, _ := Lookup(name)
		if _, err := r.PlanRecover(tgt, "/w"); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "has no recover") {
			t.Errorf("%s recover: %v", name, err)
		}
	}
	// OpenOCD recovers with nrf91_recover where its config defines it (upstream's nRF91 target
	// script), through the board script or the target script with the J-Link interface.
	oc, _ := Lookup("openocd")
	if _, err := oc.PlanRecover(tgt, "/w"); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "defines no nrf91_recover") {
		t.Errorf("openocd recover without nrf91_recover: %v", err)
	}
	for _, c := range []struct {
		tgt  Target
		want string
	}{
		{Target{Serial: "960000100", OpenOCDRecover: true},
			"openocd -f board/nordic/nrf9160-dk.cfg -c 'adapter serial 960000100' -c init -c nrf91_recover -c shutdown\n"},
		{Target{OpenOCDRecover: true, OpenOCDInterface: "interface/jlink.cfg", OpenOCDConfig: "target/nordic/nrf91.cfg"},
			"openocd -f interface/jlink.cfg -c 'transport select swd' -f target/nordic/nrf91.cfg -c init -c nrf91_recover -c shutdown\n"},
	} {
		cmds, err := oc.PlanRecover(c.tgt, "/w")
		if err != nil {
			t.Fatal(err)
		}
		if got := render(cmds); got != c.want {
			t.Errorf("openocd recover: got %q, want %q", got, c.want)
		}
	}
}
