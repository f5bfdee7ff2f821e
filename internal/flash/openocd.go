package flash

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// The nRF91 scripts of upstream OpenOCD (added after 0.12.0): a board script for the nRF9160 DK
// (J-Link OB, SWD) and the target script it sources, which defines nrf91_recover.
const (
	openocdBoardNRF91  = "board/nordic/nrf9160-dk.cfg"
	openocdTargetNRF91 = "target/nordic/nrf91.cfg"
	openocdJLink       = "interface/jlink.cfg"
)

// OpenOCDInfo is what an installed OpenOCD has.
type OpenOCDInfo struct {
	// Path is the executable, Version the first line of `openocd --version` ("Open On-Chip
	// Debugger 0.12.0").
	Path, Version string
	// Scripts is the scripts directory searched for the nRF91 scripts ("" when none found).
	Scripts string
	// Board and Target are the nRF91 board and target scripts found there, relative to
	// Scripts; empty when missing.
	Board, Target string
	// Recover: the target script defines nrf91_recover.
	Recover bool
}

// ErrOpenOCDNoNRF91: the installed OpenOCD has no nRF91 scripts (Debian's 0.12.0).
var ErrOpenOCDNoNRF91 = errors.New("flash: this OpenOCD has no nRF91 support")

// OpenOCDNoNRF91Error says which OpenOCD was found and what to do.
type OpenOCDNoNRF91Error struct{ Info OpenOCDInfo }

func (e *OpenOCDNoNRF91Error) Error() string {
	where := "no scripts directory found"
	if e.Info.Scripts != "" {
		where = "scripts " + e.Info.Scripts
	}
	return fmt.Sprintf("flash: runner openocd: %s (%s, %s) has neither %s nor %s: nRF91 support came to OpenOCD after 0.12.0; "+
		"use an OpenOCD built from current sources, give a config that drives your probe and an nRF91 with --openocd-config FILE, "+
		"or use another runner (nrfutil, nrfjprog, jlink)",
		cmp.Or(e.Info.Version, "OpenOCD"), e.Info.Path, where, openocdBoardNRF91, openocdTargetNRF91)
}

// Unwrap: an OpenOCD without nRF91 scripts is as good as none (ErrNotInstalled).
func (e *OpenOCDNoNRF91Error) Unwrap() []error { return []error{ErrOpenOCDNoNRF91, ErrNotInstalled} }

var openocdVersion = regexp.MustCompile(`Open On-Chip Debugger [^\r\n]*`)

// DetectOpenOCD runs `openocd --version` and looks for the nRF91 scripts where OpenOCD looks
// for its scripts: $OPENOCD_SCRIPTS, then <prefix>/share/openocd/scripts beside the executable
// (/usr/bin/openocd: /usr/share/openocd/scripts).
func DetectOpenOCD(ctx context.Context, look LookPath) (OpenOCDInfo, error) {
	if look == nil {
		look = exec.LookPath
	}
	var info OpenOCDInfo
	path, err := look("openocd")
	if err != nil {
		r, _ := Lookup("openocd")
		return info, &NotInstalledError{Runner: "openocd", Exe: "openocd", Install: r.Install}
	}
	info.Path = path
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// OpenOCD prints its version on stderr.
	out, err := exec.CommandContext(ctx, path, "--version").CombinedOutput()
	if err != nil {
		return info, fmt.Errorf("flash: %s --version: %w: %s", path, err, bytes.TrimSpace(out))
	}
	info.Version = strings.TrimSpace(openocdVersion.FindString(string(out)))
	if info.Version == "" {
		return info, fmt.Errorf("flash: %s --version printed %q, not OpenOCD's banner", path, bytes.TrimSpace(out))
	}
	var dirs []string
	dirs = append(dirs, filepath.SplitList(os.Getenv("OPENOCD_SCRIPTS"))...)
	if real, err := filepath.EvalSymlinks(path); err == nil {
		dirs = append(dirs, filepath.Join(filepath.Dir(real), "..", "share", "openocd", "scripts"))
	}
	dirs = append(dirs, filepath.Join(filepath.Dir(path), "..", "share", "openocd", "scripts"))
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if st, err := os.Stat(filepath.Join(d, "target")); err != nil || !st.IsDir() {
			continue
		}
		if info.Scripts == "" {
			info.Scripts = filepath.Clean(d)
		}
		if fileExists(filepath.Join(d, openocdBoardNRF91)) {
			info.Scripts, info.Board = filepath.Clean(d), openocdBoardNRF91
		}
		if raw, err := os.ReadFile(filepath.Join(d, openocdTargetNRF91)); err == nil {
			info.Scripts, info.Target = filepath.Clean(d), openocdTargetNRF91
			info.Recover = bytes.Contains(raw, []byte("nrf91_recover"))
		}
		if info.Target != "" || info.Board != "" {
			break
		}
	}
	return info, nil
}

// CheckOpenOCD settles the OpenOCD config of t. A config given by the user is taken as it is
// (and offers nrf91_recover when the file names it or sources the nRF91 target script);
// otherwise the installed OpenOCD's nRF91 board script, else its target script with the
// J-Link interface; an OpenOCD with neither is an OpenOCDNoNRF91Error.
func CheckOpenOCD(ctx context.Context, t *Target, look LookPath) error {
	if t.OpenOCDConfig != "" {
		if raw, err := os.ReadFile(t.OpenOCDConfig); err == nil {
			t.OpenOCDRecover = bytes.Contains(raw, []byte("nrf91_recover")) || bytes.Contains(raw, []byte(openocdTargetNRF91)) ||
				bytes.Contains(raw, []byte(openocdBoardNRF91))
		} else {
			t.OpenOCDRecover = t.OpenOCDConfig == openocdBoardNRF91 || t.OpenOCDConfig == openocdTargetNRF91
		}
		return nil
	}
	info, err := DetectOpenOCD(ctx, look)
	if err != nil {
		return err
	}
	switch {
	case info.Board != "":
		t.OpenOCDConfig = info.Board
	case info.Target != "":
		t.OpenOCDInterface, t.OpenOCDConfig = openocdJLink, info.Target
	default:
		return &OpenOCDNoNRF91Error{Info: info}
	}
	t.OpenOCDRecover = info.Recover
	return nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
