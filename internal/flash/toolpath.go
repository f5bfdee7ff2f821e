package flash

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
)

// FindTool is the LookPath nrfprov uses for the vendor tools: the tool's name on this OS
// (J-Link Commander is JLink.exe on Windows, JLinkExe elsewhere; Windows adds .exe to the
// others), on PATH first, then in the folders the vendors' installers use. Runner tables keep
// the Unix names; only the lookup knows about Windows.
func FindTool(file string) (string, error) {
	return findTool(file, runtime.GOOS, os.Getenv, exec.LookPath)
}

// windowsNames are the tools whose Windows executable is not just the Unix name plus .exe.
var windowsNames = map[string]string{"JLinkExe": "JLink.exe"}

// ExeName is the executable a runner's tool has on goos.
func ExeName(file, goos string) string {
	if goos != "windows" {
		return file
	}
	if w, ok := windowsNames[file]; ok {
		return w
	}
	if filepath.Ext(file) == "" {
		return file + ".exe"
	}
	return file
}

// installGlobs are where the installers put each tool when it is not on PATH (globs: the
// SEGGER pack can install into a versioned JLink_V794 folder beside JLink).
func installGlobs(file, goos string, getenv func(string) string) []string {
	var dirs []string
	switch goos {
	case "windows":
		for _, pf := range []string{getenv("ProgramFiles"), getenv("ProgramFiles(x86)")} {
			if pf == "" {
				continue
			}
			switch file {
			case "JLinkExe":
				dirs = append(dirs, filepath.Join(pf, "SEGGER", "JLink"), filepath.Join(pf, "SEGGER", "JLink_V*"))
			case "nrfjprog":
				dirs = append(dirs, filepath.Join(pf, "Nordic Semiconductor", "nrf-command-line-tools", "bin"))
			}
		}
	case "darwin":
		switch file {
		case "JLinkExe":
			dirs = append(dirs, "/Applications/SEGGER/JLink", "/Applications/SEGGER/JLink_V*")
		case "nrfjprog":
			dirs = append(dirs, "/usr/local/bin", "/opt/homebrew/bin")
		case "nrfutil":
			dirs = append(dirs, "/usr/local/bin", "/opt/homebrew/bin")
		}
	default:
		switch file {
		case "JLinkExe":
			dirs = append(dirs, "/opt/SEGGER/JLink", "/opt/SEGGER/JLink_V*")
		case "nrfjprog":
			dirs = append(dirs, "/opt/nrf-command-line-tools/bin")
		}
	}
	exe := ExeName(file, goos)
	globs := make([]string, 0, len(dirs))
	for _, d := range dirs {
		globs = append(globs, filepath.Join(d, exe))
	}
	return globs
}

func findTool(file, goos string, getenv func(string) string, look LookPath) (string, error) {
	exe := ExeName(file, goos)
	path, err := look(exe)
	if err == nil {
		return path, nil
	}
	for _, g := range installGlobs(file, goos, getenv) {
		matches, _ := filepath.Glob(g)
		// The newest versioned folder sorts last (JLink_V794 after JLink_V780); a plain JLink
		// folder, the installer's default, comes first in the glob list and wins.
		slices.Reverse(matches)
		for _, m := range matches {
			if st, err := os.Stat(m); err == nil && st.Mode().IsRegular() {
				return m, nil
			}
		}
	}
	return "", &exec.Error{Name: exe, Err: errors.Join(exec.ErrNotFound, err)}
}
