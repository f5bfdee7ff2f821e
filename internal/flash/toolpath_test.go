package flash

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestExeName(t *testing.T) {
	for _, tc := range []struct{ file, goos, want string }{
		{"JLinkExe", "windows", "JLink.exe"},
		{"JLinkExe", "linux", "JLinkExe"},
		{"JLinkExe", "darwin", "JLinkExe"},
		{"nrfjprog", "windows", "nrfjprog.exe"},
		{"nrfutil", "windows", "nrfutil.exe"},
		{"west", "windows", "west.exe"},
		{"nrfutil", "linux", "nrfutil"},
	} {
		if got := ExeName(tc.file, tc.goos); got != tc.want {
			t.Errorf("ExeName(%s, %s) = %s, want %s", tc.file, tc.goos, got, tc.want)
		}
	}
}

func installTool(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("tool"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// Not on PATH: the tools are found in their Windows install folders, under their Windows names.
func TestFindToolWindowsInstallFolders(t *testing.T) {
	pf, pf86 := t.TempDir(), t.TempDir()
	env := map[string]string{"ProgramFiles": pf, "ProgramFiles(x86)": pf86}
	var asked []string
	notOnPath := func(file string) (string, error) {
		asked = append(asked, file)
		return "", exec.ErrNotFound
	}
	if _, err := findTool("JLinkExe", "windows", func(k string) string { return env[k] }, notOnPath); !errors.Is(err, exec.ErrNotFound) {
		t.Fatalf("nothing installed: %v, want exec.ErrNotFound", err)
	}
	if len(asked) != 1 || asked[0] != "JLink.exe" {
		t.Fatalf("PATH was asked for %q, want JLink.exe", asked)
	}

	older := filepath.Join(pf86, "SEGGER", "JLink_V780", "JLink.exe")
	newer := filepath.Join(pf86, "SEGGER", "JLink_V794", "JLink.exe")
	installTool(t, older)
	installTool(t, newer)
	got, err := findTool("JLinkExe", "windows", func(k string) string { return env[k] }, notOnPath)
	if err != nil || got != newer {
		t.Fatalf("versioned folders: %q, %v; want the newest %s", got, err, newer)
	}
	plain := filepath.Join(pf, "SEGGER", "JLink", "JLink.exe")
	installTool(t, plain)
	if got, err := findTool("JLinkExe", "windows", func(k string) string { return env[k] }, notOnPath); err != nil || got != plain {
		t.Fatalf("default folder: %q, %v; want %s", got, err, plain)
	}

	nrfjprog := filepath.Join(pf, "Nordic Semiconductor", "nrf-command-line-tools", "bin", "nrfjprog.exe")
	installTool(t, nrfjprog)
	if got, err := findTool("nrfjprog", "windows", func(k string) string { return env[k] }, notOnPath); err != nil || got != nrfjprog {
		t.Fatalf("nrfjprog: %q, %v", got, err)
	}
}

// PATH wins over the install folders.
func TestFindToolPathFirst(t *testing.T) {
	onPath := func(file string) (string, error) { return "/somewhere/" + file, nil }
	got, err := findTool("JLinkExe", "linux", func(string) string { return "" }, onPath)
	if err != nil || got != "/somewhere/JLinkExe" {
		t.Fatalf("got %q, %v", got, err)
	}
}
