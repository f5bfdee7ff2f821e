package flash

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nrfprov/nrfprov/internal/testsupport"
)

func requireOpenOCD(t *testing.T) { testsupport.RequireTool(t, "openocd", "openocd") }

// TestCheckOpenOCDDebian: Debian's real openocd (0.12.0) is recognised by `openocd --version`,
// its scripts directory is found, and since it has no nRF91 scripts the runner refuses with a
// message naming the version, the scripts and the ways out (--openocd-config, another runner).
// Pointed (OPENOCD_SCRIPTS) at scripts that have upstream's nRF91 target script, the same
// openocd gets that script with the J-Link interface and nrf91_recover; a config the user gives
// is taken as it is.
func TestCheckOpenOCDDebian(t *testing.T) {
	requireOpenOCD(t)
	t.Setenv("OPENOCD_SCRIPTS", "")
	ctx := context.Background()
	info, err := DetectOpenOCD(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(info.Version, "Open On-Chip Debugger ") || info.Scripts == "" {
		t.Fatalf("detected %+v", info)
	}
	if _, err := os.Stat(filepath.Join(info.Scripts, "target", "nrf52.cfg")); err != nil {
		t.Errorf("scripts directory %s: %v", info.Scripts, err)
	}
	var tg Target
	err = CheckOpenOCD(ctx, &tg, nil)
	var no *OpenOCDNoNRF91Error
	if info.Board == "" && info.Target == "" {
		if !errors.As(err, &no) || !errors.Is(err, ErrNotInstalled) {
			t.Fatalf("an OpenOCD without nRF91 scripts: %v", err)
		}
		for _, w := range []string{info.Version, info.Scripts, "target/nordic/nrf91.cfg", "--openocd-config", "nrfjprog"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("message lacks %q: %v", w, err)
			}
		}
	} else if err != nil {
		t.Fatalf("an OpenOCD with nRF91 scripts (%+v): %v", info, err)
	}

	scripts := t.TempDir()
	if err := os.MkdirAll(filepath.Join(scripts, "target", "nordic"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := "# test stand-in for upstream's nRF91 target script\nproc nrf91_recover {} {}\n"
	if err := os.WriteFile(filepath.Join(scripts, "target", "nordic", "nrf91.cfg"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OPENOCD_SCRIPTS", scripts)
	tg = Target{Serial: "960000100"}
	if err := CheckOpenOCD(ctx, &tg, nil); err != nil {
		t.Fatal(err)
	}
	if tg.OpenOCDConfig != "target/nordic/nrf91.cfg" || tg.OpenOCDInterface != "interface/jlink.cfg" || !tg.OpenOCDRecover {
		t.Fatalf("with nRF91 scripts: %+v", tg)
	}
	r, _ := Lookup("openocd")
	cmds, err := r.PlanReset(tg, ResetSystem, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := render(cmds), "openocd -f interface/jlink.cfg -c 'transport select swd' -f target/nordic/nrf91.cfg -c 'adapter serial 960000100' -c init -c 'reset run' -c shutdown\n"; got != want {
		t.Errorf("reset: got %q, want %q", got, want)
	}

	own := filepath.Join(t.TempDir(), "my-nrf91.cfg")
	os.WriteFile(own, []byte("source [find interface/cmsis-dap.cfg]\nsource [find target/nordic/nrf91.cfg]\n"), 0o600)
	tg = Target{OpenOCDConfig: own}
	if err := CheckOpenOCD(ctx, &tg, nil); err != nil || tg.OpenOCDConfig != own || !tg.OpenOCDRecover {
		t.Fatalf("a config of one's own: %+v %v", tg, err)
	}
}
