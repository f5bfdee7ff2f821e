package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/nrfprov/nrfprov/internal/at"
	"github.com/nrfprov/nrfprov/internal/provision"
)

// TestStorageBrokenExitAndCommands: the named error exits 13 (not 5, though a hang caused it)
// and carries the exact reprogramming lines for the probe.
func TestStorageBrokenExitAndCommands(t *testing.T) {
	sb := &provision.StorageBrokenError{ModemFirmware: "mfw_nrf91x1_2.0.2", Cause: fmt.Errorf("write: %w", at.ErrTimeout)}
	err := storageBrokenError{err: sb, lines: reprogramCommands(sb.ModemFirmware, "000960000042")}
	if got := exitFor(fmt.Errorf("provision: %w", err)); got != exitStorageBroken {
		t.Fatalf("exit %d, want %d", got, exitStorageBroken)
	}
	if !errors.Is(err, provision.ErrStorageBroken) || errors.Is(err, at.ErrTimeout) {
		t.Fatal("the error must match ErrStorageBroken and not read as a plain timeout")
	}
	want := []string{
		"nrfprov modem-firmware mfw_nrf91x1_2.0.2.zip --board 000960000042",
		"nrfutil device program --firmware mfw_nrf91x1_2.0.2.zip --serial-number 960000042",
		"nrfjprog --program mfw_nrf91x1_2.0.2.zip -s 960000042 --verify",
	}
	if got := reprogramCommands(sb.ModemFirmware, "000960000042"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, l := range want {
		if !strings.Contains(err.Error(), "\n    "+l+"\n") {
			t.Fatalf("message lacks %q:\n%s", l, err)
		}
	}
	if got := reprogramCommands("mfw_nrf9160_1.3.5", ""); got[1] != "nrfutil device program --firmware mfw_nrf9160_1.3.5.zip" || got[0] != "nrfprov modem-firmware mfw_nrf9160_1.3.5.zip" {
		t.Fatalf("without a serial number: %q", got)
	}
}

// TestModemFirmwareRefusesOtherRunnersSettings: a setting only another runner reads is refused
// before the package is even opened, rather than taken and ignored.
func TestModemFirmwareRefusesOtherRunnersSettings(t *testing.T) {
	for _, flag := range []string{"--gdb-address=localhost:2331", "--openocd-config=x.cfg", "--jlink-device=NRF9160_XXAA", "--west-runner=nrfjprog"} {
		_, stderr, code := runApp(t, "modem-firmware", "mfw_nrf9160_1.3.6.zip", flag)
		if code != exitUsage || !strings.Contains(stderr, "means nothing here: only nrfutil and nrfjprog") {
			t.Errorf("%s: exit %d, stderr %q", flag, code, stderr)
		}
	}
}
