package doctor

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nrfprov/nrfprov/plugin"
	"github.com/nrfprov/nrfprov/serialio"
)

func byName(r Report) map[string]Check {
	m := map[string]Check{}
	for _, c := range r.Checks {
		m[c.Area+"/"+c.Name] = c
	}
	return m
}

func TestTransportsPinnedUnpinnedChanged(t *testing.T) {
	dir := t.TempDir()
	exe := func(name, content string) plugin.Found {
		p := filepath.Join(dir, plugin.ExecutablePrefix+name)
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
		return plugin.Found{Name: name, Path: p, Source: plugin.SourcePluginDir}
	}
	pinned, loose, changed := exe("tcp", "#!/bin/sh\n"), exe("ble", "#!/bin/sh\n# ble\n"), exe("usb", "#!/bin/sh\n# v2\n")
	sum := sha256.Sum256([]byte("#!/bin/sh\n"))
	old := sha256.Sum256([]byte("#!/bin/sh\n# v1\n"))
	env := Env{LookPath: exec.LookPath, Transports: []plugin.Found{{Name: "serial", Source: plugin.SourceBuiltin}, pinned, loose, changed},
		Pins: plugin.Checksums{"tcp": sum[:], "usb": old[:]}}
	m := byName(Report{Checks: transports(env)})
	for name, want := range map[string]Status{"serial": OK, "tcp": OK, "ble": Warn, "usb": Warn} {
		if c := m["transport/"+name]; c.Status != want {
			t.Errorf("%s: %+v, want %s", name, c, want)
		}
	}
	if !strings.Contains(m["transport/ble"].Fix, "transports lock") || !strings.Contains(m["transport/usb"].Detail, "changed since it was pinned") {
		t.Errorf("fixes: %+v %+v", m["transport/ble"], m["transport/usb"])
	}
	// An unreadable lock file blocks every board command.
	env.PinsErr = errors.New("lock file: bad JSON")
	r := Report{Checks: transports(env)}
	if len(r.Blocking()) != 1 {
		t.Errorf("unreadable lock file does not block: %+v", r.Checks)
	}
}

func TestUdevRuleAndPorts(t *testing.T) {
	rules := t.TempDir()
	ports := func() ([]serialio.PortInfo, error) {
		return []serialio.PortInfo{
			{Path: "/dev/ttyACM0", VID: "1366", PID: "1055", SerialNumber: "000960000001", Interface: 0},
			{Path: "/dev/ttyACM1", VID: "1366", PID: "1055", SerialNumber: "000960000001", Interface: 2},
		}, nil
	}
	denied := func(p string) error {
		if p == "/dev/ttyACM1" {
			return &PermissionError{Path: p, Group: "dialout", User: "ada"}
		}
		return nil
	}
	env := Env{LookPath: exec.LookPath, Ports: ports, CanOpen: denied, UdevDirs: []string{rules}, OS: "linux"}
	m := byName(Report{Checks: append([]Check(nil), portsAndBoards(env)...)})
	if c := m["udev/J-Link"]; c.Status != Warn || !strings.Contains(c.Fix, "99-jlink.rules") {
		t.Errorf("no rule: %+v", c)
	}
	if c := m["port//dev/ttyACM1"]; c.Status != Fail || c.Fix != "run `sudo usermod -aG dialout ada`, then log out and in again" {
		t.Errorf("denied port: %+v", c)
	}
	if c := m["port//dev/ttyACM0"]; c.Status != OK {
		t.Errorf("open port: %+v", c)
	}
	if c := m["board/000960000001"]; c.Status != OK || !strings.Contains(c.Detail, "nRF9160 DK, VCOM0 /dev/ttyACM0 (2 ports)") {
		t.Errorf("board: %+v", c)
	}
	if err := os.WriteFile(filepath.Join(rules, "99-jlink.rules"), []byte("# SEGGER\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if c := byName(Report{Checks: portsAndBoards(env)})["udev/J-Link"]; c.Status != OK {
		t.Errorf("with the rule: %+v", c)
	}
	// Elsewhere than Linux there is no udev.
	env.OS = "windows"
	if _, ok := byName(Report{Checks: portsAndBoards(env)})["udev/J-Link"]; ok {
		t.Error("udev checked on windows")
	}
}

func TestPermissionFix(t *testing.T) {
	for _, c := range []struct {
		e    PermissionError
		want string
	}{
		{PermissionError{Path: "/dev/ttyACM0", Group: "dialout", User: "ada"}, "sudo usermod -aG dialout ada"},
		{PermissionError{Path: "/dev/ttyACM0", Group: "uucp", User: "ada", InGroup: true}, "log out and in again (or run `newgrp uucp`)"},
		{PermissionError{Path: "/dev/ttyACM0"}, "ask the administrator"},
	} {
		if f := c.e.Fix(); !strings.Contains(f, c.want) {
			t.Errorf("%+v: %q, want %q", c.e, f, c.want)
		}
	}
}

func TestAccessOnAPortWithoutPermission(t *testing.T) {
	if os.Getuid() == 0 {
		// root may open anything; e2e's TestDoctorPortWithoutPermission runs as nobody.
		if err := Access("/dev/null"); err != nil {
			t.Fatal(err)
		}
		return
	}
	p := filepath.Join(t.TempDir(), "ttyACM9")
	if err := os.WriteFile(p, nil, 0); err != nil {
		t.Fatal(err)
	}
	var pe *PermissionError
	if err := Access(p); !errors.As(err, &pe) || pe.Group == "" {
		t.Fatalf("Access on mode 000: %v", err)
	}
}

func TestRunnersMissingSayWhatToInstall(t *testing.T) {
	env := Env{LookPath: func(string) (string, error) { return "", exec.ErrNotFound }}
	m := byName(Run(context.Background(), env))
	if c := m["runner/nrfjprog"]; c.Status != Info || !strings.Contains(c.Fix, "nRF Command Line Tools") {
		t.Errorf("nrfjprog: %+v", c)
	}
	if c := m["runner/any"]; c.Status != Warn {
		t.Errorf("no runner at all: %+v", c)
	}
	if b := Run(context.Background(), env).Blocking(); len(b) != 0 {
		t.Errorf("missing runners block: %+v", b)
	}
}
