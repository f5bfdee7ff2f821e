package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nrfprov/nrfprov/internal/sim"
)

// TestEveryVerbOneDocumentOnStdout: with --json, every verb prints exactly one JSON document on
// stdout, the {schema, command, result} envelope; in text mode stdout holds the result and
// nothing else (no progress, notes, wire traces or errors). The verbs are those `nrfprov --help`
// lists, so a new verb without a case here fails the test.
func TestEveryVerbOneDocumentOnStdout(t *testing.T) {
	t.Parallel()
	run := t.TempDir()
	const sn, sn2 = "000960000601", "000960000602"
	b := startBoard(t, sim.BoardConfig{RunDir: run, SerialNumber: sn})
	startBoard(t, sim.BoardConfig{RunDir: run, SerialNumber: sn2})
	env := sysfsEnv(run)
	port := b.VCOM0()
	m, _ := credSet(t, 61, "lf", "prune: [61]\n")
	ca := writeFile(t, "ca.pem", testCert(t))
	dir := t.TempDir()
	atc, _ := firmwareHex(t, dir, "at_client.hex", sim.ATClient)
	app, _ := firmwareHex(t, dir, "app.hex", sim.Application)
	throwawayCA(t, dir)
	im := filepath.Join(dir, "identity.yaml")
	if err := os.WriteFile(im, []byte("version: 1\nidentity:\n  sec_tag: 66\n  client_cert: {sign_with: {ca: ca.pem, ca_key: ca.key}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mfw, err := sim.WriteModemPackage(dir, "nrf9160", "1.3.6")
	if err != nil {
		t.Fatal(err)
	}

	type verbCase struct {
		verb string // the command name the envelope carries
		args []string
		code int
		only string // "json" or "text": a verb that changes the board runs once in each mode
	}
	cases := []verbCase{
		{verb: "version", args: []string{"version"}},
		{verb: "ports", args: []string{"ports"}},
		{verb: "transports", args: []string{"transports"}},
		{verb: "transports lock", args: []string{"--plugin-lock", filepath.Join(t.TempDir(), "lock"), "transports", "lock"}},
		{verb: "info", args: []string{"--port", port, "--trace-wire", "info"}},
		{verb: "write", args: []string{"--port", port, "write", "61", "ROOT_CA_CERT", ca}},
		{verb: "list", args: []string{"--port", port, "list"}},
		{verb: "list", args: []string{"--port", port, "list", "61"}},
		{verb: "read", args: []string{"--port", port, "read", "61", "ROOT_CA_CERT"}},
		{verb: "imei", args: []string{"--port", port, "imei"}},
		{verb: "attoken", args: []string{"--port", port, "attoken", "--decode"}},
		{verb: "generate", args: []string{"--port", port, "generate", "62"}, only: "json"},
		{verb: "generate", args: []string{"--port", port, "generate", "63"}, only: "text"},
		{verb: "generate", args: []string{"--port", port, "generate", "64", "--der"}, only: "json"},
		{verb: "generate", args: []string{"--port", port, "generate", "65", "--der"}, only: "text"},
		{verb: "delete", args: []string{"--port", port, "delete", "61", "ROOT_CA_CERT"}, only: "json"},
		{verb: "write", args: []string{"--port", port, "write", "61", "ROOT_CA_CERT", ca}, only: "json"},
		{verb: "delete", args: []string{"--port", port, "delete", "61", "ROOT_CA_CERT"}, only: "text"},
		{verb: "deleteall", args: []string{"--port", port, "deleteall", "--yes"}},
		{verb: "plan", args: []string{"--port", port, "plan", "-m", m}},
		{verb: "provision", args: []string{"--port", port, "provision", "-m", m}},
		{verb: "provision", args: []string{"--port", port, "provision", "-m", m, "--dry-run"}},
		{verb: "plan", args: []string{"--board", sn, "--board", sn2, "plan", "-m", m}},
		{verb: "provision", args: []string{"--board", sn, "provision", "-m", m, "--dry-run", "--runner", "nrfjprog",
			"--flash-at-client", atc, "--restore-app", app}},
		{verb: "flash", args: []string{"--board", sn, "flash", app, "--runner", "nrfjprog", "--dry-run"}},
		{verb: "reset", args: []string{"--board", sn, "reset", "--runner", "nrfjprog", "--dry-run"}},
		{verb: "identity", args: []string{"--port", port, "identity", "-m", im, "--dry-run"}},
		{verb: "identity", args: []string{"--port", port, "identity", "-m", im}},
		{verb: "modem-firmware", args: []string{"--board", sn, "modem-firmware", mfw, "--runner", "nrfjprog", "--dry-run"}},
		{verb: "demo", args: []string{"demo"}},
		{verb: "doctor", args: []string{"doctor", "--jlink-rtt", ""}},
		// A failure prints nothing on stdout, in either mode.
		{verb: "list", args: []string{"--port", filepath.Join(dir, "no-such-port"), "list"}, code: 4},
		{verb: "version", args: []string{"version", "--baud", "9600"}, code: 2},
	}

	covered := map[string]bool{}
	for _, c := range cases {
		covered[strings.Fields(c.verb)[0]] = true
		for _, asJSON := range []bool{true, false} {
			if c.only != "" && (c.only == "json") != asJSON {
				continue
			}
			args := c.args
			if asJSON {
				args = append(append([]string{}, args...), "--json")
			}
			r := runNrfprovEnv(t, env, "", args...)
			if r.code != c.code {
				t.Errorf("nrfprov %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, c.code, r.stdout, r.stderr)
				continue
			}
			if c.code != 0 {
				if r.stdout != "" {
					t.Errorf("nrfprov %s failed and printed on stdout: %q", strings.Join(args, " "), r.stdout)
				}
				continue
			}
			if asJSON {
				oneDocument(t, args, r.stdout, c.verb)
			} else {
				onlyTheResult(t, args, r)
			}
		}
	}

	// Every verb the help lists has a case (completion prints a shell script, help is help).
	help := runNrfprovEnv(t, env, "", "--help")
	sect := help.stdout[strings.Index(help.stdout, "Available Commands:"):]
	sect = sect[:strings.Index(sect, "\n\n")]
	for _, m := range regexp.MustCompile(`(?m)^  (\S+)\s`).FindAllStringSubmatch(sect, -1) {
		if v := m[1]; v != "help" && v != "completion" && !covered[v] {
			t.Errorf("verb %s has no case in TestEveryVerbOneDocumentOnStdout", v)
		}
	}
}

// oneDocument: stdout is exactly one JSON value, the envelope of command.
func oneDocument(t *testing.T, args []string, out, command string) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	var env struct {
		Schema  int             `json:"schema"`
		Command string          `json:"command"`
		Result  json.RawMessage `json:"result"`
	}
	if err := dec.Decode(&env); err != nil {
		t.Errorf("nrfprov %s: stdout is not JSON: %v\n%s", strings.Join(args, " "), err, out)
		return
	}
	if env.Schema != 1 || env.Command != command || len(env.Result) == 0 || env.Result[0] != '{' {
		t.Errorf("nrfprov %s: envelope schema %d command %q result %.40s; want 1, %q, an object", strings.Join(args, " "), env.Schema, env.Command, env.Result, command)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		t.Errorf("nrfprov %s: more than one JSON document on stdout (%v):\n%s", strings.Join(args, " "), err, out)
	}
}

// onlyTheResult: in text mode nothing of what goes to stderr (progress, notes, traces, errors)
// reaches stdout.
func onlyTheResult(t *testing.T, args []string, r cliResult) {
	t.Helper()
	noise := regexp.MustCompile(`^(\[\d+\] )?(wire |nrfprov: |  hint: |flash: |demo: |connect: |identify: |observe: |plan: |  \[\d+/\d+\] |recover: |verify: |restore: |time=|level=)`)
	sc := bufio.NewScanner(bytes.NewReader([]byte(r.stdout)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if l := sc.Text(); noise.MatchString(l) {
			t.Errorf("nrfprov %s: stdout has a line that belongs on stderr: %q", strings.Join(args, " "), l)
		}
	}
	if r.stdout == "" {
		t.Errorf("nrfprov %s: no result on stdout", strings.Join(args, " "))
	}
}
