package flash

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func touch(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDiscoverHexOrder: runners.yaml first (its hex_file relative to the file, and the
// flash-runner), then merged.hex, zephyr/merged.hex, zephyr/zephyr.hex.
func TestDiscoverHexOrder(t *testing.T) {
	all := map[string]string{
		"merged.hex": "", "zephyr/merged.hex": "", "zephyr/zephyr.hex": "", "zephyr/tfm_merged.hex": "",
	}
	cases := []struct {
		name    string
		files   map[string]string
		want    string
		from    string
		fRunner string
	}{
		{"runners.yaml", map[string]string{"zephyr/runners.yaml": "runners: [nrfjprog, jlink]\nflash-runner: jlink\nconfig:\n  hex_file: tfm_merged.hex\n"},
			"zephyr/tfm_merged.hex", "zephyr/runners.yaml", "jlink"},
		{"sysbuild", map[string]string{}, "merged.hex", "merged.hex", ""},
		{"runners.yaml without a hex", map[string]string{"zephyr/runners.yaml": "flash-runner: nrfjprog\nconfig:\n  elf_file: zephyr.elf\n"},
			"merged.hex", "merged.hex", "nrfjprog"},
	}
	for _, c := range cases {
		dir := t.TempDir()
		touch(t, dir, all)
		touch(t, dir, c.files)
		b, err := DiscoverHex(dir)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if b.Hex != filepath.Join(dir, c.want) || b.From != c.from || b.FlashRunner != c.fRunner {
			t.Errorf("%s: %+v", c.name, b)
		}
	}
	// Remove them one by one: each next candidate takes over.
	dir := t.TempDir()
	touch(t, dir, all)
	for _, want := range []string{"merged.hex", "zephyr/merged.hex", "zephyr/zephyr.hex"} {
		b, err := DiscoverHex(dir)
		if err != nil || b.From != want {
			t.Fatalf("want %s: %+v %v", want, b, err)
		}
		os.Remove(filepath.Join(dir, filepath.FromSlash(want)))
	}
	_, err := DiscoverHex(dir)
	if !errors.Is(err, ErrNoHex) || !strings.Contains(err.Error(), "zephyr/zephyr.hex") {
		t.Fatalf("empty build: %v", err)
	}
}

// TestDiscoverHexErrors: a hex_file that is not there, a missing directory, broken YAML.
func TestDiscoverHexErrors(t *testing.T) {
	dir := t.TempDir()
	touch(t, dir, map[string]string{"zephyr/runners.yaml": "config:\n  hex_file: /nonexistent/zephyr.hex\n", "merged.hex": ""})
	if _, err := DiscoverHex(dir); !errors.Is(err, ErrNoHex) || !strings.Contains(err.Error(), "/nonexistent/zephyr.hex") {
		t.Errorf("missing hex_file: %v", err)
	}
	if _, err := DiscoverHex(filepath.Join(dir, "nope")); !errors.Is(err, ErrNoHex) {
		t.Errorf("missing dir: %v", err)
	}
	bad := t.TempDir()
	touch(t, bad, map[string]string{"zephyr/runners.yaml": "config: [\n"})
	if _, err := DiscoverHex(bad); !errors.Is(err, ErrNoHex) || !strings.Contains(err.Error(), "runners.yaml") {
		t.Errorf("bad yaml: %v", err)
	}
}

// TestDiscoverHexSysbuild: a sysbuild build directory (NCS 2.7 and later) as sysbuild writes it:
// domains.yaml names the default domain, whose own runners.yaml gives the runner and image
// (here the top-level merged.hex, as NCS points it); the top-level zephyr/ has no runners.yaml.
// Paths in domains.yaml may be absolute (older Zephyr) or relative (newer), and a moved build
// still finds its domain.
func TestDiscoverHexSysbuild(t *testing.T) {
	for _, c := range []struct {
		name, domains string
	}{
		{"relative", "default: app\nbuild_dir: .\ndomains:\n  - name: mcuboot\n    build_dir: mcuboot\n  - name: app\n    build_dir: app\nflash_order:\n  - mcuboot\n  - app\n"},
		{"absolute", "default: app\nbuild_dir: {dir}\ndomains:\n  - name: mcuboot\n    build_dir: {dir}/mcuboot\n  - name: app\n    build_dir: {dir}/app\n"},
		{"moved", "default: app\nbuild_dir: /gone/build\ndomains:\n  - name: app\n    build_dir: /gone/build/app\n"},
	} {
		dir := t.TempDir()
		touch(t, dir, map[string]string{
			"domains.yaml":                strings.ReplaceAll(c.domains, "{dir}", dir),
			"merged.hex":                  "",
			"app/zephyr/zephyr.hex":       "",
			"app/zephyr/runners.yaml":     "runners: [nrfjprog, nrfutil, jlink]\nflash-runner: jlink\nconfig:\n  hex_file: " + filepath.Join(dir, "merged.hex") + "\n",
			"mcuboot/zephyr/runners.yaml": "flash-runner: nrfutil\nconfig:\n  hex_file: zephyr.hex\n",
			"mcuboot/zephyr/zephyr.hex":   "",
		})
		b, err := DiscoverHex(dir)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if b.Hex != filepath.Join(dir, "merged.hex") || b.FlashRunner != "jlink" || b.Domain != "app" || b.From != "app/zephyr/runners.yaml" {
			t.Errorf("%s: %+v", c.name, b)
		}
	}
	// Without a hex_file in the domain's runners.yaml: merged.hex, then the domain's zephyr.hex.
	dir := t.TempDir()
	touch(t, dir, map[string]string{
		"domains.yaml":            "default: app\nbuild_dir: " + dir + "\ndomains:\n  - name: app\n    build_dir: " + dir + "/app\n",
		"app/zephyr/runners.yaml": "flash-runner: nrfjprog\n",
		"app/zephyr/zephyr.hex":   "",
		"merged.hex":              "",
		"zephyr/zephyr.hex":       "", // not the application's: sysbuild's own zephyr/ is no image
	})
	for _, want := range []string{"merged.hex", "app/zephyr/zephyr.hex"} {
		b, err := DiscoverHex(dir)
		if err != nil || b.From != want || b.FlashRunner != "nrfjprog" {
			t.Fatalf("want %s: %+v %v", want, b, err)
		}
		os.Remove(filepath.Join(dir, filepath.FromSlash(want)))
	}
	if _, err := DiscoverHex(dir); !errors.Is(err, ErrNoHex) || !strings.Contains(err.Error(), "default domain app") {
		t.Errorf("sysbuild without an image: %v", err)
	}
	// A domains.yaml whose default is not among its domains, and one that is not one at all.
	for _, bad := range []string{"default: app\nbuild_dir: .\ndomains:\n  - name: mcuboot\n    build_dir: mcuboot\n", "[1, 2]\n"} {
		d := t.TempDir()
		touch(t, d, map[string]string{"domains.yaml": bad, "merged.hex": ""})
		if _, err := DiscoverHex(d); !errors.Is(err, ErrNoHex) || !strings.Contains(err.Error(), "domains.yaml") {
			t.Errorf("bad domains.yaml %q: %v", bad, err)
		}
	}
}
