package flash

import (
	"archive/zip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeZip writes a ZIP named name holding the given entries.
func writeZip(t *testing.T, dir, name string, entries ...string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, e := range entries {
		w, _ := zw.Create(e)
		w.Write([]byte("data of " + e))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

var modemEntries = []string{"firmware.update.image.segments.0.hex", "firmware.update.image.segments.1.hex", "firmware.update.image.digest.txt"}

// TestGoldenModemFirmware: the documented command lines, and only nrfutil and nrfjprog have one.
func TestGoldenModemFirmware(t *testing.T) {
	pkg, err := ReadModemPackage(writeZip(t, t.TempDir(), "mfw_nrf91x1_2.0.2.zip", modemEntries...))
	if err != nil {
		t.Fatal(err)
	}
	if pkg.Family != "nrf91x1" || pkg.Version != "2.0.2" || pkg.Revision() != "mfw_nrf91x1_2.0.2" || len(pkg.SHA256) != 64 {
		t.Fatalf("package %+v", pkg)
	}
	want := map[string]string{
		"nrfutil":  "nrfutil device program --firmware " + pkg.Path + " --serial-number 960000001",
		"nrfjprog": "nrfjprog --program " + pkg.Path + " -s 960000001 --verify",
	}
	for _, r := range runners {
		cmds, err := r.PlanModemFirmware(Target{Serial: "000960000001"}, pkg)
		w, can := want[r.Name]
		switch {
		case can && (err != nil || len(cmds) != 1 || cmds[0].String() != w):
			t.Errorf("%s: %v %v, want %s", r.Name, cmds, err, w)
		case !can && (!errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "nrfutil and nrfjprog can")):
			t.Errorf("%s: %v, want unsupported", r.Name, err)
		case can != r.CanProgramModem():
			t.Errorf("%s: CanProgramModem %v", r.Name, r.CanProgramModem())
		}
	}
	r, _ := Lookup("nrfutil")
	if cmds, _ := r.PlanModemFirmware(Target{}, pkg); cmds[0].String() != "nrfutil device program --firmware "+pkg.Path {
		t.Errorf("no serial number: %s", cmds[0])
	}
}

func TestBadModemPackages(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct {
		path string
		want string
	}{
		"renamed":     {writeZip(t, dir, "modem.zip", modemEntries...), "keep the downloaded file's name"},
		"application": {writeZip(t, dir, "mfw_nrf9160_1.3.6.zip", "manifest.json", "app.bin"), "application package"},
		"unpacked":    {filepath.Join(dir, "mfw_nrf9160_1.3.5.zip"), "not a ZIP"},
		"missing":     {filepath.Join(dir, "mfw_nrf9160_9.9.9.zip"), "no such file"},
	} {
		if name == "unpacked" {
			os.WriteFile(c.path, []byte(":00000001FF\n"), 0o600)
		}
		_, err := ReadModemPackage(c.path)
		if !errors.Is(err, ErrImage) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}
