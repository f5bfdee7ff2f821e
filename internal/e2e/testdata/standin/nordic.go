package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// nrfjprog's return codes, as nRF Command Line Tools documents them (the NrfjprogErrorCodesType
// list of nrfjprog.h; Zephyr's nrfjprog runner maps 16 and 55 the same way). Written out here on
// purpose: the stand-in must not share the list nrfprov reads them with.
const (
	jprogError                 = 1  // NrfjprogError
	jprogInvalidArgument       = 11 // InvalidArgumentError
	jprogInsufficientArguments = 12 // InsufficientArgumentsError
	jprogIncompatibleArguments = 13 // IncompatibleArgumentsError
	jprogNoOperation           = 15 // NoOperationError
	jprogProtected             = 16 // UnavailableOperationBecauseProtectionError
	jprogWrongFamily           = 18 // WrongFamilyForDeviceError
	jprogInvalidSerialNumber   = 40 // InvalidSerialNumberError
	jprogNoDebuggers           = 41 // NoDebuggersError
	jprogFileNotFound          = 51 // FileNotFoundError
	jprogVerifyError           = 55 // VerifyError
	jprogFlashNotErased        = 58 // FlashNotErasedError
)

// nrfjprog: --program <hex> (--sectorerase|--chiperase|--sectoranduicrerase) [--verify]
// [--reset|--pinreset|--debugreset] -f <family> [--snr <sn>]; or a reset alone.
func (t *tool) nrfjprog(args []string) int {
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(t.err, "ERROR: "+format+"\n", a...)
		return code
	}
	var hex, family, snr string
	var erase, resets []string
	verify, recover := false, false
	for i := 0; i < len(args); i++ {
		a := args[i]
		value := func() (string, bool) {
			if i+1 >= len(args) || strings.HasPrefix(args[i+1], "-") {
				return "", false
			}
			i++
			return args[i], true
		}
		var ok bool
		switch a {
		case "--program":
			if hex, ok = value(); !ok {
				return fail(jprogInsufficientArguments, "--program requires a file argument.")
			}
		case "--sectorerase", "--chiperase", "--sectoranduicrerase":
			erase = append(erase, a)
		case "--verify":
			verify = true
		case "-f", "--family":
			if family, ok = value(); !ok {
				return fail(jprogInsufficientArguments, "%s requires a family argument.", a)
			}
		case "-s", "--snr":
			if snr, ok = value(); !ok {
				return fail(jprogInsufficientArguments, "%s requires a serial number argument.", a)
			}
			if strings.Trim(snr, "0123456789") != "" {
				return fail(jprogInvalidArgument, "Invalid serial number %q: it must be a decimal number.", snr)
			}
		case "-r", "--reset":
			resets = append(resets, "--reset")
		case "-p", "--pinreset":
			resets = append(resets, "--pinreset")
		case "-d", "--debugreset":
			resets = append(resets, "--debugreset")
		case "--recover":
			recover = true
		case "-e", "--eraseall":
			return fail(jprogError, "%s is not modelled by the nrfsim stand-in.", a)
		default:
			return fail(jprogInvalidArgument, "Argument %q is not recognized. Type nrfjprog --help for the list of valid arguments.", a)
		}
	}
	if hex != "" && isModemPackage(hex) && !recover {
		return t.nrfjprogModem(hex, family, snr, verify, resets)
	}
	switch {
	case family == "":
		return fail(jprogInsufficientArguments, "The family must be given with -f (e.g. -f NRF91): it cannot be detected for this operation.")
	case !slices.Contains([]string{"NRF51", "NRF52", "NRF53", "NRF91", "UNKNOWN"}, strings.ToUpper(family)):
		return fail(jprogInvalidArgument, "Invalid family %q: use NRF51, NRF52, NRF53, NRF91 or UNKNOWN.", family)
	case recover && (hex != "" || len(resets) > 0 || len(erase) > 0 || verify):
		return fail(jprogIncompatibleArguments, "--recover cannot be combined with other operations.")
	case len(resets) > 1:
		return fail(jprogIncompatibleArguments, "Only one of --reset, --pinreset, --debugreset may be given.")
	case len(erase) > 1:
		return fail(jprogIncompatibleArguments, "Only one erase option may be given with --program.")
	case hex == "" && (len(erase) > 0 || verify):
		return fail(jprogIncompatibleArguments, "The erase options and --verify require --program.")
	case hex == "" && len(resets) == 0 && !recover:
		return fail(jprogNoOperation, "No operation given. Type nrfjprog --help for the list of operations.")
	case hex != "" && len(erase) == 0:
		return fail(jprogFlashNotErased, "The device flash is not empty where %s must be written: add --sectorerase or --chiperase.", hex)
	case hex != "" && !fileExists(hex):
		return fail(jprogFileNotFound, "The file %s could not be found.", hex)
	}
	sock, err := board(snr)
	switch {
	case errors.Is(err, errUnknownSerial):
		return fail(jprogInvalidSerialNumber, "%v.", err)
	case errors.Is(err, errNoBoard):
		return fail(jprogNoDebuggers, "%v.", err)
	case err != nil:
		return fail(jprogError, "%v.", err)
	}
	if strings.ToUpper(family) != "NRF91" {
		return fail(jprogWrongFamily, "The family %s does not match the connected device (NRF91).", family)
	}
	if recover {
		// nrfsim has no erased state: the board keeps what it runs; the protection goes.
		fmt.Fprintln(t.out, "Recovering device. This operation might take 30s.")
		fmt.Fprintln(t.out, "Erasing user code and UICR flash areas.")
		if err := unprotect(sock); err != nil {
			return fail(jprogError, "%v.", err)
		}
		return 0
	}
	if protected(sock) {
		return fail(jprogProtected, "The operation attempted is unavailable due to readback protection in your device. Please use --recover to unlock the device.")
	}
	if hex != "" {
		fmt.Fprintln(t.out, "Parsing image file.")
		fmt.Fprintln(t.out, "[ ##########           ]  50% Programming file")
		if err := program(sock, hex, verify); err != nil {
			if errors.Is(err, errVerify) {
				return fail(jprogVerifyError, "%v.", err)
			}
			return fail(jprogError, "%v.", err)
		}
		fmt.Fprintln(t.out, "[ #################### ] 100% Programming file - Done programming")
		if verify {
			fmt.Fprintln(t.out, "Verified OK.")
		}
	}
	if len(resets) == 1 {
		fmt.Fprintf(t.out, "Applying %s reset.\n", map[string]string{"--reset": "system", "--pinreset": "pin", "--debugreset": "debug"}[resets[0]])
		if err := reset(sock); err != nil {
			return fail(jprogError, "%v.", err)
		}
		fmt.Fprintln(t.out, "Run.")
	}
	return 0
}

// nrfutil (clap-style errors, exit 2): [--json] device program --firmware <f> [--serial-number
// <sn>] [--options k=v,...]; device reset [--reset-kind K] [--serial-number <sn>].
func (t *tool) nrfutil(args []string) int {
	usage := func(sub, format string, a ...any) int {
		fmt.Fprintf(t.err, "error: "+format+"\n\nUsage: nrfutil device %s [OPTIONS]\n\nFor more information, try '--help'.\n", append(a, sub)...)
		return 2
	}
	if len(args) > 0 && args[0] == "--json" {
		args = args[1:]
	}
	if len(args) == 0 || args[0] != "device" {
		if len(args) == 0 {
			fmt.Fprintln(t.err, "error: a subcommand is required")
		} else {
			fmt.Fprintf(t.err, "error: unrecognized subcommand '%s'\n", args[0])
		}
		return 2
	}
	if len(args) < 2 {
		fmt.Fprintln(t.err, "error: 'nrfutil device' requires a subcommand")
		return 2
	}
	sub, rest := args[1], args[2:]
	known := map[string][]string{
		"program": {"--firmware", "--serial-number", "--options", "--traits", "--core"},
		"reset":   {"--reset-kind", "--serial-number", "--traits", "--core"},
		"recover": {"--serial-number", "--traits", "--core"},
	}
	allowed, ok := known[sub]
	if !ok {
		fmt.Fprintf(t.err, "error: unrecognized subcommand '%s' (the nrfsim stand-in knows program, reset and recover)\n", sub)
		return 2
	}
	opts := map[string]string{}
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if !slices.Contains(allowed, a) {
			return usage(sub, "unexpected argument '%s' found", a)
		}
		if i+1 >= len(rest) || strings.HasPrefix(rest[i+1], "--") {
			return usage(sub, "a value is required for '%s <%s>' but none was supplied", a, strings.ToUpper(strings.TrimPrefix(a, "--")))
		}
		if _, dup := opts[a]; dup {
			return usage(sub, "the argument '%s' cannot be used multiple times", a)
		}
		opts[a] = rest[i+1]
		i++
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(t.err, "Error: "+format+"\n", a...)
		return 1
	}
	resetKinds := []string{"RESET_NONE", "RESET_DEFAULT", "RESET_SYSTEM", "RESET_HARD", "RESET_SOFT", "RESET_DEBUG", "RESET_PIN", "RESET_VIA_SECDOM"}
	checkKind := func(k string) (string, bool) {
		if !slices.Contains(resetKinds, k) {
			return fmt.Sprintf("invalid value '%s' for reset kind: possible values: %s", k, strings.Join(resetKinds, ", ")), false
		}
		return "", true
	}
	sock, err := board(opts["--serial-number"])
	if err != nil {
		return fail("%v", err)
	}
	if sub != "recover" && protected(sock) {
		return fail("the device %s is protected (APPROTECT): access port protection must be removed with `nrfutil device recover` first", snrOf(sock))
	}
	switch sub {
	case "program":
		fw := opts["--firmware"]
		if fw == "" {
			return usage(sub, "the following required arguments were not provided:\n  --firmware <FIRMWARE>")
		}
		o := map[string]string{"chip_erase_mode": "ERASE_ALL", "verify": "VERIFY_NONE", "reset": "RESET_NONE"}
		valid := map[string][]string{
			"chip_erase_mode": {"ERASE_ALL", "ERASE_NONE", "ERASE_RANGES_TOUCHED_BY_FIRMWARE"},
			"verify":          {"VERIFY_NONE", "VERIFY_HASH", "VERIFY_READ"},
			"reset":           resetKinds,
		}
		if s := opts["--options"]; s != "" {
			for _, kv := range strings.Split(s, ",") {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || valid[k] == nil {
					return usage(sub, "invalid value '%s' for '--options <OPTIONS>': unknown option '%s'", s, kv)
				}
				if !slices.Contains(valid[k], v) {
					return usage(sub, "invalid value '%s' for '--options <OPTIONS>': %s must be one of %s", s, k, strings.Join(valid[k], ", "))
				}
				o[k] = v
			}
		}
		if o["chip_erase_mode"] == "ERASE_NONE" {
			return fail("the flash is not erased where %s must be written; use chip_erase_mode=ERASE_ALL or ERASE_RANGES_TOUCHED_BY_FIRMWARE", fw)
		}
		if !fileExists(fw) {
			return fail("firmware file %s does not exist", fw)
		}
		if isModemPackage(fw) {
			return t.nrfutilModem(sock, fw)
		}
		fmt.Fprintf(t.out, "[00:00:00] ######---- 60%% [1/1 %s] Programming\n", snrOf(sock))
		if err := program(sock, fw, o["verify"] != "VERIFY_NONE"); err != nil {
			return fail("%v", err)
		}
		fmt.Fprintf(t.out, "[00:00:01] ########## 100%% [1/1 %s] Programmed\n", snrOf(sock))
		if o["reset"] != "RESET_NONE" {
			if msg, ok := resetAllowed(o["reset"]); !ok {
				return fail("%s", msg)
			}
			if err := reset(sock); err != nil {
				return fail("%v", err)
			}
		}
		return 0
	case "recover":
		// nrfsim has no erased state: the board keeps what it runs; the protection goes.
		if err := unprotect(sock); err != nil {
			return fail("%v", err)
		}
		fmt.Fprintf(t.out, "[00:00:02] ########## 100%% [%s] Device recovered\n", snrOf(sock))
		return 0
	default: // reset
		kind := opts["--reset-kind"]
		if kind == "" {
			kind = "RESET_DEFAULT"
		}
		if msg, ok := checkKind(kind); !ok {
			return usage(sub, "%s", msg)
		}
		if msg, ok := resetAllowed(kind); !ok {
			return fail("%s", msg)
		}
		if err := reset(sock); err != nil {
			return fail("%v", err)
		}
		fmt.Fprintf(t.out, "[00:00:00] ########## 100%% [%s] Reset successfully\n", snrOf(sock))
		return 0
	}
}

// resetAllowed: nRF Util's reset kinds that an nRF91 has. RESET_SOFT and RESET_HARD go through
// the CTRL-AP, which the nRF9160 has (its RESETREAS has a CTRLAP bit); RESET_DEBUG is
// RESET_SOFT's deprecated alias; RESET_VIA_SECDOM needs Secure Domain firmware (nRF54H).
func resetAllowed(kind string) (string, bool) {
	if kind == "RESET_VIA_SECDOM" {
		return fmt.Sprintf("reset kind %s is not supported by this device (it needs Secure Domain firmware)", kind), false
	}
	return "", true
}

func snrOf(sock string) string {
	base := strings.TrimSuffix(sock[strings.LastIndex(sock, "/")+1:], ".sock")
	return strings.TrimLeft(base, "0")
}
