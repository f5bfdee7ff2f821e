package flash

import (
	"errors"
	"fmt"
)

// Failures of a vendor tool that callers turn into actions. A RunError unwraps to one of these
// when the tool's exit status says which (nrfjprog's documented return codes; see
// NrfjprogCode).
var (
	// ErrProtected: the device's access port is locked (APPROTECT); recovering it (an erase)
	// is the way back.
	ErrProtected = errors.New("flash: the device is protected (APPROTECT)")
	// ErrProbeNotFound: no debug probe with the given serial number is connected.
	ErrProbeNotFound = errors.New("flash: no debug probe with that serial number is connected")
	// ErrNoProbe: no debug probe is connected at all.
	ErrNoProbe = errors.New("flash: no debug probe is connected")
	// ErrNoTarget: the probe is there but the device does not answer (power, cable, or locked).
	ErrNoTarget = errors.New("flash: the probe cannot connect to the device")
	// ErrWrongFamily: the device is not of the family the tool was told (-f NRF91).
	ErrWrongFamily = errors.New("flash: the connected device is not of the expected family")
	// ErrVerifyFailed: the flash read back differs from the image.
	ErrVerifyFailed = errors.New("flash: verify failed")
	// ErrNotErased: the area to program was not erased first.
	ErrNotErased = errors.New("flash: the flash was not erased where the image goes")
	// ErrToolArgs: the tool refused its command line; a bug in nrfprov or a tool version it
	// does not know.
	ErrToolArgs = errors.New("flash: the tool refused its arguments")
)

// NrfjprogCode is one of nrfjprog's documented return codes (nRF Command Line Tools, "nrfjprog
// return codes"; the NrfjprogErrorCodesType list of its nrfjprog.h; Zephyr's nrfjprog runner
// maps 16 and 55 the same way).
type NrfjprogCode struct {
	Code    int
	Name    string
	Meaning string
	// Err is what a RunError with this code unwraps to, or nil.
	Err error
}

// nrfjprogCodes are the return codes nrfprov acts on or names in its messages.
var nrfjprogCodes = []NrfjprogCode{
	{1, "NrfjprogError", "an internal error of nrfjprog", nil},
	{2, "NrfjprogOutdatedError", "this nrfjprog is too old for the device", nil},
	{11, "InvalidArgumentError", "invalid arguments", ErrToolArgs},
	{12, "InsufficientArgumentsError", "needed arguments are missing", ErrToolArgs},
	{13, "IncompatibleArgumentsError", "incompatible arguments", ErrToolArgs},
	{14, "DuplicatedArgumentsError", "an argument was given twice", ErrToolArgs},
	{15, "NoOperationError", "the arguments perform no operation", ErrToolArgs},
	{16, "UnavailableOperationBecauseProtectionError", "the access port is protected", ErrProtected},
	{17, "UnavailableOperationInFamilyError", "the device lacks the feature", nil},
	{18, "WrongFamilyForDeviceError", "the --family does not match the connected device", ErrWrongFamily},
	{30, "JLinkARMDllNotFoundError", "the SEGGER J-Link software was not found", nil},
	{33, "JLinkARMDllError", "the J-Link library reported an error", nil},
	{40, "InvalidSerialNumberError", "the serial number is not among the connected probes", ErrProbeNotFound},
	{41, "NoDebuggersError", "no debug probe is connected", ErrNoProbe},
	{42, "NotPossibleToConnectError", "the probe cannot connect to the device", ErrNoTarget},
	{43, "LowVoltageError", "low voltage at the device", ErrNoTarget},
	{51, "FileNotFoundError", "the file was not found", nil},
	{52, "InvalidHexFileError", "the file is not a valid hex file", nil},
	{55, "VerifyError", "the verify operation failed", ErrVerifyFailed},
	{57, "NVMCOperationError", "the flash operation in the device failed", nil},
	{58, "FlashNotErasedError", "the area to program was not erased", ErrNotErased},
	{62, "RecoverFailed", "recovery failed", nil},
}

// LookupNrfjprogCode returns the documented meaning of an nrfjprog exit status.
func LookupNrfjprogCode(code int) (NrfjprogCode, bool) {
	for _, c := range nrfjprogCodes {
		if c.Code == code {
			return c, true
		}
	}
	return NrfjprogCode{}, false
}

// toolCause is what a failed command's exit status means, for the tools whose codes are
// documented (nrfjprog). Nil when nothing more is known.
func toolCause(exe string, code int) error {
	if exe != "nrfjprog" || code <= 0 {
		return nil
	}
	c, ok := LookupNrfjprogCode(code)
	if !ok {
		return nil
	}
	if c.Err == nil {
		return fmt.Errorf("nrfjprog %d %s: %s", c.Code, c.Name, c.Meaning)
	}
	return fmt.Errorf("%w (nrfjprog %d %s)", c.Err, c.Code, c.Name)
}
