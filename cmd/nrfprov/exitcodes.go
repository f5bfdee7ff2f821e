package main

// Exit codes, the error → code mapping and the hints, in one place (docs/exit-codes.md).
//
// How to use it:
//   - return an error from RunE; execute prints "nrfprov: <err>" and hintsFor's lines on stderr and
//     exits with exitFor(err). Multi-board runs call the same two for each board.
//   - bad input refused before the board is touched: wrap it, usageError{err} → exit 2.
//   - a new failure class: add its constant here, a case in exitFor, its remedy in hintsFor, a row
//     in docs/exit-codes.md and in TestExitCodesMirrorTheDocs (exitcodes_test.go).

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nrfprov/nrfprov/internal/at"
	"github.com/nrfprov/nrfprov/internal/cmng"
	"github.com/nrfprov/nrfprov/internal/device"
	"github.com/nrfprov/nrfprov/internal/flash"
	"github.com/nrfprov/nrfprov/internal/provision"
	"github.com/nrfprov/nrfprov/plugin"
	"github.com/nrfprov/nrfprov/serialio"
)

// Exit codes (docs/exit-codes.md).
const (
	exitOK            = 0
	exitError         = 1
	exitUsage         = 2  // bad arguments or input, refused before any byte reached the board
	exitIntegrity     = 3  // a plugin failed its checksum or is not pinned
	exitBoard         = 4  // no board, several boards match, or nothing answers AT
	exitTimeout       = 5  // the board did not answer in time
	exitModem         = 6  // the modem refused (ERROR, +CME ERROR)
	exitVerify        = 7  // a written credential does not have the expected hash
	exitTruncated     = 8  // a read-back was cut by the device's AT buffer
	exitLink          = 9  // the link failed: port gone, busy, transport exited
	exitUnverifiable  = 10 // provisioned, but some credentials cannot be proven on this firmware
	exitFlash         = 11 // a flash runner is missing or failed; or the board was left on the AT client
	exitMixed         = 12 // several boards failed with different codes
	exitStorageBroken = 13 // even a tiny write hangs after a reset: reprogram the modem firmware
	exitInterrupted   = 130
)

// usageError marks bad input: exit 2.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// usagef is usageError{fmt.Errorf(...)}.
func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

var (
	errVerify       = errors.New("verification failed")
	errVerifyFailed = fmt.Errorf("provision: some credentials are not as the manifest wants (see the report): %w", errVerify)
	errUnverifiable = errors.New("provision: done, but some credentials cannot be proven on this firmware (see the report)")
)

// errBoardsFailed carries the overall exit code of a multi-board run whose report is printed.
type errBoardsFailed struct{ code, failed, total int }

func (e errBoardsFailed) Error() string {
	return fmt.Sprintf("provision: %d of %d boards failed (see the per-board report)", e.failed, e.total)
}

// exitFor maps an error to the documented exit code.
func exitFor(err error) int {
	var ue usageError
	var me *cmng.ModemError
	var bf errBoardsFailed
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &bf):
		return bf.code
	case errors.Is(err, provision.ErrStorageBroken):
		return exitStorageBroken
	case errors.Is(err, provision.ErrLeftOnATClient), errors.Is(err, flash.ErrRunner), errors.Is(err, flash.ErrNotInstalled):
		return exitFlash
	case errors.As(err, &ue), errors.Is(err, cmng.ErrPreflight), errors.Is(err, device.ErrLineSettings),
		errors.Is(err, device.ErrOption), errors.Is(err, plugin.ErrInvalidArgument):
		return exitUsage
	case errors.Is(err, plugin.ErrChecksumMismatch), errors.Is(err, plugin.ErrNotLocked):
		return exitIntegrity
	case errors.Is(err, device.ErrNoBoard), errors.Is(err, serialio.ErrAmbiguous), errors.Is(err, serialio.ErrNoBoard),
		errors.Is(err, plugin.ErrNotFound), errors.Is(err, at.ErrNoATHost):
		return exitBoard
	case errors.Is(err, cmng.ErrTruncated):
		return exitTruncated
	case errors.Is(err, at.ErrTimeout):
		return exitTimeout
	case errors.As(err, &me), errors.Is(err, cmng.ErrNotReadable):
		return exitModem
	case errors.Is(err, cmng.ErrVerify), errors.Is(err, errVerify):
		return exitVerify
	case errors.Is(err, errUnverifiable):
		return exitUnverifiable
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.Is(err, at.ErrClosed), errors.Is(err, plugin.ErrTransportExited), errors.Is(err, plugin.ErrDisconnected),
		errors.Is(err, plugin.ErrBusy), errors.Is(err, plugin.ErrPermission):
		return exitLink
	}
	return exitError
}

// multiExit is the exit code of several boards: 0 when every board succeeded; otherwise the code
// the failed boards share, or exitMixed when their codes differ.
func multiExit(codes []int) int {
	overall := 0
	for _, c := range codes {
		switch {
		case c == 0:
		case overall == 0:
			overall = c
		case overall != c:
			return exitMixed
		}
	}
	return overall
}

// link is what the hints need to know of the link in use.
type link struct{ transport, dialect string }

// rttFirmwareHint tells RTT users which firmware answers AT over RTT: the at_client sample has
// no RTT backend, so nothing there can answer.
const rttFirmwareHint = "over RTT nrfprov talks to the Modem Shell's `at` command: the at_client sample has no RTT. " +
	"Flash modem_shell built with the RTT shell backend (CONFIG_USE_SEGGER_RTT=y, CONFIG_SHELL_BACKEND_RTT=y), " +
	"or use --transport serial on the board's UART (VCOM0 on a DK)"

// resetHint: a board that answers nothing may be an AT host stuck inside an open quote (a write
// that hung), which only a reset brings back.
const resetHint = "if a write hung on this board before, its AT host is stuck inside an open quote and answers nothing until the board is reset: " +
	"press its reset button or power-cycle it, or let nrfprov reset it (`nrfprov reset --runner nrfjprog|nrfutil|jlink|openocd|gdb`; " +
	"provision resets by itself with --reset-cmd or --runner), then run again"

// hintsFor lists what to do about err, one remedy a line.
func hintsFor(err error, l link) []string {
	var hs []string
	add := func(cond bool, h string) {
		if cond {
			hs = append(hs, h)
		}
	}
	add(errors.Is(err, plugin.ErrNotLocked), "run `nrfprov transports lock` to pin the transports found now, or pass --plugin-checksum <name>=<sha256>")
	add(errors.Is(err, plugin.ErrChecksumMismatch), "the executable changed since it was pinned: if you trust the new one, run `nrfprov transports lock` again")
	add(errors.Is(err, plugin.ErrPermission), "add yourself to the group that owns the port (dialout or uucp) and log in again")
	add(errors.Is(err, plugin.ErrBusy), "another program has the port open (a terminal, ModemManager, nRF Connect; for J-Link RTT, a stale JLinkGUIServer)")
	hs = append(hs, flashHints(err)...)
	add(errors.Is(err, plugin.ErrUnknownTransport), "external transports are executables named "+plugin.ExecutablePrefix+"<name>, next to nrfprov, in $"+plugin.EnvPluginDir+" or on PATH")
	var me *cmng.ModemError
	if errors.As(err, &me) && me.Hint != "" {
		hs = append(hs, me.Hint)
	}
	var pe *cmng.PreflightError
	if errors.As(err, &pe) && pe.Fix != "" {
		hs = append(hs, pe.Fix+" (nothing was sent to the board)")
	}
	add(errors.Is(err, serialio.ErrAmbiguous), "pass --board <serial number> or --port <path> to choose one")
	add(errors.Is(err, device.ErrNoBoard) || errors.Is(err, serialio.ErrNoBoard),
		"is the board connected and powered? `nrfprov ports` lists what is connected; --port <path> names a port directly")
	add(errors.Is(err, at.ErrNoATHost), resetHint)
	add(errors.Is(err, at.ErrNoATHost), "a modem slower than --modem-latency answers too late to be found: if it is a slow one, raise --modem-latency")
	add(errors.Is(err, at.ErrNoATHost), "otherwise the board runs no AT host: flash the at_client sample (or modem_shell for RTT), or check --port (on a DK, VCOM0 is the nRF91's UART) and --baud (the AT host's UART speed, 115200 in the samples)")
	add(errors.Is(err, at.ErrTimeout) && !errors.Is(err, cmng.ErrTruncated),
		"the board stopped answering; an AT host stuck inside quotes swallows everything until it is reset: reset the board and run again")
	var te *at.TimeoutError
	add(errors.As(err, &te) && strings.HasPrefix(te.Cmd, "AT%CMNG=0") && !errors.Is(err, cmng.ErrTruncated),
		"if the device's AT buffer is smaller than nrfprov assumes (a custom CONFIG_AT_HOST_CMD_MAX_LEN or shell buffer), "+
			"the end of the write was dropped and the AT host waits inside the quotes: pass the buffer's size with --line-limit, and nrfprov refuses longer writes before sending")
	add(l.transport == "serial" && errors.Is(err, plugin.ErrNotFound),
		"--port must name the board's serial device (on a DK, VCOM0); `nrfprov ports` lists the boards and their ports")
	if l.transport == "rtt" {
		add(errors.Is(err, plugin.ErrNotFound), "no RTT control block was found in the target's RAM, or no debugger answered at --port: "+
			"start the debugger's server (JLinkGDBServer, OpenOCD, pyOCD) and check the firmware is built with RTT")
		add(errors.Is(err, plugin.ErrNotFound) || errors.Is(err, at.ErrNoATHost) || (l.dialect == "raw" && errors.Is(err, at.ErrTimeout)), rttFirmwareHint)
	}
	return hs
}

// flashHints are the remedies for what a flash tool's exit status said (nrfjprog's documented
// codes; internal/flash), the way Zephyr's nRF runners turn them into advice.
func flashHints(err error) []string {
	var hs []string
	switch {
	case errors.Is(err, flash.ErrProtected):
		hs = append(hs, "the device is protected (APPROTECT): run `nrfprov flash --recover …` to unlock it by erasing its flash (the modem's credentials are not in flash)")
	case errors.Is(err, flash.ErrProbeNotFound):
		hs = append(hs, "no J-Link with that serial number is connected: check --board (`nrfjprog --ids` or `nrfutil device list` lists the connected probes)")
	case errors.Is(err, flash.ErrNoProbe):
		hs = append(hs, "no debug probe is connected: plug in the board's debug USB port (on a DK, the J-Link OB's) and check the SEGGER J-Link software sees it")
	case errors.Is(err, flash.ErrNoTarget):
		hs = append(hs, "the probe cannot reach the nRF91: check the board's power and the debug cable; a protected device needs `nrfprov flash --recover …`")
	case errors.Is(err, flash.ErrWrongFamily):
		hs = append(hs, "the connected device is not an nRF91: check --board picks the right probe")
	case errors.Is(err, flash.ErrNotErased):
		hs = append(hs, "the flash was not erased where the image goes: run `nrfprov flash --recover …` to erase it")
	case errors.Is(err, flash.ErrVerifyFailed):
		hs = append(hs, "the flash read back differs from the image: retry; if it persists, `nrfprov flash --recover …` erases the whole flash first")
	case errors.Is(err, flash.ErrToolArgs):
		hs = append(hs, "the tool refused nrfprov's command line: check its version (`nrfjprog --version`) and report it with `nrfprov flash --dry-run …`'s lines")
	case errors.Is(err, flash.ErrOpenOCDNoNRF91):
		hs = append(hs, "see docs/runners.md, \"OpenOCD\": which OpenOCD builds have nRF91 scripts, and --openocd-config")
	}
	return hs
}
