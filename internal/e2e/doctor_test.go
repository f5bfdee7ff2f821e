package e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/flash"
	"github.com/nrfprov/nrfprov/internal/sim"
	"github.com/nrfprov/nrfprov/internal/testsupport"
)

type doctorCheck struct {
	Area   string `json:"area"`
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix"`
}

func doctorChecks(t *testing.T, out string) map[string]doctorCheck {
	t.Helper()
	var rep struct {
		Checks []doctorCheck `json:"checks"`
	}
	decode(t, out, "doctor", &rep)
	m := map[string]doctorCheck{}
	for _, c := range rep.Checks {
		m[c.Area+"/"+c.Name] = c
	}
	return m
}

// TestDoctorRunners: with the vendor tools' stand-ins on PATH doctor reports each with its path
// and the version it prints; Debian's OpenOCD is found and its missing nRF91 board script
// reported; with none of them it says what to install, and nothing of that blocks.
func TestDoctorRunners(t *testing.T) {
	t.Parallel()
	openocd := testsupport.RequireTool(t, "openocd", "openocd")
	run := t.TempDir()
	startBoard(t, sim.BoardConfig{RunDir: run, SerialNumber: "000960000071"})
	boardEnv := []string{"NRFPROV_SYSFS_ROOT=" + filepath.Join(run, "sys"), "NRFPROV_DEV_ROOT=" + filepath.Join(run, "dev")}

	withOCD := t.TempDir()
	if err := os.Symlink(openocd, filepath.Join(withOCD, "openocd")); err != nil {
		t.Fatal(err)
	}
	env := append([]string{"PATH=" + standins(t) + string(os.PathListSeparator) + withOCD}, boardEnv...)
	r := runNrfprovEnv(t, env, "", "doctor", "--json", "--jlink-rtt", "")
	if r.code != 0 {
		t.Fatalf("doctor with the tools present: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	m := doctorChecks(t, r.stdout)
	for name, want := range map[string]string{
		"nrfjprog": "nrfjprog version: 10.24.2", "nrfutil": "nrfutil 7.13.0", "west": "West version: v1.2.0", "jlink": "JLinkExe",
	} {
		c := m["runner/"+name]
		if c.Status != "ok" || !strings.Contains(c.Detail, standins(t)) || !strings.Contains(c.Detail, want) {
			t.Errorf("runner %s: %+v, want ok at %s with %q", name, c, standins(t), want)
		}
	}
	if c := m["runner/openocd"]; c.Status != "warn" || !strings.Contains(c.Detail, "Open On-Chip Debugger") ||
		!strings.Contains(c.Detail, "no nRF91 support") || !strings.Contains(c.Fix, "--runner") {
		t.Errorf("openocd: %+v, want Debian's version and no nRF91 board script", c)
	}
	if c := m["board/000960000071"]; c.Status != "ok" || !strings.Contains(c.Detail, "nRF9160 DK") {
		t.Errorf("board: %+v (all: %v)", c, m)
	}
	if c := m["transport/serial"]; c.Status != "ok" {
		t.Errorf("serial transport: %+v", c)
	}

	// None installed: each missing one says what to install; provisioning is not blocked.
	r = runNrfprovEnv(t, append([]string{"PATH=" + t.TempDir()}, boardEnv...), "", "doctor", "--jlink-rtt", "")
	if r.code != 0 {
		t.Fatalf("doctor without tools: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	ocd, err := flash.Lookup("openocd")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"INFO  runner", "nrfjprog is not on PATH", "nrfutil install device", ocd.Install,
		"no flash tool is installed", "nothing blocks provisioning"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("doctor without tools lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestDoctorStaleGUIServer: a J-Link GUI server answering on the RTT port is named, with what
// to close.
func TestDoctorStaleGUIServer(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{})
	gui, err := sim.ServeRTTTelnet(b, sim.TelnetOptions{GUIServer: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gui.Close() })
	r := runNrfprovEnv(t, []string{"PATH=" + t.TempDir(), "NRFPROV_SYSFS_ROOT=" + t.TempDir()}, "", "doctor", "--json", "--jlink-rtt", gui.Addr())
	m := doctorChecks(t, r.stdout)
	if c := m["jlink/"+gui.Addr()]; c.Status != "warn" || !strings.Contains(c.Detail, "J-Link GUI server") || !strings.Contains(c.Fix, "close JLinkGUIServer") {
		t.Errorf("GUI server: %+v", c)
	}
}

// TestDoctorPortWithoutPermission: a board whose port this user may not open blocks
// provisioning: doctor says which group to join and exits non-zero. As root (who may open
// anything) nrfprov runs as user nobody.
func TestDoctorPortWithoutPermission(t *testing.T) {
	t.Parallel()
	run := t.TempDir()
	b := startBoard(t, sim.BoardConfig{RunDir: run, SerialNumber: "000960000072"})
	port, err := filepath.EvalSymlinks(b.VCOM0())
	if err != nil {
		t.Fatal(err)
	}
	bin := nrfprovBin
	var cred *syscall.Credential
	if os.Getuid() == 0 {
		if err := os.Chmod(port, 0o660); err != nil {
			t.Fatal(err)
		}
		// nobody needs a binary it may run and a sysfs tree it may read.
		dir, err := os.MkdirTemp("", "nrfprov-doctor-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		for _, p := range []string{dir, run, filepath.Dir(run)} {
			if err := os.Chmod(p, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		bin = filepath.Join(dir, "nrfprov")
		copyFile(t, nrfprovBin, bin)
		if err := os.Chmod(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		cred = &syscall.Credential{Uid: 65534, Gid: 65534}
	} else if err := os.Chmod(port, 0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "doctor", "--jlink-rtt", "", "--plugin-lock", filepath.Join(filepath.Dir(bin), "lock"))
	cmd.Env = append(os.Environ(), "PATH="+t.TempDir(), "HOME="+filepath.Dir(bin), "NRFPROV_PLUGIN_DIR=",
		"NRFPROV_SYSFS_ROOT="+filepath.Join(run, "sys"), "NRFPROV_DEV_ROOT="+filepath.Join(run, "dev"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("doctor on a port without permission: %v, want exit 1\n%s", err, out)
	}
	for _, want := range []string{"FAIL  port", "ttyNRFSIM000960000072", "this user may not open it", "1 problem(s) block provisioning"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("doctor lacks %q:\n%s", want, out)
		}
	}
	if cred != nil && !strings.Contains(string(out), "usermod -aG") {
		t.Errorf("doctor does not say which group to join:\n%s", out)
	}
}
