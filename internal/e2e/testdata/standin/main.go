// Command standin plays the vendors' flash tools for tests, against nrfsim boards: installed
// (copied or linked) as nrfutil, nrfjprog, JLinkExe or west, it checks its arguments against the
// documented syntax (../shared/docs/modem-cmng-athost.md §5.3, rtt-jlink-plugins.md §2.4, §2.6,
// §2.7), refuses anything else the way the tool does (a message and a non-zero exit), and acts on
// the board through its control socket: programming a hex switches the board's personality by
// the hex's contents, a reset reboots it.
//
// Boards are found by serial number among the control sockets (<serial>.sock) of the run
// directories in $NRFSIM_RUN_DIR (a PATH-like list); leading zeros do not matter. Without a
// serial number the one board there is used. $NRFSIM_STANDIN_LOG, when set, gets one line per
// invocation: the tool's name and its arguments as a JSON array. $NRFSIM_STANDIN_FAIL makes an
// invocation whose arguments contain that text fail like a lost probe connection. A file
// <serial>.protected beside a board's socket makes it a protected device (APPROTECT): nrfjprog
// fails with its documented code 16 and nrfutil with an error until a recover removes the file.
// nrfjprog exits with the codes its documentation lists (nordic.go).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nrfprov/nrfprov/internal/sim"
)

func main() {
	name := filepath.Base(os.Args[0])
	os.Exit(run(name, os.Args[1:], os.Stdout, os.Stderr))
}

func run(name string, args []string, stdout, stderr io.Writer) int {
	logInvocation(name, args)
	t := &tool{out: stdout, err: stderr}
	if f := os.Getenv("NRFSIM_STANDIN_FAIL"); f != "" && strings.Contains(strings.Join(args, " "), f) {
		fmt.Fprintf(stderr, "ERROR: lost connection to the debug probe (injected by NRFSIM_STANDIN_FAIL)\n")
		return 1
	}
	if code, ok := version(name, args, stdout); ok {
		return code
	}
	switch name {
	case "nrfjprog":
		return t.nrfjprog(args)
	case "nrfutil":
		return t.nrfutil(args)
	case "JLinkExe", "JLink.exe":
		return t.jlink(args)
	case "west":
		return t.west(args)
	}
	fmt.Fprintf(stderr, "standin: installed under an unknown name %q (want nrfutil, nrfjprog, JLinkExe or west)\n", name)
	return 1
}

func logInvocation(name string, args []string) {
	path := os.Getenv("NRFSIM_STANDIN_LOG")
	if path == "" {
		return
	}
	line, _ := json.Marshal(append([]string{name}, args...))
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	f.Write(append(line, '\n'))
}

type tool struct {
	out, err io.Writer
}

var (
	errNoBoard       = errors.New("no board")
	errUnknownSerial = errors.New("unknown serial number")
)

// board finds the control socket of the board with serial number sn (any leading zeros), or of
// the only board when sn is empty.
func board(sn string) (string, error) {
	var socks []string
	for _, dir := range filepath.SplitList(os.Getenv("NRFSIM_RUN_DIR")) {
		if dir == "" {
			continue
		}
		m, _ := filepath.Glob(filepath.Join(dir, "*.sock"))
		socks = append(socks, m...)
	}
	var match []string
	for _, s := range socks {
		serial := strings.TrimSuffix(filepath.Base(s), ".sock")
		if sn == "" || strings.TrimLeft(serial, "0") == strings.TrimLeft(sn, "0") {
			match = append(match, s)
		}
	}
	switch {
	case len(match) == 1:
		return match[0], nil
	case len(match) == 0 && sn != "" && len(socks) > 0:
		return "", fmt.Errorf("%w: no debugger with serial number %s is connected", errUnknownSerial, sn)
	case len(match) == 0 && sn != "":
		return "", fmt.Errorf("%w: no debuggers were discovered (looking for serial number %s)", errNoBoard, sn)
	case len(match) == 0:
		return "", fmt.Errorf("%w: no debuggers were discovered", errNoBoard)
	}
	return "", fmt.Errorf("%w: there is more than one connected debugger; give a serial number", errNoBoard)
}

func control(sock string, req sim.ControlRequest) (*sim.State, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return sim.ControlClient{Path: sock}.Do(ctx, req)
}

// program flashes a hex file onto the board (the board boots it, as after a reset) and, with
// verify, checks the board now holds exactly that image.
func program(sock, hex string, verify bool) error {
	img, err := sim.ReadFirmwareHex(hex)
	if err != nil {
		return err
	}
	if _, err := control(sock, sim.ControlRequest{Op: "flash", Hex: hex}); err != nil {
		return err
	}
	if !verify {
		return nil
	}
	st, err := control(sock, sim.ControlRequest{Op: "state"})
	if err != nil {
		return err
	}
	if st.Firmware.ImageSHA256 != img.ImageSHA256 {
		return errVerify
	}
	return nil
}

var errVerify = errors.New("verify error: the data in the device does not match the file")

func reset(sock string) error {
	_, err := control(sock, sim.ControlRequest{Op: "reset"})
	return err
}

// A board is protected (APPROTECT) while the file <serial>.protected sits beside its control
// socket: the tests create it; a recover removes it. nrfsim itself has no such state.
func protectedMarker(sock string) string { return strings.TrimSuffix(sock, ".sock") + ".protected" }

func protected(sock string) bool { return fileExists(protectedMarker(sock)) }

func unprotect(sock string) error {
	if err := os.Remove(protectedMarker(sock)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
