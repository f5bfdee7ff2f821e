package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// jlink: JLinkExe [-USB <SN> | -SelectEmuBySN <SN>] -nogui 1 -if SWD -speed <kHz> -device <name>
// -CommanderScript|-CommandFile <file> [-AutoConnect 1] [-ExitOnError 1] (rtt-jlink-plugins.md
// §2.4). Options are case-insensitive. The command file runs line by line; with ExitOnError 1 the
// first error ends it with exit status 1.
func (t *tool) jlink(args []string) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(t.out, format+"\n", a...)
		return 1
	}
	opts := map[string]string{}
	names := map[string]string{
		"-usb": "usb", "-selectemubysn": "usb", "-nogui": "nogui", "-if": "if", "-speed": "speed",
		"-device": "device", "-commanderscript": "script", "-commandfile": "script", "-autoconnect": "autoconnect",
		"-exitonerror": "exitonerror",
	}
	for i := 0; i < len(args); i++ {
		key, ok := names[strings.ToLower(args[i])]
		if !ok {
			return fail("Unknown command line option %s.", args[i])
		}
		if i+1 >= len(args) {
			return fail("Missing parameter for command line option %s.", args[i])
		}
		if _, dup := opts[key]; dup {
			return fail("Command line option %s given twice.", args[i])
		}
		opts[key] = args[i+1]
		i++
	}
	fmt.Fprintln(t.out, "SEGGER J-Link Commander (nrfsim stand-in)")
	switch {
	case opts["script"] == "":
		return fail("No command file given (-CommanderScript <file>): interactive mode is not available here.")
	case opts["nogui"] != "" && opts["nogui"] != "1" && opts["nogui"] != "0":
		return fail("Invalid value %q for -nogui (0 or 1).", opts["nogui"])
	case !strings.EqualFold(opts["if"], "SWD"):
		return fail("Target interface %q: the nRF91 is connected by SWD (-if SWD).", opts["if"])
	case opts["device"] == "":
		return fail("No device given (-device): J-Link would ask in a dialog.")
	}
	switch opts["device"] {
	case "nRF9160_xxAA", "nRF9151_xxCA", "nRF9161_xxCA":
	default:
		return fail("Unknown device %q.", opts["device"])
	}
	if s := opts["speed"]; s != "" && s != "auto" && s != "adaptive" {
		if n, err := strconv.Atoi(s); err != nil || n <= 0 {
			return fail("Invalid speed %q.", s)
		}
	}
	if sn := opts["usb"]; sn != "" && strings.Trim(sn, "0123456789") != "" {
		return fail("Invalid serial number %q for -USB.", sn)
	}
	f, err := os.Open(opts["script"])
	if err != nil {
		return fail("Could not open command file %s.", opts["script"])
	}
	defer f.Close()
	exitOnError := opts["exitonerror"] == "1"
	var sock string
	connect := func() error {
		if sock != "" {
			return nil
		}
		s, err := board(opts["usb"])
		if err != nil {
			return err
		}
		fmt.Fprintf(t.out, "Connecting to target via SWD\nDevice %q selected.\n", opts["device"])
		sock = s
		return nil
	}
	sc := bufio.NewScanner(f)
	failed := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "//") {
			continue
		}
		fmt.Fprintf(t.out, "J-Link>%s\n", line)
		cmd, arg, _ := strings.Cut(line, " ")
		arg = strings.TrimSpace(arg)
		var err error
		switch strings.ToLower(cmd) {
		case "exitonerror", "eoe":
			exitOnError = arg == "1"
		case "q", "qc", "exit":
			fmt.Fprintln(t.out, "Script processing completed.")
			if failed {
				return 1
			}
			return 0
		case "connect":
			err = connect()
		case "r":
			if err = connect(); err == nil {
				fmt.Fprintln(t.out, "Reset delay: 0 ms\nReset type NORMAL: Resets core & peripherals via SYSRESETREQ & VECTRESET bit.")
				err = reset(sock)
			}
		case "rsettype":
			if _, e := strconv.Atoi(arg); e != nil {
				err = fmt.Errorf("syntax: RSetType <type>")
			}
		case "g", "h", "le", "be":
			err = connect()
		case "loadfile":
			err = t.jlinkLoad(connect, &sock, arg)
		case "sleep":
			if _, e := strconv.Atoi(arg); e != nil {
				err = fmt.Errorf("syntax: Sleep <delay>")
			}
		case "writedp", "readdp", "speed", "device", "si", "exec":
		default:
			fmt.Fprintln(t.out, "Unknown command. '?' for help.")
			err = fmt.Errorf("unknown command %q", cmd)
		}
		if err != nil {
			failed = true
			fmt.Fprintf(t.out, "ERROR: %v\n", err)
			if exitOnError {
				fmt.Fprintln(t.out, "Script processing completed.")
				return 1
			}
		}
	}
	// A command file without q leaves J-Link Commander waiting for input; in batch use that is a
	// script error.
	return fail("The command file ended without q (J-Link Commander would now wait for input).")
}

func (t *tool) jlinkLoad(connect func() error, sock *string, arg string) error {
	file := strings.Trim(arg, "\"")
	if i := strings.Index(arg, "\" "); strings.HasPrefix(arg, "\"") && i > 0 {
		file = arg[1:i]
	}
	if file == "" {
		return fmt.Errorf("syntax: loadfile <filename> [<addr>]")
	}
	switch strings.ToLower(filepath.Ext(file)) {
	case ".hex":
	case ".bin":
		return fmt.Errorf("loadfile %s: a .bin file needs an address (the nrfsim stand-in takes .hex only)", file)
	default:
		return fmt.Errorf("loadfile %s: the nrfsim stand-in takes .hex files only", file)
	}
	if !fileExists(file) {
		return fmt.Errorf("could not open file %s", file)
	}
	if err := connect(); err != nil {
		return err
	}
	fmt.Fprintf(t.out, "Downloading file [%s]...\nComparing flash   [100%%] Done.\nErasing flash     [100%%] Done.\n", file)
	if err := program(*sock, file, true); err != nil {
		return err
	}
	fmt.Fprintln(t.out, "Programming flash [100%] Done.\nO.K.")
	return nil
}
