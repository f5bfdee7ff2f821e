package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nrfprov/nrfprov/internal/sim"
)

// nrfsim as people run it by hand: a run directory relative to the shell's working directory,
// Ctrl-C or kill to stop it, faults typed into `nrfsim ctl`.

// TestRelativeRunDir: with --run-dir given relative to the working directory, every link of the
// published USB tree resolves (they used to name their targets relative to the working
// directory, from inside the tree, and so pointed nowhere).
func TestRelativeRunDir(t *testing.T) {
	work := t.TempDir()
	p := startSimIn(t, work, 8, "--boards", "8", "--run-dir", "run8")
	run := filepath.Join(work, "run8")
	for _, l := range p.lines {
		tty := "ttyNRFSIM" + l.SerialNumber
		port, err := filepath.EvalSymlinks(filepath.Join(run, "dev", tty))
		if err != nil || port != l.PTY {
			t.Fatalf("dev/%s resolves to %q (%v), want the board's pty %s", tty, port, err, l.PTY)
		}
		iface, err := filepath.EvalSymlinks(filepath.Join(run, "sys", "class", "tty", tty, "device"))
		if err != nil {
			t.Fatalf("sys/class/tty/%s/device: %v", tty, err)
		}
		for file, want := range map[string]string{
			filepath.Join(iface, "bInterfaceNumber"):        "00",
			filepath.Join(filepath.Dir(iface), "serial"):    l.SerialNumber,
			filepath.Join(filepath.Dir(iface), "idVendor"):  "1366",
			filepath.Join(filepath.Dir(iface), "idProduct"): "1055",
			filepath.Join(filepath.Dir(iface), "product"):   "J-Link",
		} {
			if got, err := os.ReadFile(file); err != nil || strings.TrimSpace(string(got)) != want {
				t.Fatalf("%s: %q, %v; want %q", file, got, err, want)
			}
		}
		if bus, err := filepath.EvalSymlinks(filepath.Join(iface, "subsystem")); err != nil || bus != filepath.Join(run, "sys", "bus", "usb") {
			t.Fatalf("subsystem resolves to %q (%v)", bus, err)
		}
	}
	p.stop()
}

// TestCleanExit: after SIGTERM or SIGINT nothing nrfsim made is left in the run directory (the
// sys/ and dev/ trees used to stay, so the next start found stale entries); a second start on the
// same directory then publishes only its own boards.
func TestCleanExit(t *testing.T) {
	run := t.TempDir()
	for i, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		boards := 3 - i
		p := startSim(t, boards, "--boards", string(rune('0'+boards)), "--run-dir", run)
		ttys, err := os.ReadDir(filepath.Join(run, "sys", "class", "tty"))
		if err != nil || len(ttys) != boards {
			t.Fatalf("start %d: %d ttys published (%v), want %d", i, len(ttys), err, boards)
		}
		devs, err := os.ReadDir(filepath.Join(run, "sys", "devices", "nrfsim"))
		if err != nil || len(devs) != boards {
			t.Fatalf("start %d: %d USB devices published (%v), want %d", i, len(devs), err, boards)
		}
		p.stopWith(sig)
		left, err := os.ReadDir(run)
		if err != nil || len(left) != 0 {
			var names []string
			for _, e := range left {
				names = append(names, e.Name())
			}
			t.Fatalf("after %v the run directory still holds %v (%v)", sig, names, err)
		}
	}
}

// TestCleanExitKeepsOthers: the trees are removed only as far as they are empty: an entry another
// nrfsim process published in the same run directory stays.
func TestCleanExitKeepsOthers(t *testing.T) {
	run := t.TempDir()
	other := startSim(t, 1, "--run-dir", run, "--serial", "000960000050")
	p := startSim(t, 1, "--run-dir", run)
	p.stop()
	if _, err := filepath.EvalSymlinks(filepath.Join(run, "dev", "ttyNRFSIM000960000050")); err != nil {
		t.Fatalf("the other process's board lost its port link: %v", err)
	}
	if _, err := os.Stat(filepath.Join(run, "sys", "devices", "nrfsim", "000960000001")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the stopped board's USB device is still there: %v", err)
	}
	other.stop()
	if _, err := os.Stat(filepath.Join(run, "sys")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("sys/ after the last process stopped: %v", err)
	}
}

// TestCtlPowerOffWarning: `nrfsim ctl SOCK fault --fault '{"kind":"power_off_warning"}'` on an
// mfw 1.3.5 board used to be accepted as "off" and listed as active while %CMNG writes went
// through. It is refused now with what to type; with "enabled":true writes get 528 until
// "enabled":false, which also takes it off the active list.
func TestCtlPowerOffWarning(t *testing.T) {
	p := startSim(t, 1, "--run-dir", t.TempDir(), "--profile", "mfw_nrf9160_1.3.x")
	l := p.lines[0]
	ctl := func(fault string) (string, string, int) {
		var out, errb bytes.Buffer
		code := run([]string{"ctl", l.Control, "fault", "--fault", fault}, &out, &errb)
		return out.String(), errb.String(), code
	}
	if _, errOut, code := ctl(`{"kind":"power_off_warning"}`); code == 0 || !strings.Contains(errOut, `"enabled":true`) {
		t.Fatalf("fault without enabled: exit %d, stderr %q", code, errOut)
	}
	st := control(t, l.Control, sim.ControlRequest{Op: "state"})
	if st.Firmware.Personality != sim.ATClient || len(st.Faults) != 0 {
		t.Fatalf("after the refused fault: %+v", st.Faults)
	}
	if _, errOut, code := ctl(`{"kind":"power_off_warning","enabled":true}`); code != 0 {
		t.Fatalf("enabled:true: exit %d %s", code, errOut)
	}
	got := exchange(t, l.VCOM0, "AT+CGMR", "AT+CFUN=4", "AT+CMEE=1", `AT%CMNG=0,7,4,"a"`, `AT%CMNG=0,8,4,"b"`, `AT%CMNG=0,9,4,"c"`)
	if got[0] != "mfw_nrf9160_1.3.5\r\nOK\r\n" {
		t.Fatalf("CGMR: %q", got[0])
	}
	for _, w := range got[3:] {
		if w != "+CME ERROR: 528\r\n" {
			t.Fatalf("writes with the power-off warning: %q", got[3:])
		}
	}
	if _, errOut, code := ctl(`{"kind":"power_off_warning","enabled":false}`); code != 0 {
		t.Fatalf("enabled:false: exit %d %s", code, errOut)
	}
	st = control(t, l.Control, sim.ControlRequest{Op: "state"})
	if len(st.Faults) != 0 {
		t.Fatalf("the warning is off but still listed: %+v", st.Faults)
	}
	control(t, l.Control, sim.ControlRequest{Op: "reset"}) // exchange waits for a fresh "Ready"
	if got := exchange(t, l.VCOM0, `AT%CMNG=0,7,4,"a"`); got[0] != "OK\r\n" {
		t.Fatalf("write after the warning: %q", got[0])
	}
	p.stop()
}
