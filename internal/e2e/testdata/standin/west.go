package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// west: west flash [-d|--build-dir DIR] [-r|--runner RUNNER] [--hex-file F] [-i|--dev-id SN]
// [--softreset] [--erase] (rtt-jlink-plugins.md §2.7). Argparse-style errors, exit 2. The build
// directory must hold zephyr/runners.yaml; the runner must be one it lists; the image is
// --hex-file, else the file's hex_file. Then the runner's flow: program, verify, and a pin reset
// (a system reset with --softreset).
func (t *tool) west(args []string) int {
	usage := func(format string, a ...any) int {
		fmt.Fprintln(t.err, "usage: west flash [-h] [-d BUILD_DIR] [-r RUNNER] [--hex-file HEX_FILE] [-i DEV_ID] [--softreset] [--erase]")
		fmt.Fprintf(t.err, "west flash: error: "+format+"\n", a...)
		return 2
	}
	fatal := func(format string, a ...any) int {
		fmt.Fprintf(t.err, "FATAL ERROR: "+format+"\n", a...)
		return 1
	}
	if len(args) == 0 || args[0] != "flash" {
		if len(args) == 0 {
			fmt.Fprintln(t.err, "usage: west [-h] [-z ZEPHYR_BASE] [-v] [-V] <command> ...")
			return 1
		}
		fmt.Fprintf(t.err, "west: unknown command \"%s\" (the nrfsim stand-in knows flash)\n", args[0])
		return 1
	}
	opts := map[string]string{}
	flags := map[string]bool{}
	names := map[string]string{
		"-d": "build_dir", "--build-dir": "build_dir", "-r": "runner", "--runner": "runner",
		"--hex-file": "hex_file", "-i": "dev_id", "--dev-id": "dev_id", "--snr": "dev_id",
	}
	var unknown []string
	rest := args[1:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--softreset" || a == "--erase" {
			flags[a] = true
			continue
		}
		key, ok := names[a]
		if !ok {
			unknown = append(unknown, a)
			continue
		}
		if i+1 >= len(rest) || strings.HasPrefix(rest[i+1], "-") {
			return usage("argument %s: expected one argument", a)
		}
		opts[key] = rest[i+1]
		i++
	}
	if len(unknown) > 0 {
		return usage("unrecognized arguments: %s", strings.Join(unknown, " "))
	}
	dir := opts["build_dir"]
	if dir == "" {
		dir = "build"
	}
	ry := filepath.Join(dir, "zephyr", "runners.yaml")
	raw, err := os.ReadFile(ry)
	if err != nil {
		return fatal("build directory %s does not look like a Zephyr build directory: no %s", dir, ry)
	}
	var cfg struct {
		Runners     []string `yaml:"runners"`
		FlashRunner string   `yaml:"flash-runner"`
		Config      struct {
			HexFile string `yaml:"hex_file"`
		} `yaml:"config"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		return fatal("%s: %v", ry, err)
	}
	runner := opts["runner"]
	if runner == "" {
		runner = cfg.FlashRunner
	}
	if runner == "" {
		return fatal("no runner given and %s has no flash-runner", ry)
	}
	if !slices.Contains(cfg.Runners, runner) {
		return fatal("runner %s is not configured for this board (available: %s)", runner, strings.Join(cfg.Runners, ", "))
	}
	if flags["--softreset"] && runner != "nrfjprog" && runner != "nrfutil" {
		return usage("unrecognized arguments: --softreset")
	}
	hex := opts["hex_file"]
	if hex == "" {
		hex = cfg.Config.HexFile
		if hex != "" && !filepath.IsAbs(hex) {
			hex = filepath.Join(filepath.Dir(ry), hex)
		}
	}
	if hex == "" || !fileExists(hex) {
		return fatal("cannot flash; no hex file (%q) found", hex)
	}
	fmt.Fprintf(t.out, "-- west flash: using runner %s\n", runner)
	sock, err := board(opts["dev_id"])
	if err != nil {
		return fatal("%v", err)
	}
	fmt.Fprintf(t.out, "-- runners.%s: Flashing file: %s\n", runner, hex)
	if err := program(sock, hex, true); err != nil {
		return fatal("%v", err)
	}
	kind := "pin"
	if flags["--softreset"] {
		kind = "system"
	}
	if err := reset(sock); err != nil {
		return fatal("%v", err)
	}
	fmt.Fprintf(t.out, "-- runners.%s: Board with serial number %s flashed successfully (%s reset).\n", runner, snrOf(sock), kind)
	return 0
}
