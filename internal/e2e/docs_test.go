package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/sim"
)

// TestDocExamples runs every command the documentation shows in a ```console block (lines that
// start with "$ ") against virtual boards, in order, file by file, so that a documented command
// that stops working fails here. A command must exit 0, or with the code its trailing
// "# exit N" comment names.
//
// The documents speak of real hardware; docSubstitutions maps its names onto the virtual boards
// started for each document: /dev/ttyACM0 is an at_client nRF9160 DK (J-Link SN 960000001, also
// found through `ports` and --board); localhost:2331, localhost:19021 and localhost:6666 are the
// GDB server, J-Link RTT telnet server and OpenOCD Tcl port of a Modem Shell board reached over
// RTT; /tmp/nrfsim is a run directory of this test's own. The working directory holds
// examples/, scripts/, at_client.hex, app.hex and build/ (an application build whose runner is nrfjprog),
// mfw_nrf9160_1.3.6.zip (a modem firmware package), and identity.yaml with the throwaway CA it
// signs with (ca.pem, ca.key);
// the flash tools on PATH are the stand-ins (internal/e2e/testdata/standin). `nrfprov`, `nrfsim`
// and `go run ./cmd/…` run the binaries this package built.
func TestDocExamples(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	docs = append([]string{filepath.Join(root, "README.md"), filepath.Join(root, "examples", "README.md")}, docs...)
	total := 0
	for _, doc := range docs {
		cmds, err := consoleCommands(doc)
		if err != nil {
			t.Fatal(err)
		}
		total += len(cmds)
		if len(cmds) == 0 {
			continue
		}
		rel, _ := filepath.Rel(root, doc)
		t.Run(rel, func(t *testing.T) {
			t.Parallel()
			env := newDocEnv(t, root)
			for _, c := range cmds {
				env.run(t, rel, c)
			}
		})
	}
	if total < 10 {
		t.Fatalf("found only %d documented commands: is the ```console convention still in use?", total)
	}
}

// docCommand is one "$ " line of a console block (continuation lines joined).
type docCommand struct {
	line int
	text string
	exit int
}

var exitComment = regexp.MustCompile(`\s+#\s*exit\s+(\d+)\s*$`)

// consoleCommands extracts the commands of a Markdown file's ```console blocks.
func consoleCommands(path string) ([]docCommand, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cmds []docCommand
	in := false
	var cur *docCommand
	for i, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			in = !in && strings.TrimSpace(strings.TrimPrefix(trimmed, "```")) == "console"
			cur = nil
			continue
		}
		if !in {
			continue
		}
		switch {
		case cur != nil:
			cur.text += " " + strings.TrimSpace(strings.TrimSuffix(trimmed, "\\"))
		case strings.HasPrefix(trimmed, "$ "):
			cmds = append(cmds, docCommand{line: i + 1, text: strings.TrimSuffix(strings.TrimPrefix(trimmed, "$ "), "\\")})
			cur = &cmds[len(cmds)-1]
		default:
			continue // output shown in the docs
		}
		if strings.HasSuffix(trimmed, "\\") {
			continue
		}
		if m := exitComment.FindStringSubmatch(cur.text); m != nil {
			cur.exit, _ = strconv.Atoi(m[1])
			cur.text = strings.TrimSpace(cur.text[:len(cur.text)-len(m[0])])
		}
		cur.text = strings.TrimSpace(cur.text)
		cur = nil
	}
	return cmds, nil
}

// docEnv is the world a document's commands run in.
type docEnv struct {
	dir   string // working directory: examples/ is linked in
	env   []string
	subst *strings.Replacer
}

func newDocEnv(t *testing.T, root string) *docEnv {
	dir := t.TempDir()
	for _, d := range []string{"examples", "scripts"} {
		if err := os.Symlink(filepath.Join(root, d), filepath.Join(dir, d)); err != nil {
			t.Fatal(err)
		}
	}
	run, simRun := t.TempDir(), t.TempDir()
	serial := startBoard(t, sim.BoardConfig{RunDir: run, SerialNumber: "000960000001"})
	rttBoard := startBoard(t, sim.BoardConfig{SerialNumber: "000960000002", Personality: sim.ModemShell, RTT: true})
	gdbSrv := serveGDB(t, rttBoard)
	telnet, err := sim.ServeRTTTelnet(rttBoard, sim.TelnetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = telnet.Close() })
	ocd, err := sim.ServeOpenOCD(rttBoard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ocd.Close() })
	// Firmware images and a build directory for the runner examples (the flash tools are the
	// stand-ins, acting on the board through its control socket).
	firmwareHex(t, dir, "at_client.hex", sim.ATClient)
	// A modem firmware package, and a throwaway CA with a manifest that signs the modem's key
	// with it (docs/identity.md), for the modem-firmware and identity examples.
	if _, err := sim.WriteModemPackage(dir, "nrf9160", "1.3.6"); err != nil {
		t.Fatal(err)
	}
	throwawayCA(t, dir)
	identity := "version: 1\nidentity:\n  sec_tag: 16842753\n  client_cert:\n    sign_with: {ca: ca.pem, ca_key: ca.key}\n"
	if err := os.WriteFile(filepath.Join(dir, "identity.yaml"), []byte(identity), 0o644); err != nil {
		t.Fatal(err)
	}
	app, _ := firmwareHex(t, dir, "app.hex", sim.Application)
	build := appBuild(t, app, "nrfjprog")
	if err := os.Rename(build, filepath.Join(dir, "build")); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Dir(nrfprovBin)
	return &docEnv{
		dir: dir,
		env: append(os.Environ(),
			"PATH="+bin+string(os.PathListSeparator)+standins(t)+string(os.PathListSeparator)+os.Getenv("PATH"),
			"NRFSIM_RUN_DIR="+run,
			"NRFPROV_SYSFS_ROOT="+filepath.Join(run, "sys"), "NRFPROV_DEV_ROOT="+filepath.Join(run, "dev"),
			"NRFPROV_PLUGIN_LOCK="+filepath.Join(dir, "lock"), "NRFPROV_PLUGIN_DIR=", "NRFPROV_LOG_LEVEL=", stateDirEnv(t)),
		subst: strings.NewReplacer(
			"go run ./cmd/nrfprov", "nrfprov",
			"go run ./cmd/nrfsim", "nrfsim",
			"/dev/ttyACM0", serial.VCOM0(),
			"localhost:2331", gdbSrv.Addr(),
			"localhost:19021", telnet.Addr(),
			"localhost:6666", ocd.Addr(),
			"/tmp/nrfsim", simRun,
			"/tmp/standin", standins(t),
		),
	}
}

// run runs one documented command with bash; a command ending in "&" is a server (nrfsim): it
// is started, and the next command runs once it has printed its first line (ready).
func (e *docEnv) run(t *testing.T, doc string, c docCommand) {
	t.Helper()
	text := e.subst.Replace(c.text)
	where := fmt.Sprintf("%s:%d: $ %s", doc, c.line, c.text)
	if bg, ok := strings.CutSuffix(text, "&"); ok {
		e.background(t, where, bg)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-e", "-o", "pipefail", "-c", text)
	cmd.Dir, cmd.Env = e.dir, e.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s\ndid not end within 2 minutes; output:\n%s", where, out.String())
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s\n%v", where, err)
	}
	if code != c.exit {
		t.Fatalf("%s\nexited %d, the document says %d; output:\n%s", where, code, c.exit, out.String())
	}
}

func (e *docEnv) background(t *testing.T, where, text string) {
	t.Helper()
	cmd := exec.Command("bash", "-c", "exec "+text)
	cmd.Dir, cmd.Env = e.dir, e.env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s\n%v", where, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		ready <- sc.Scan()
		for sc.Scan() {
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("%s\nended without printing anything; stderr:\n%s", where, errb.String())
		}
	case <-time.After(testTimeout):
		t.Fatalf("%s\nprinted nothing within %v", where, testTimeout)
	}
}
