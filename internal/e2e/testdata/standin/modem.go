package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/nrfprov/nrfprov/internal/sim"
)

// isModemPackage: the tools tell a modem firmware package from an application image by the
// file (nRF Util's device program picks the programming method from the firmware file format;
// nrfjprog 10.13 and later take the .zip with --program).
func isModemPackage(path string) bool {
	return strings.EqualFold(filepath.Ext(path), ".zip")
}

// programModem updates the board's modem firmware from a package and, with verify, checks that
// the modem now reports the package's version. Progress goes to out as the tools print it.
func programModem(sock, zip string, verify bool, progress func(pct int, what string)) error {
	pkg, err := sim.ReadModemPackageName(filepath.Base(zip))
	if err != nil {
		return err
	}
	progress(0, "Modem firmware update: uploading")
	if _, err := control(sock, sim.ControlRequest{Op: "modem_firmware", Package: zip}); err != nil {
		return err
	}
	progress(100, "Modem firmware update: done")
	if !verify {
		return nil
	}
	st, err := control(sock, sim.ControlRequest{Op: "state"})
	if err != nil {
		return err
	}
	if st.ModemFirmware != pkg.Revision() {
		return fmt.Errorf("%w (modem reports %s)", errVerify, st.ModemFirmware)
	}
	return nil
}

// nrfjprogModem: nrfjprog --program <mfw.zip> [-f NRF91] [-s <sn>] [--verify] (Command Line Tools
// 10.13 and later). The family is optional here: the modem update detects the device.
func (t *tool) nrfjprogModem(zip, family, snr string, verify bool, resets []string) int {
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(t.err, "ERROR: "+format+"\n", a...)
		return code
	}
	switch {
	case family != "" && strings.ToUpper(family) != "NRF91":
		return fail(jprogWrongFamily, "A modem firmware package can only be programmed into an NRF91 device, not %s.", family)
	case len(resets) > 0:
		return fail(jprogIncompatibleArguments, "The modem firmware update resets the device itself: do not combine it with %s.", resets[0])
	case !fileExists(zip):
		return fail(jprogFileNotFound, "The file %s could not be found.", zip)
	}
	sock, err := board(snr)
	if err != nil {
		return fail(jprogNoDebuggers, "%v.", err)
	}
	fmt.Fprintln(t.out, "Parsing image file.")
	err = programModem(sock, zip, verify, func(pct int, what string) {
		fmt.Fprintf(t.out, "[%s] %3d%% %s\n", strings.Repeat("#", pct/5)+strings.Repeat(" ", 20-pct/5), pct, what)
	})
	if err != nil {
		if strings.Contains(err.Error(), errVerify.Error()) {
			return fail(jprogVerifyError, "%v.", err)
		}
		return fail(jprogError, "%v.", err)
	}
	if verify {
		fmt.Fprintln(t.out, "Verified OK.")
	}
	return 0
}

// nrfutilModem: nrfutil device program --firmware <mfw.zip> --serial-number <sn>.
func (t *tool) nrfutilModem(sock, zip string) int {
	if !fileExists(zip) {
		fmt.Fprintf(t.err, "Error: firmware file %s does not exist\n", zip)
		return 1
	}
	err := programModem(sock, zip, true, func(pct int, what string) {
		fmt.Fprintf(t.out, "[00:00:0%d] %s%s %d%% [1/1 %s] %s\n", pct/50, strings.Repeat("#", pct/10), strings.Repeat("-", 10-pct/10), pct, snrOf(sock), what)
	})
	if err != nil {
		fmt.Fprintf(t.err, "Error: %v\n", err)
		return 1
	}
	return 0
}
