package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"github.com/nrfprov/nrfprov/internal/testsupport"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/sim"
)

// The nrfprov command line, run as the built binary against nrfsim boards over their PTYs.

type cliResult struct {
	stdout, stderr string
	code           int
}

// nrfprov runs the binary with args and returns what it printed and its exit code. The test's
// own deadline only guards against a wedged binary: a command that had to be killed fails the
// test, so every command proves it ends by itself.
func runNrfprov(t *testing.T, stdin string, args ...string) cliResult {
	t.Helper()
	return runNrfprovEnv(t, nil, stdin, args...)
}

func runNrfprovEnv(t testing.TB, env []string, stdin string, args ...string) cliResult {
	t.Helper()
	return runNrfprovIn(t, "", env, stdin, args...)
}

// runNrfprovIn is runNrfprovEnv in the working directory dir (for relative paths).
func runNrfprovIn(t testing.TB, dir string, env []string, stdin string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, nrfprovBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NRFPROV_PLUGIN_LOCK="+filepath.Join(t.TempDir(), "lock"), "NRFPROV_PLUGIN_DIR=", "NRFPROV_LOG_LEVEL=", stateDirEnv(t))
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("nrfprov %s did not end by itself; stderr:\n%s", strings.Join(args, " "), errb.String())
	}
	return cliResult{out.String(), errb.String(), exitCode(t, err)}
}

// exitCode is the exit status of a finished process: 0, its code, or a test failure when it
// could not run at all.
func exitCode(t testing.TB, err error) int {
	t.Helper()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

// ok runs nrfprov and requires success.
func ok(t *testing.T, args ...string) string {
	t.Helper()
	r := runNrfprov(t, "", args...)
	if r.code != 0 {
		t.Fatalf("nrfprov %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// fails runs nrfprov and requires exit code want and a message containing every of msgs.
func fails(t *testing.T, want int, args []string, msgs ...string) cliResult {
	t.Helper()
	r := runNrfprov(t, "", args...)
	if r.code != want {
		t.Fatalf("nrfprov %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, want, r.stdout, r.stderr)
	}
	for _, m := range msgs {
		if !strings.Contains(r.stderr, m) {
			t.Fatalf("nrfprov %s: stderr lacks %q:\n%s", strings.Join(args, " "), m, r.stderr)
		}
	}
	return r
}

type envelope struct {
	Schema  int             `json:"schema"`
	Command string          `json:"command"`
	Result  json.RawMessage `json:"result"`
}

func decode(t testing.TB, out, command string, v any) {
	t.Helper()
	var env envelope
	if err := json.Unmarshal([]byte(out), &env); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if env.Schema != 1 || env.Command != command {
		t.Fatalf("envelope schema %d command %q, want 1 %q", env.Schema, env.Command, command)
	}
	if err := json.Unmarshal(env.Result, v); err != nil {
		t.Fatalf("result: %v\n%s", err, env.Result)
	}
}

type jsonEntry struct {
	SecTag     uint32 `json:"sec_tag"`
	Type       int    `json:"type"`
	TypeName   string `json:"type_name"`
	SHA256     string `json:"sha256"`
	Hash       string `json:"hash"`
	ModemOwned bool   `json:"modem_owned"`
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func testCert(t testing.TB) string {
	t.Helper()
	return testsupport.CertPEM(t, "nrfprov e2e CA", 0)
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// TestCLIEveryVerb runs every board verb on an at_client board of each firmware profile.
func TestCLIEveryVerb(t *testing.T) {
	for _, profile := range sim.ProfileNames() {
		t.Run(profile, func(t *testing.T) {
			t.Parallel()
			old := strings.Contains(profile, "0.7.0")
			b := startBoard(t, sim.BoardConfig{Profile: profile, SerialNumber: "000960000010"})
			port := []string{"--port", b.VCOM0()}
			args := func(a ...string) []string { return append(append([]string{}, port...), a...) }

			var info struct {
				FW         string `json:"modem_firmware"`
				RealHashes bool   `json:"real_hashes"`
				IMEI       string `json:"imei"`
				ModemUUID  string `json:"modem_uuid"`
				CFUN       int    `json:"cfun"`
				D          string `json:"dialect"`
				T          string `json:"terminator"`
			}
			decode(t, ok(t, args("info", "--json")...), "info", &info)
			if info.D != "raw" || info.T != "cr" || info.RealHashes == old || len(info.IMEI) != 15 || !strings.HasPrefix(info.FW, "mfw_") {
				t.Fatalf("info: %+v", info)
			}

			cert := testCert(t)
			ca := writeFile(t, "ca.pem", cert)
			var wr struct {
				jsonEntry
				Verified bool `json:"verified"`
			}
			decode(t, ok(t, args("write", "42", "ROOT_CA_CERT", ca, "--json")...), "write", &wr)
			if wr.SecTag != 42 || wr.Type != 0 || wr.Verified == old {
				t.Fatalf("write: %+v", wr)
			}
			if !old && wr.SHA256 != sha(cert) {
				t.Fatalf("write hash %s, want %s", wr.SHA256, sha(cert))
			}
			psk := "0011223344556677889900aabbccddeeff"
			ok(t, args("write", "42", "psk", writeFile(t, "psk.hex", psk))...)

			var list struct{ Credentials []jsonEntry }
			decode(t, ok(t, args("list", "--json")...), "list", &list)
			byKey := map[[2]int]jsonEntry{}
			for _, e := range list.Credentials {
				byKey[[2]int{int(e.SecTag), e.Type}] = e
			}
			ca0, psk3 := byKey[[2]int{42, 0}], byKey[[2]int{42, 3}]
			if old {
				if ca0.Hash != "placeholder" || psk3.Hash != "placeholder" || len(list.Credentials) != 2 {
					t.Fatalf("0.7.0 list: %+v", list.Credentials)
				}
			} else {
				if ca0.SHA256 != sha(cert) || ca0.Hash != "real" || psk3.SHA256 != sha(psk) || psk3.TypeName != "PSK" {
					t.Fatalf("list: %+v", list.Credentials)
				}
				if owned := byKey[[2]int{4294967294, 6}]; !owned.ModemOwned {
					t.Fatalf("the device identity key is not listed as the modem's: %+v", list.Credentials)
				}
			}
			if got := ok(t, args("read", "42", "0")...); got != cert {
				t.Fatalf("read returned %q", got)
			}
			if got := strings.TrimSpace(ok(t, args("imei")...)); got != info.IMEI {
				t.Fatalf("imei %q, info said %q", got, info.IMEI)
			}
			if old {
				fails(t, 6, args("attoken"), "ERROR")
				fails(t, 6, args("generate", "7"), "ERROR")
			} else {
				if tok := strings.TrimSpace(ok(t, args("attoken")...)); !regexp.MustCompile(`^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$`).MatchString(tok) {
					t.Fatalf("attoken %q", tok)
				}
				// Decoded, the token names the device the %KEYGEN answer names, and the modem
				// firmware build %XMODEMUUID reports.
				var att struct {
					Decoded struct {
						DeviceUUID   string `json:"device_uuid"`
						FirmwareUUID string `json:"firmware_uuid"`
						DeviceType   int    `json:"device_type"`
					} `json:"decoded"`
					FirmwareMatches bool `json:"firmware_uuid_matches"`
				}
				decode(t, ok(t, args("attoken", "--decode", "--json")...), "attoken", &att)
				if !att.FirmwareMatches || !strings.EqualFold(att.Decoded.FirmwareUUID, info.ModemUUID) || att.Decoded.DeviceType <= 0 {
					t.Fatalf("attoken --decode: %+v, info's modem UUID %s", att, info.ModemUUID)
				}
				out := filepath.Join(t.TempDir(), "csr.pem")
				var gen struct {
					DeviceUUID string `json:"device_uuid"`
				}
				decode(t, ok(t, args("generate", "7", "--attributes", "O=nrfprov,CN=e2e", "--out", out, "--json")...), "generate", &gen)
				if gen.DeviceUUID == "" || gen.DeviceUUID != att.Decoded.DeviceUUID {
					t.Fatalf("the token's device UUID %q, %%KEYGEN's %q", att.Decoded.DeviceUUID, gen.DeviceUUID)
				}
				raw, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				blk, _ := pem.Decode(raw)
				csr, err := x509.ParseCertificateRequest(blk.Bytes)
				if err != nil || csr.CheckSignature() != nil || csr.Subject.CommonName != "e2e" {
					t.Fatalf("CSR: %v %+v", err, csr)
				}
				fails(t, 6, args("generate", "7"), "519")
			}
			ok(t, args("delete", "42", "0")...)
			fails(t, 6, args("delete", "42", "0"), "513")
			fails(t, 2, args("deleteall"), "--yes")
			var del struct{ Deleted []jsonEntry }
			decode(t, ok(t, args("deleteall", "--yes", "--json")...), "deleteall", &del)
			for _, e := range del.Deleted {
				if e.SecTag > 2147483647 {
					t.Fatalf("deleteall deleted a modem entry: %+v", e)
				}
			}
			if want := 1; !old {
				want = 2 // the PSK and the generated key
				if len(del.Deleted) != want {
					t.Fatalf("deleteall deleted %+v", del.Deleted)
				}
			}
			decode(t, ok(t, args("list", "--json")...), "list", &list)
			for _, e := range list.Credentials {
				if !e.ModemOwned {
					t.Fatalf("after deleteall: %+v", list.Credentials)
				}
			}
			// The modem was put back in the mode it was in (CFUN=0 after boot).
			decode(t, ok(t, args("info", "--json")...), "info", &info)
			if info.CFUN != 0 {
				t.Fatalf("CFUN after writes: %d, want the original 0", info.CFUN)
			}
		})
	}
}

// TestCLIPersonalities: the shell dialect (modem_shell) and SLM are detected and work; the shell
// stores line breaks as CR LF, so a CR LF file is stored exactly and an LF file is refused before
// sending (never other bytes than the file's).
func TestCLIPersonalities(t *testing.T) {
	t.Run("modem_shell", func(t *testing.T) {
		t.Parallel()
		b := startBoard(t, sim.BoardConfig{Personality: sim.ModemShell, SerialNumber: "000960000011"})
		cert := testCert(t)
		fails(t, 2, []string{"--port", b.VCOM0(), "write", "9", "0", writeFile(t, "ca.pem", cert)},
			"LF line break at byte offset", "hint: give the content CR LF line breaks")
		if st, err := b.State(ctxT(t)); err != nil || len(st.Credentials) != 0 || st.CFUN != 0 {
			t.Fatalf("a refused write reached the board: %+v, %v", st, err)
		}
		var wr struct {
			jsonEntry
			Verified bool `json:"verified"`
		}
		crlf := strings.ReplaceAll(cert, "\n", "\r\n")
		decode(t, ok(t, "--port", b.VCOM0(), "write", "9", "0", writeFile(t, "ca.pem", crlf), "--json"), "write", &wr)
		if !wr.Verified || wr.SHA256 != sha(crlf) {
			t.Fatalf("shell write: %+v; want the hash of the file %s", wr, sha(crlf))
		}
		var info struct {
			D string `json:"dialect"`
		}
		decode(t, ok(t, "--port", b.VCOM0(), "info", "--json"), "info", &info)
		if info.D != "shell" {
			t.Fatalf("dialect %q", info.D)
		}
	})
	t.Run("serial_lte_modem", func(t *testing.T) {
		t.Parallel()
		b := startBoard(t, sim.BoardConfig{Personality: sim.SerialLTEModem, SerialNumber: "000960000012"})
		var info struct {
			D string `json:"dialect"`
			T string `json:"terminator"`
		}
		decode(t, ok(t, "--port", b.VCOM0(), "info", "--json"), "info", &info)
		if info.D != "raw" || info.T != "crlf" {
			t.Fatalf("SLM link: %+v", info)
		}
		ok(t, "--port", b.VCOM0(), "write", "3", "PSK_ID", writeFile(t, "id", "slm-device"))
		if got := ok(t, "--port", b.VCOM0(), "read", "3", "4"); got != "slm-device" {
			t.Fatalf("read %q", got)
		}
	})
	t.Run("application", func(t *testing.T) {
		t.Parallel()
		b := startBoard(t, sim.BoardConfig{Personality: sim.Application, SerialNumber: "000960000013"})
		fails(t, 4, []string{"--port", b.VCOM0(), "list"}, "no AT host", "hint: ")
	})
}

// TestCLIModemErrors: each CME code the verbs can meet, with its message, hint and exit code.
func TestCLIModemErrors(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{SerialNumber: "000960000020"})
	b20 := startBoard(t, sim.BoardConfig{SerialNumber: "000960000021", Profile: "mfw_nrf91x1_2.0.x"})
	p, p20 := b.VCOM0(), b20.VCOM0()

	// 527: not a certificate, on nRF91x1 mfw 2.x.
	fails(t, 6, []string{"--port", p20, "write", "1", "0", writeFile(t, "x", notACertificate)}, "527")
	// 514: a reserved tag the modem keeps for itself.
	fails(t, 6, []string{"--port", p, "--allow-reserved", "write", "4000000000", "4", writeFile(t, "x", "id")}, "514")
	// 513: nothing to delete.
	fails(t, 6, []string{"--port", p, "delete", "77", "PSK"}, "513")
	// 515: the store is full.
	if err := b.InjectFault(ctxT(t), sim.Fault{Kind: "store_capacity", Count: 1}); err != nil {
		t.Fatal(err)
	}
	ok(t, "--port", p, "write", "1", "4", writeFile(t, "a", "first"))
	fails(t, 6, []string{"--port", p, "write", "2", "4", writeFile(t, "b", "second")}, "515")
	// 528: the power-off warning blocks writes.
	if err := b.InjectFault(ctxT(t), sim.Fault{Kind: "power_off_warning", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	fails(t, 6, []string{"--port", p, "write", "1", "4", writeFile(t, "c", "again")}, "528")
	if err := b.ClearFaults(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	// 518: the modem is online and --keep-cfun forbids nrfprov to switch it off; without the
	// flag nrfprov switches to CFUN=4 itself and restores CFUN=1 afterwards.
	r := runNrfprov(t, "AT+CFUN=1\r", "plugin", "connect", "serial", p)
	if r.code != 0 {
		t.Fatalf("plugin connect: %d %s", r.code, r.stderr)
	}
	fails(t, 6, []string{"--port", p, "--keep-cfun", "write", "5", "4", writeFile(t, "d", "online")}, "518", "CFUN=4")
	ok(t, "--port", p, "write", "5", "4", writeFile(t, "e", "online"))
	var info struct {
		CFUN int `json:"cfun"`
	}
	decode(t, ok(t, "--port", p, "info", "--json"), "info", &info)
	if info.CFUN != 1 {
		t.Fatalf("CFUN after a write on an online modem: %d, want 1 restored", info.CFUN)
	}
}

// TestCLINeverHangs: a board that stops answering, a truncated read-back and a stuck AT host
// each end with their own exit code, by themselves.
func TestCLINeverHangs(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{SerialNumber: "000960000030"})
	p := b.VCOM0()
	ok(t, "--port", p, "write", "42", "0", writeFile(t, "ca.pem", testCert(t)))

	if err := b.InjectFault(ctxT(t), sim.Fault{Kind: "truncate", Bytes: 200}); err != nil {
		t.Fatal(err)
	}
	fails(t, 8, []string{"--port", p, "read", "42", "0"}, "truncated", "CONFIG_AT_HOST_CMD_MAX_LEN")
	if err := b.ClearFaults(ctxT(t)); err != nil {
		t.Fatal(err)
	}

	// The modem hangs on the list itself (the last command a list run sends): a timeout,
	// exit 5, with the reset hint. Count the commands of one run first.
	st0, err := b.State(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	ok(t, "--port", p, "list")
	st1, err := b.State(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	perRun := int(st1.Stats.Commands - st0.Stats.Commands)
	if err := b.InjectFault(ctxT(t), sim.Fault{Kind: "hang", Count: perRun - 1}); err != nil {
		t.Fatal(err)
	}
	fails(t, 5, []string{"--port", p, "--modem-latency", "300ms", "list"}, "AT%CMNG=1", "no final result", "hint: ", "reset")
	// Still hung: nothing answers at all now.
	fails(t, 4, []string{"--port", p, "--modem-latency", "300ms", "imei"}, "no AT host", "stuck")
	if err := b.Reset(ctxT(t)); err != nil { // a fresh deadline: the commands above took their time
		t.Fatal(err)
	}
	ok(t, "--port", p, "imei")
}

// TestCLIBadInputNeverReachesTheBoard: bad content and arguments are refused before a byte is
// sent, with exit code 2.
func TestCLIBadInputNeverReachesTheBoard(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{SerialNumber: "000960000040"})
	p := b.VCOM0()
	before, err := b.State(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]string{
		"quote":     {"write", "1", "4", writeFile(t, "q", `a"b`)},
		"non-ascii": {"write", "1", "4", writeFile(t, "u", "grüße")},
		"oversize":  {"write", "1", "4", writeFile(t, "big", strings.Repeat("A", 4096))},
		"not-pem":   {"write", "1", "0", writeFile(t, "x.pem", "not a certificate")},
		"psk-hex":   {"write", "1", "PSK", writeFile(t, "p.hex", "zz11")},
		"reserved":  {"write", "2147483648", "4", writeFile(t, "r", "x")},
		"type":      {"write", "1", "FANCY_KEY", writeFile(t, "t", "x")},
		"type-12":   {"write", "1", "12", writeFile(t, "t12", "x")},
		"no-file":   {"write", "1", "4", filepath.Join(t.TempDir(), "missing.pem")},
		"tag":       {"delete", "-1", "0"},
		"read-key":  {"read", "1", "CLIENT_KEY"},
	}
	for name, args := range cases {
		r := runNrfprov(t, "", append([]string{"--port", p}, args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, "nrfprov: ") {
			t.Errorf("%s: exit %d, stderr %q", name, r.code, r.stderr)
		}
	}
	after, err := b.State(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if after.Stats.RxBytes != before.Stats.RxBytes {
		t.Fatalf("bad input reached the board: %d bytes", after.Stats.RxBytes-before.Stats.RxBytes)
	}
	fails(t, 4, []string{"--port", filepath.Join(t.TempDir(), "ttyACM9"), "list"}, "not found")
}

// TestCLISecretsStayOut: a PSK and a private key written with wire tracing, debug logs and JSON
// never show up in any output, only their hashes.
func TestCLISecretsStayOut(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{SerialNumber: "000960000050"})
	p := b.VCOM0()
	psk := "a1b2c3d4e5f60718293a4b5c6d7e8f90"
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	var all strings.Builder
	for _, a := range [][]string{
		{"write", "8", "PSK", writeFile(t, "psk", psk)},
		{"write", "8", "CLIENT_KEY", writeFile(t, "key", keyPEM)},
		{"list"},
	} {
		for _, extra := range [][]string{{"--trace-wire", "--log-level", "debug"}, {"--json", "--log-level", "debug"}} {
			r := runNrfprov(t, "", append(append([]string{"--port", p}, extra...), a...)...)
			if r.code != 0 {
				t.Fatalf("%v: %d %s", a, r.code, r.stderr)
			}
			all.WriteString(r.stdout + r.stderr)
		}
	}
	out := all.String()
	if !strings.Contains(out, "wire ") {
		t.Fatal("no wire trace was printed: the test would prove nothing")
	}
	for _, secret := range []string{psk, keyPEM} {
		for i := 0; i+16 <= len(secret); i++ {
			if strings.Contains(out, secret[i:i+16]) {
				t.Fatalf("output contains secret bytes %q", secret[i:i+16])
			}
		}
	}
	if !strings.Contains(out, sha(psk)) {
		t.Fatalf("the PSK's hash is not shown anywhere:\n%s", out)
	}
}

// TestCLIBoardSelection: virtual boards published as USB devices (nrfsim's sysfs tree) are
// listed by `ports`, picked by --board, and never guessed: with two boards and no selection
// nrfprov stops and lists both.
func TestCLIBoardSelection(t *testing.T) {
	t.Parallel()
	run := t.TempDir()
	b1 := startBoard(t, sim.BoardConfig{RunDir: run, SerialNumber: "000960000061"})
	startBoard(t, sim.BoardConfig{RunDir: run, SerialNumber: "001059000062", Profile: "mfw_nrf91x1_2.0.x"})
	env := []string{"NRFPROV_SYSFS_ROOT=" + filepath.Join(run, "sys"), "NRFPROV_DEV_ROOT=" + filepath.Join(run, "dev")}
	do := func(args ...string) cliResult { return runNrfprovEnv(t, env, "", args...) }

	r := do("ports", "--json")
	var ports struct {
		Boards []struct {
			SerialNumber string `json:"serial_number"`
			Model        string `json:"model"`
			VCOM0        string `json:"vcom0"`
		}
	}
	if r.code != 0 {
		t.Fatalf("ports: %d %s", r.code, r.stderr)
	}
	decode(t, r.stdout, "ports", &ports)
	if len(ports.Boards) != 2 || ports.Boards[0].SerialNumber != "000960000061" || ports.Boards[0].Model != "nRF9160 DK" ||
		ports.Boards[1].Model != "nRF9161/nRF9151 DK" {
		t.Fatalf("ports: %+v", ports.Boards)
	}

	r = do("list")
	if r.code != 4 || !strings.Contains(r.stderr, "000960000061") || !strings.Contains(r.stderr, "001059000062") || !strings.Contains(r.stderr, "--board") {
		t.Fatalf("two boards, no selection: exit %d\n%s", r.code, r.stderr)
	}
	r = do("--board", "960000061", "info", "--json")
	var info struct {
		Port string `json:"port"`
		FW   string `json:"modem_firmware"`
	}
	if r.code != 0 {
		t.Fatalf("--board without leading zeros: %d %s", r.code, r.stderr)
	}
	decode(t, r.stdout, "info", &info)
	if !strings.HasPrefix(info.FW, "mfw_nrf9160_") {
		t.Fatalf("--board picked %+v", info)
	}
	if r := do("--board", "123456789", "list"); r.code != 4 {
		t.Fatalf("unknown board: exit %d %s", r.code, r.stderr)
	}
	// Unplugged, the board disappears from the list, as a USB device would.
	if err := b1.Unplug(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	r = do("info", "--json")
	if r.code != 0 {
		t.Fatalf("one board left, no selection: %d %s", r.code, r.stderr)
	}
	decode(t, r.stdout, "info", &info)
	if !strings.HasPrefix(info.FW, "mfw_nrf91x1_") {
		t.Fatalf("auto-selected %+v", info)
	}
}
