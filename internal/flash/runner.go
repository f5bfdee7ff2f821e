// Package flash programs and resets boards through the vendors' tools: nrfutil, nrfjprog,
// SEGGER J-Link Commander, west and OpenOCD as command templates (no shell is ever involved),
// and a built-in loader over the GDB remote protocol (J-Link GDB server, OpenOCD, QEMU, nrfsim).
//
// A Runner is data: the executable, what to install when it is missing, the argument templates
// of each operation and the values its placeholders take per reset kind. Plan turns an operation
// into the exact command lines (what --dry-run prints); Exec runs them, streaming their output to
// a logger and turning percentages into progress. The syntax follows
// ../shared/docs/rtt-jlink-plugins.md §2.4–§2.7 and modem-cmng-athost.md §5.3.
package flash

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ResetKind is how a board is reset.
type ResetKind string

const (
	// ResetSystem is a soft reset through AIRCR.SYSRESETREQ (nrfjprog --reset, RESET_SYSTEM);
	// the default on nRF91.
	ResetSystem ResetKind = "system"
	// ResetPin pulls the reset pin (nrfjprog --pinreset, RESET_PIN); west's nRF runners use it
	// after programming.
	ResetPin ResetKind = "pin"
	// ResetDebug is a soft reset through the CTRL-AP (nrfjprog --debugreset, nrfutil's
	// RESET_SOFT).
	ResetDebug ResetKind = "debug"
)

// ResetKinds lists the kinds in the order the help text shows them.
func ResetKinds() []ResetKind { return []ResetKind{ResetSystem, ResetPin, ResetDebug} }

// ParseResetKind reads system, pin or debug.
func ParseResetKind(s string) (ResetKind, error) {
	for _, k := range ResetKinds() {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("flash: reset kind %q: want system, pin or debug", s)
}

// Errors callers branch on.
var (
	// ErrNotInstalled: the runner's executable is not on PATH.
	ErrNotInstalled = errors.New("flash: runner not installed")
	// ErrUnsupported: the runner cannot do what was asked (a reset kind, an image format).
	ErrUnsupported = errors.New("flash: not supported by this runner")
	// ErrRunner: the runner ran and failed.
	ErrRunner = errors.New("flash: runner failed")
	// ErrImage: the image file is missing or is neither Intel HEX nor ELF with loadable data.
	ErrImage = errors.New("flash: bad image")
)

// NotInstalledError names the missing executable and what to install.
type NotInstalledError struct {
	Runner  string
	Exe     string
	Install string
}

func (e *NotInstalledError) Error() string {
	return fmt.Sprintf("flash: runner %s: %s is not on PATH: %s", e.Runner, e.Exe, e.Install)
}

func (e *NotInstalledError) Unwrap() error { return ErrNotInstalled }

// Target says which board a runner acts on and with which settings. Empty fields take defaults
// (see Defaults) or drop the arguments that carry them.
type Target struct {
	// Serial is the J-Link serial number; leading zeros are dropped (000960000001 → 960000001),
	// as nrfjprog --snr, nrfutil --serial-number and JLinkExe -USB take it. Empty: the tool's own
	// choice (the one connected probe).
	Serial string
	// Family is nrfjprog's -f (default NRF91).
	Family string
	// Device and Speed are J-Link's -device and -speed (default nRF9160_xxAA, 4000 kHz).
	Device string
	Speed  int
	// BuildDir and WestRunner are west flash's --build-dir and --runner (empty: west's own
	// defaults, i.e. ./build and the board's runners.yaml flash-runner).
	BuildDir   string
	WestRunner string
	// OpenOCDConfig is the board (or target) script for openocd -f (default
	// board/nordic/nrf9160-dk.cfg; CheckOpenOCD picks what the installed OpenOCD has).
	OpenOCDConfig string
	// OpenOCDInterface, when set, is an interface script given before OpenOCDConfig (with
	// `transport select swd`), for a target script that names no probe.
	OpenOCDInterface string
	// OpenOCDRecover: the config defines nrf91_recover (upstream target/nordic/nrf91.cfg).
	OpenOCDRecover bool
	// GDBHalt is how the gdb runner halts the core around its writes: monitor (default),
	// interrupt (QEMU) or none (see ParseGDBHalt).
	GDBHalt string
	// GDBReset is the gdb runner's reset: monitor commands separated by ';' (default
	// DefaultGDBReset). QEMU's gdbstub resets with system_reset, OpenOCD with `reset run`.
	GDBReset string
	// GDBAddress is host:port of a GDB server for the gdb runner.
	GDBAddress string
}

// Defaults of a Target.
const (
	DefaultFamily        = "NRF91"
	DefaultDevice        = "nRF9160_xxAA"
	DefaultSpeed         = 4000
	DefaultOpenOCDConfig = "board/nordic/nrf9160-dk.cfg"
	// DefaultGDBReset is what SEGGER's J-Link GDB server takes: reset, then let the core run
	// (it stays halted after a reset).
	DefaultGDBReset = "reset;go"
)

func (t Target) vars() map[string]string {
	v := map[string]string{
		"snr":         strings.TrimLeft(t.Serial, "0"),
		"family":      cmp.Or(t.Family, DefaultFamily),
		"device":      cmp.Or(t.Device, DefaultDevice),
		"speed":       strconv.Itoa(cmp.Or(t.Speed, DefaultSpeed)),
		"build_dir":   t.BuildDir,
		"west_runner": t.WestRunner,
		"openocd_cfg": cmp.Or(t.OpenOCDConfig, DefaultOpenOCDConfig),
		"openocd_if":  t.OpenOCDInterface,
		"gdb":         t.GDBAddress,
	}
	if t.OpenOCDInterface != "" {
		v["openocd_transport"] = "transport select swd"
	}
	if t.Serial != "" && v["snr"] == "" {
		v["snr"] = "0"
	}
	return v
}

// group is a run of arguments emitted together, or not at all when any placeholder in it has no
// value: {"--snr", "{snr}"} disappears without a serial number.
type group []string

// template is one command line (for a command file: its lines).
type template []group

// Runner is one flash tool, as data.
type Runner struct {
	// Name is what --runner takes.
	Name string
	// Exe is the executable looked up on PATH.
	Exe string
	// Install says what to install when Exe is missing.
	Install string
	// Program is the command lines that program {hex} and leave the board running after a reset
	// of kind {reset_*}.
	Program []template
	// Reset is the command lines of a reset.
	Reset []template
	// Recover is the command lines that unlock a protected device by erasing it (APPROTECT);
	// nil when the runner has none.
	Recover []template
	// ModemFirmware is the command lines that program a modem firmware package {zip}; nil when
	// the runner cannot (modemfw.go).
	ModemFirmware []template
	// Kinds gives the reset placeholders' values for each kind the runner supports.
	Kinds map[ResetKind]map[string]string
	// Script, when set, is a command file written to {script} before each command runs (J-Link
	// Commander); ProgramScript for programming, ResetScript for a reset.
	ProgramScript, ResetScript template
	// ScriptName is the command file's name in the work directory.
	ScriptName string
	// HexOnly: the tool takes Intel HEX only; an ELF image is converted to a HEX file first.
	HexOnly bool
	// ResetVia names the runner whose reset this one uses (west has no reset command).
	ResetVia string
	// builtin runs the operation in this process instead (the gdb runner).
	builtin bool
}

// Runners, in the order --runner auto tries them.
var runners = []*Runner{
	{
		// nrfutil device (modem-cmng-athost.md §5.3; rtt-jlink-plugins.md §2.6).
		Name:    "nrfutil",
		Exe:     "nrfutil",
		Install: "install nRF Util from Nordic Semiconductor and its device command (`nrfutil install device`)",
		Program: []template{{
			{"device", "program"}, {"--firmware", "{hex}"}, {"--serial-number", "{snr}"},
			{"--options", "chip_erase_mode=ERASE_RANGES_TOUCHED_BY_FIRMWARE,verify=VERIFY_READ,reset={reset_kind}"},
		}},
		Reset:   []template{{{"device", "reset"}, {"--reset-kind", "{reset_kind}"}, {"--serial-number", "{snr}"}}},
		Recover: []template{{{"device", "recover"}, {"--serial-number", "{snr}"}}},
		// nRF Util's device program takes a modem firmware ZIP too and picks the modem update
		// from the file (nRF Util docs, device program).
		ModemFirmware: []template{{{"device", "program"}, {"--firmware", "{zip}"}, {"--serial-number", "{snr}"}}},
		Kinds: map[ResetKind]map[string]string{
			ResetSystem: {"reset_kind": "RESET_SYSTEM"},
			ResetPin:    {"reset_kind": "RESET_PIN"},
			// A soft reset through the CTRL-AP, what nrfjprog --debugreset does: nRF Util names
			// it RESET_SOFT (RESET_DEBUG is its deprecated alias), for devices whose CTRL-AP has
			// one, as the nRF9160's has (RESETREAS.CTRLAP).
			ResetDebug: {"reset_kind": "RESET_SOFT"},
		},
		HexOnly: true,
	},
	{
		// nrfjprog, as west's nrfjprog runner calls it (rtt-jlink-plugins.md §2.6, §2.7).
		Name:    "nrfjprog",
		Exe:     "nrfjprog",
		Install: "install nRF Command Line Tools (nrfjprog) and the SEGGER J-Link software from Nordic Semiconductor",
		Program: []template{
			{{"--program", "{hex}"}, {"--sectorerase"}, {"--verify"}, {"-f", "{family}"}, {"--snr", "{snr}"}},
			{{"{reset_flag}"}, {"-f", "{family}"}, {"--snr", "{snr}"}},
		},
		Reset:   []template{{{"{reset_flag}"}, {"-f", "{family}"}, {"--snr", "{snr}"}}},
		Recover: []template{{{"--recover"}, {"-f", "{family}"}, {"--snr", "{snr}"}}},
		// Command Line Tools 10.13 and later: nrfjprog --program <zip> -s <sn> --verify.
		ModemFirmware: []template{{{"--program", "{zip}"}, {"-s", "{snr}"}, {"--verify"}}},
		Kinds: map[ResetKind]map[string]string{
			ResetSystem: {"reset_flag": "--reset"},
			ResetPin:    {"reset_flag": "--pinreset"},
			ResetDebug:  {"reset_flag": "--debugreset"},
		},
		HexOnly: true,
	},
	{
		// SEGGER J-Link Commander in batch mode (rtt-jlink-plugins.md §2.4, modem-cmng-athost.md §5.3).
		Name:    "jlink",
		Exe:     "JLinkExe",
		Install: "install the SEGGER J-Link Software and Documentation Pack (JLinkExe)",
		Program: []template{jlinkArgs},
		Reset:   []template{jlinkArgs},
		ProgramScript: template{
			{"ExitOnError 1"}, {"RSetType {rsettype}"}, {"connect"}, {"r"}, {"loadfile \"{hex}\""}, {"r"}, {"g"}, {"q"},
		},
		ResetScript: template{{"ExitOnError 1"}, {"RSetType {rsettype}"}, {"connect"}, {"r"}, {"g"}, {"q"}},
		ScriptName:  "nrfprov.jlink",
		Kinds: map[ResetKind]map[string]string{
			ResetSystem: {}, // the default reset type
			ResetPin:    {"rsettype": "2"},
		},
	},
	{
		// west flash (rtt-jlink-plugins.md §2.7): the workspace's own runner and build directory.
		Name:    "west",
		Exe:     "west",
		Install: "install west (`pip install west`) and run nrfprov inside a west workspace",
		Program: []template{{
			{"flash"}, {"--build-dir", "{build_dir}"}, {"--runner", "{west_runner}"}, {"--hex-file", "{hex}"},
			{"-i", "{snr}"}, {"{west_reset}"},
		}},
		Kinds: map[ResetKind]map[string]string{
			ResetSystem: {"west_reset": "--softreset"},
			ResetPin:    {}, // west's nRF runners pin-reset after programming by default
		},
		HexOnly:  true,
		ResetVia: "nrfjprog",
	},
	{
		// OpenOCD (rtt-jlink-plugins.md §2.5): program, verify, reset, exit in one run.
		Name:    "openocd",
		Exe:     "openocd",
		Install: "install an OpenOCD with nRF91 support (upstream OpenOCD after 0.12.0 has target/nordic/nrf91.cfg; Debian's 0.12.0 has none: see docs/runners.md)",
		Program: []template{{
			{"-f", "{openocd_if}"}, {"-c", "{openocd_transport}"}, {"-f", "{openocd_cfg}"}, {"-c", "adapter serial {snr}"},
			{"-c", "program \"{hex}\" verify reset exit"},
		}},
		Reset: []template{{
			{"-f", "{openocd_if}"}, {"-c", "{openocd_transport}"}, {"-f", "{openocd_cfg}"}, {"-c", "adapter serial {snr}"},
			{"-c", "init"}, {"-c", "reset run"}, {"-c", "shutdown"},
		}},
		// nrf91_recover: the mass erase through the CTRL-AP that upstream's target/nordic/nrf91.cfg
		// defines; PlanRecover refuses it for a config without it.
		Recover: []template{{
			{"-f", "{openocd_if}"}, {"-c", "{openocd_transport}"}, {"-f", "{openocd_cfg}"}, {"-c", "adapter serial {snr}"},
			{"-c", "init"}, {"-c", "nrf91_recover"}, {"-c", "shutdown"},
		}},
		Kinds: map[ResetKind]map[string]string{ResetSystem: {}},
	},
	{
		// Built in: load through a GDB server's remote protocol and `monitor reset`.
		Name:    "gdb",
		Exe:     "",
		Install: "give the GDB server's address with --gdb-address HOST:PORT",
		Kinds:   map[ResetKind]map[string]string{ResetSystem: {}},
		builtin: true,
	},
}

var jlinkArgs = template{
	{"-USB", "{snr}"}, {"-nogui", "1"}, {"-if", "SWD"}, {"-speed", "{speed}"}, {"-device", "{device}"},
	{"-CommanderScript", "{script}"},
}

// Names lists the runners in --runner auto order (gdb last; auto never picks it).
func Names() []string {
	var n []string
	for _, r := range runners {
		n = append(n, r.Name)
	}
	return n
}

// Lookup returns the runner called name.
func Lookup(name string) (*Runner, error) {
	for _, r := range runners {
		if r.Name == name {
			return r, nil
		}
	}
	return nil, fmt.Errorf("flash: unknown runner %q (want auto, %s)", name, strings.Join(Names(), ", "))
}

// LookPath finds executables; FindTool in production.
type LookPath func(file string) (string, error)

// Resolve picks the runner: a named one must be installed; "auto" (or "") takes the first
// installed of nrfutil, nrfjprog, jlink (JLinkExe), west, openocd, in that order. The gdb
// runner needs no executable but a GDB server address.
func Resolve(name string, t Target, look LookPath) (*Runner, error) {
	if look == nil {
		look = FindTool
	}
	if name == "" || name == "auto" {
		var tried, installs []string
		for _, r := range runners {
			if r.builtin {
				continue
			}
			if _, err := look(r.Exe); err == nil {
				return r, nil
			}
			tried = append(tried, r.Exe)
			installs = append(installs, r.Install)
		}
		return nil, fmt.Errorf("%w: no flash runner found on PATH (looked for %s); %s; or use --runner gdb --gdb-address HOST:PORT",
			ErrNotInstalled, strings.Join(tried, ", "), strings.Join(installs, "; or "))
	}
	r, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	if r.builtin {
		if t.GDBAddress == "" {
			return nil, fmt.Errorf("%w: runner gdb: %s", ErrUnsupported, r.Install)
		}
		return r, nil
	}
	if _, err := look(r.Exe); err != nil {
		return nil, &NotInstalledError{Runner: r.Name, Exe: r.Exe, Install: r.Install}
	}
	return r, nil
}

// Command is one step of an operation.
type Command struct {
	// Argv is the command line; Argv[0] is the executable's name as looked up on PATH.
	Argv []string
	// Files are written before it runs (a J-Link command file), mode 0600.
	Files []File
	// Display replaces the rendered command line (the built-in gdb runner describes itself).
	Display string
	// builtin, for the gdb runner, runs in this process instead of Argv.
	builtin func(ctx context.Context, log func(string)) error
}

// File is a generated file.
type File struct {
	Path    string
	Content string
}

// String renders the command line for people and for --dry-run: arguments quoted where a shell
// would need it (nrfprov itself never uses a shell).
func (c Command) String() string {
	if c.Display != "" {
		return c.Display
	}
	q := make([]string, len(c.Argv))
	for i, a := range c.Argv {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

var plainArg = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

func shellQuote(s string) string {
	if plainArg.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

var placeholder = regexp.MustCompile(`\{[a-z_]+\}`)

// expand fills a template; a group with a placeholder that has no value is dropped, and so is an
// unknown placeholder (a programming error caught by the golden tests).
func expand(t template, vars map[string]string) []string {
	var out []string
	for _, g := range t {
		var args []string
		ok := true
		for _, a := range g {
			s := placeholder.ReplaceAllStringFunc(a, func(p string) string {
				v := vars[p[1:len(p)-1]]
				if v == "" {
					ok = false
				}
				return v
			})
			args = append(args, s)
		}
		if ok {
			out = append(out, args...)
		}
	}
	return out
}

// Supports says whether the runner can reset the board with kind (ErrUnsupported if not).
func (r *Runner) Supports(kind ResetKind) error {
	_, err := r.kindVars(kind)
	return err
}

func (r *Runner) kindVars(kind ResetKind) (map[string]string, error) {
	if kind == "" {
		kind = ResetSystem
	}
	kv, ok := r.Kinds[kind]
	if !ok {
		var have []string
		for _, k := range ResetKinds() {
			if _, ok := r.Kinds[k]; ok {
				have = append(have, string(k))
			}
		}
		return nil, fmt.Errorf("%w: runner %s cannot do a %s reset (it can: %s)", ErrUnsupported, r.Name, kind, strings.Join(have, ", "))
	}
	return kv, nil
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}
