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
			"zephyr/tfm_merged.hex", "runners.yaml", "jlink"},
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
