package doctor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/nrfprov/nrfprov/internal/flash"
	"github.com/nrfprov/nrfprov/plugin"
	"github.com/nrfprov/nrfprov/rtt/jlink"
)

// noVersionFlag are the tools without a --version that returns at once (J-Link Commander
// starts its interactive prompt).
var noVersionFlag = map[string]bool{"JLinkExe": true, "JLink.exe": true}

// version runs `path --version` and returns the first line it prints, or why it failed.
func version(ctx context.Context, timeout time.Duration, exe, path string) string {
	if noVersionFlag[exe] {
		return ""
	}
	out, err := run(ctx, timeout, path, "--version")
	if line := firstLine(out); line != "" {
		return line
	}
	if err != nil {
		return fmt.Sprintf("`%s --version` failed: %v", exe, err)
	}
	return ""
}

func run(ctx context.Context, timeout time.Duration, path string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	return out.Bytes(), err
}

func firstLine(b []byte) string {
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

// openOCDNRF91 says whether the installed OpenOCD has the nRF91 scripts (flash.DetectOpenOCD,
// the same check the openocd runner makes).
func openOCDNRF91(ctx context.Context, look flash.LookPath, c Check) Check {
	info, err := flash.DetectOpenOCD(ctx, look)
	switch {
	case err != nil:
		c.Status, c.Detail = Warn, c.Detail+"; "+err.Error()
	case info.Board != "":
		c.Detail += "; nRF91 support: " + filepath.Join(info.Scripts, info.Board)
	case info.Target != "":
		c.Detail += "; nRF91 support: " + filepath.Join(info.Scripts, info.Target) + " (with interface/jlink.cfg)"
	default:
		scripts := "no scripts directory found"
		if info.Scripts != "" {
			scripts = "none in " + info.Scripts
		}
		c.Status = Warn
		c.Detail += "; no nRF91 support: no nRF91 board or target script (" + scripts + ")"
		c.Fix = "nRF91 support came to OpenOCD after 0.12.0: put an OpenOCD built from current sources first on PATH, " +
			"give a config for your probe and an nRF91 with --openocd-config FILE, or flash with another runner (--runner nrfutil, nrfjprog, jlink, or gdb through a GDB server)"
	}
	return c
}

// jlinkServer looks for a stale J-Link GUI server on the RTT telnet port.
func jlinkServer(ctx context.Context, env Env) []Check {
	if env.JLinkRTT == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, env.Timeout)
	defer cancel()
	c := Check{Area: "jlink", Name: env.JLinkRTT}
	conn, err := jlink.Dial(ctx, env.JLinkRTT, jlink.Options{BannerTimeout: env.Timeout})
	var gui *jlink.GUIServerError
	switch {
	case err == nil:
		conn.Close()
		c.Status, c.Detail = OK, "a J-Link RTT server answers ("+strings.Join(conn.Banner, "; ")+")"
	case errors.As(err, &gui):
		c.Status = Warn
		c.Detail = fmt.Sprintf("a J-Link GUI server holds the RTT port (it answered %q): --transport rtt cannot reach the board", gui.Reply)
		c.Fix = "close JLinkGUIServer and the J-Link GUI tools (J-Link Commander, RTT Viewer), then start JLinkGDBServer again"
	case errors.Is(err, jlink.ErrNotJLink):
		c.Status, c.Detail = Warn, "something else listens on the J-Link RTT port: "+err.Error()
		c.Fix = "stop that program, or give the RTT server's address with --transport-opt rtt_port=…"
	default:
		c.Status, c.Detail = Info, "no J-Link RTT server is running"
		c.Fix = "for --transport rtt start JLinkGDBServer (or another GDB server) first"
	}
	return []Check{c}
}

// transports checks the transports found: built in, pinned, or what to run.
func transports(env Env) []Check {
	if env.TransportErr != nil {
		return []Check{{Area: "transport", Name: "discovery", Status: Fail, Detail: env.TransportErr.Error(),
			Fix: "fix the file named above (transports are executables named " + plugin.ExecutablePrefix + "<name>)"}}
	}
	if env.PinsErr != nil {
		return []Check{{Area: "transport", Name: "lock file", Status: Fail, Detail: env.PinsErr.Error(),
			Fix: "every board command needs the lock file: fix or delete it, then run `nrfprov transports lock`"}}
	}
	var out []Check
	for _, f := range env.Transports {
		c := Check{Area: "transport", Name: f.Name}
		if f.Builtin() {
			c.Status, c.Detail = OK, "built in"
			out = append(out, c)
			continue
		}
		_, err := plugin.Verify(f, env.Pins)
		var mm *plugin.ChecksumMismatchError
		switch {
		case err == nil:
			c.Status, c.Detail = OK, f.Path+": pinned, checksum matches"
		case errors.Is(err, plugin.ErrNotLocked):
			c.Status, c.Detail = Warn, f.Path+": not pinned, nrfprov will not run it"
			c.Fix = "if you trust it, run `nrfprov transports lock`"
		case errors.As(err, &mm):
			c.Status, c.Detail = Warn, f.Path+": changed since it was pinned, nrfprov will not run it"
			c.Fix = "if you trust the new file, run `nrfprov transports lock` again"
		default:
			c.Status, c.Detail = Warn, err.Error()
		}
		for _, s := range f.Shadowed {
			c.Detail += "; shadows " + s
		}
		out = append(out, c)
	}
	return out
}

// udevDirs are where udev rules live.
func udevDirs(dirs []string) []string {
	if dirs != nil {
		return dirs
	}
	return []string{"/etc/udev/rules.d", "/lib/udev/rules.d", "/usr/lib/udev/rules.d"}
}

func findJLinkRule(dirs []string) string {
	for _, d := range udevDirs(dirs) {
		m, _ := filepath.Glob(filepath.Join(d, "*jlink*.rules"))
		for _, f := range m {
			if st, err := os.Stat(f); err == nil && !st.IsDir() {
				return f
			}
		}
	}
	return ""
}
