// Package doctor checks the environment nrfprov works in and says what to do about each
// problem: the flash runners installed and their versions, OpenOCD's nRF91 support, the serial
// ports and whether this user may open them, the boards found, a J-Link GUI server holding the
// RTT port, the J-Link udev rule, and the transports found and whether they are pinned.
//
// It never prints: Run returns a Report that the CLI renders.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nrfprov/nrfprov/internal/flash"
	"github.com/nrfprov/nrfprov/plugin"
	"github.com/nrfprov/nrfprov/serialio"
)

// Status is how a check came out.
type Status string

const (
	OK   Status = "ok"   // as it should be
	Info Status = "info" // worth knowing, nothing to do unless you need it
	Warn Status = "warn" // one part of nrfprov will not work until fixed
	Fail Status = "fail" // blocks the main workflow (provisioning a connected board)
)

// Check is one line of the report.
type Check struct {
	// Area groups the checks: runner, openocd, port, board, udev, jlink, transport.
	Area   string `json:"area"`
	Name   string `json:"name"`
	Status Status `json:"status"`
	// Detail says what was found; Fix what to do about it (empty when nothing).
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Report is the whole environment.
type Report struct {
	Checks []Check `json:"checks"`
}

// Blocking lists the checks that block the main workflow.
func (r Report) Blocking() []Check {
	var b []Check
	for _, c := range r.Checks {
		if c.Status == Fail {
			b = append(b, c)
		}
	}
	return b
}

// ErrBlocked: something in the environment blocks the main workflow (see the report).
var ErrBlocked = errors.New("doctor: something blocks provisioning")

// Env is what Run looks at. The CLI fills it from the real machine; tests point it elsewhere.
type Env struct {
	// LookPath finds executables (exec.LookPath).
	LookPath flash.LookPath
	// Ports lists the USB serial ports (serialio.ListPorts).
	Ports func() ([]serialio.PortInfo, error)
	// CanOpen reports why this user cannot open a port for reading and writing, or nil.
	// Default: Access.
	CanOpen func(path string) error
	// UdevDirs are searched for SEGGER's J-Link rule (Linux only; nil: the standard places).
	UdevDirs []string
	// OS is runtime.GOOS, for the checks that exist on one system only.
	OS string
	// JLinkRTT is the J-Link RTT telnet address to probe for a stale GUI server ("" skips it).
	JLinkRTT string
	// Transports are the transports discovery found; Pins their checksums (lock file and
	// --plugin-checksum); PinsErr why the pins could not be read, if they could not.
	Transports   []plugin.Found
	TransportErr error
	Pins         plugin.Checksums
	PinsErr      error
	// Timeout bounds each probe (a --version run, a TCP connect); default 5 s.
	Timeout time.Duration
}

// Run checks everything and returns the report, in a fixed order.
func Run(ctx context.Context, env Env) Report {
	if env.Timeout == 0 {
		env.Timeout = 5 * time.Second
	}
	if env.CanOpen == nil {
		env.CanOpen = Access
	}
	var r Report
	r.Checks = append(r.Checks, runners(ctx, env)...)
	r.Checks = append(r.Checks, portsAndBoards(env)...)
	r.Checks = append(r.Checks, jlinkServer(ctx, env)...)
	r.Checks = append(r.Checks, transports(env)...)
	return r
}

// runners checks each flash runner: installed (and its version) or what to install.
func runners(ctx context.Context, env Env) []Check {
	names := flash.Names()
	out := make([]Check, len(names))
	var wg sync.WaitGroup
	installed := 0
	for i, name := range names {
		r, err := flash.Lookup(name)
		if err != nil {
			out[i] = Check{Area: "runner", Name: name, Status: Warn, Detail: err.Error()}
			continue
		}
		if r.Exe == "" { // the built-in GDB loader
			out[i] = Check{Area: "runner", Name: name, Status: OK, Detail: "built in: programs through any GDB server (J-Link GDB server, OpenOCD, pyOCD, QEMU)"}
			continue
		}
		path, err := env.LookPath(r.Exe)
		if err != nil {
			out[i] = Check{Area: "runner", Name: name, Status: Info, Detail: r.Exe + " is not on PATH", Fix: r.Install}
			continue
		}
		installed++
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := Check{Area: "runner", Name: name, Status: OK, Detail: path}
			if v := version(ctx, env.Timeout, r.Exe, path); v != "" {
				c.Detail += ": " + v
			}
			if name == "openocd" {
				c = openOCDNRF91(ctx, env.LookPath, c)
			}
			out[i] = c
		}()
	}
	wg.Wait()
	if installed == 0 {
		out = append(out, Check{Area: "runner", Name: "any", Status: Warn,
			Detail: "no flash tool is installed: nrfprov can provision a board that already runs an AT host, but cannot flash the AT client or put the application back",
			Fix:    "install one of them (nrfutil is Nordic's current tool), or use --runner gdb with a running GDB server"})
	}
	return out
}

// ports checks every USB serial port and board: found, and openable by this user.
func portsAndBoards(env Env) []Check {
	if env.Ports == nil {
		return nil
	}
	list, err := env.Ports()
	if err != nil {
		return []Check{{Area: "port", Name: "list", Status: Warn, Detail: "cannot list the serial ports: " + err.Error(),
			Fix: "give the port with --port <path>"}}
	}
	var out []Check
	boards := serialio.Boards(list)
	if len(boards) == 0 {
		out = append(out, Check{Area: "board", Name: "none", Status: Warn, Detail: "no USB board is connected",
			Fix: "connect the board by USB and power it on (on a DK: the USB port by the J-Link, power switch on); for RTT or TCP boards give --port"})
	}
	jlink := false
	for _, b := range boards {
		model := b.Model
		if model == "" {
			model = "USB " + b.VID + ":" + b.PID
		}
		if b.VID == "1366" {
			jlink = true
		}
		out = append(out, Check{Area: "board", Name: b.SerialNumber, Status: OK,
			Detail: fmt.Sprintf("%s, VCOM0 %s (%d ports)", model, b.VCOM0(), len(b.Ports))})
		for _, p := range b.Ports {
			out = append(out, portCheck(env, p))
		}
	}
	if jlink && env.OS == "linux" {
		out = append(out, udevCheck(env))
	}
	return out
}

func portCheck(env Env, p serialio.PortInfo) Check {
	c := Check{Area: "port", Name: p.Path}
	err := env.CanOpen(p.Path)
	if err == nil {
		c.Status, c.Detail = OK, "this user may open it"
		return c
	}
	if errors.Is(err, ErrNotChecked) {
		c.Status, c.Detail = Info, err.Error()
		return c
	}
	c.Status, c.Detail = Fail, err.Error()
	var pe *PermissionError
	if errors.As(err, &pe) {
		c.Fix = pe.Fix()
	} else {
		c.Fix = "check the port exists and is the board's (nrfprov ports)"
	}
	return c
}

// udevCheck looks for SEGGER's rule that gives users access to J-Link probes.
func udevCheck(env Env) Check {
	c := Check{Area: "udev", Name: "J-Link"}
	if f := findJLinkRule(env.UdevDirs); f != "" {
		c.Status, c.Detail = OK, "J-Link udev rule "+f
		return c
	}
	c.Status = Warn
	c.Detail = "no J-Link udev rule (…-jlink.rules) in " + strings.Join(udevDirs(env.UdevDirs), ", ") +
		": flash tools run as this user may not reach the probe"
	c.Fix = "install the SEGGER J-Link Software package (it installs 99-jlink.rules), or copy its 99-jlink.rules to /etc/udev/rules.d, then `sudo udevadm control --reload` and replug the board"
	return c
}
