package flash

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"strings"
)

// PlanProgram returns the commands that program img and reset the board with kind (default
// system). Generated files (a J-Link command file, the HEX copy of an ELF image for tools that
// take only HEX) go into workDir.
func (r *Runner) PlanProgram(t Target, img *Image, kind ResetKind, workDir string) ([]Command, error) {
	kv, err := r.kindVars(kind)
	if err != nil {
		return nil, err
	}
	if r.builtin {
		return []Command{gdbCommand(t, img)}, nil
	}
	vars := merge(t.vars(), kv)
	if r.Name == "west" && t.WestRunner != "" && t.WestRunner != "nrfjprog" && t.WestRunner != "nrfutil" {
		// --softreset belongs to west's nRF runners (nrf_common.py); the others reset their own way.
		vars["west_reset"] = ""
	}
	var files []File
	vars["hex"] = img.Path
	if r.HexOnly && img.Format != "hex" {
		text, err := img.HexText()
		if err != nil {
			return nil, err
		}
		p := filepath.Join(workDir, strings.TrimSuffix(filepath.Base(img.Path), filepath.Ext(img.Path))+".hex")
		files = append(files, File{Path: p, Content: text})
		vars["hex"] = p
	}
	return r.commands(r.Program, r.ProgramScript, vars, files, workDir), nil
}

// PlanReset returns the commands that reset the board with kind (default system).
func (r *Runner) PlanReset(t Target, kind ResetKind, workDir string) ([]Command, error) {
	if r.ResetVia != "" {
		via := r.ResetVia
		// west flash has no reset of its own: the workspace's runner does it.
		switch t.WestRunner {
		case "nrfjprog", "nrfutil", "jlink":
			via = t.WestRunner
		}
		v, err := Lookup(via)
		if err != nil {
			return nil, err
		}
		return v.PlanReset(t, kind, workDir)
	}
	kv, err := r.kindVars(kind)
	if err != nil {
		return nil, err
	}
	if r.builtin {
		return []Command{gdbCommand(t, nil)}, nil
	}
	return r.commands(r.Reset, r.ResetScript, merge(t.vars(), kv), nil, workDir), nil
}

func (r *Runner) commands(ts []template, script template, vars map[string]string, files []File, workDir string) []Command {
	if script != nil {
		p := filepath.Join(workDir, r.ScriptName)
		vars["script"] = p
		files = append(files, File{Path: p, Content: strings.Join(expand(script, vars), "\n") + "\n"})
	}
	var cmds []Command
	for i, t := range ts {
		c := Command{Argv: append([]string{r.Exe}, expand(t, vars)...)}
		if i == 0 {
			c.Files = files
		}
		cmds = append(cmds, c)
	}
	return cmds
}

// gdbCommand is the built-in gdb runner's one step: with an image, load it and reset; without,
// reset only.
func gdbCommand(t Target, img *Image) Command {
	reset := "monitor " + strings.Join(gdbResetCommands(t.GDBReset), "; monitor ")
	c := Command{Display: fmt.Sprintf("(built in) gdb remote %s: %s", t.GDBAddress, reset)}
	if img != nil {
		c.Display = fmt.Sprintf("(built in) gdb remote %s: load %s; %s", t.GDBAddress, img.Describe(), reset)
	}
	c.builtin = func(ctx context.Context, log func(string)) error {
		return gdbRun(ctx, t, img, log)
	}
	return c
}

// PlanRecover returns the commands that recover (unlock by erasing) a protected device. Only
// nrfutil and nrfjprog have such a command; west's goes through its workspace runner as a reset
// does.
func (r *Runner) PlanRecover(t Target, workDir string) ([]Command, error) {
	if r.ResetVia != "" {
		via := r.ResetVia
		switch t.WestRunner {
		case "nrfjprog", "nrfutil":
			via = t.WestRunner
		}
		v, err := Lookup(via)
		if err != nil {
			return nil, err
		}
		return v.PlanRecover(t, workDir)
	}
	if r.Recover == nil {
		return nil, fmt.Errorf("%w: runner %s has no recover (nrfutil, nrfjprog and an OpenOCD with nrf91_recover do)", ErrUnsupported, r.Name)
	}
	if r.Name == "openocd" && !t.OpenOCDRecover {
		return nil, fmt.Errorf("%w: runner openocd: the config %s defines no nrf91_recover (upstream OpenOCD's target/nordic/nrf91.cfg does)",
			ErrUnsupported, cmp.Or(t.OpenOCDConfig, DefaultOpenOCDConfig))
	}
	return r.commands(r.Recover, nil, t.vars(), nil, workDir), nil
}
