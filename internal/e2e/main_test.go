// Package e2e runs the transport layer end to end: real plugin processes
// (the nrfprov binary serving its built-in serial transport, the external
// nrfprov-transport-tcp), over real pseudo-terminals of nrfsim boards and
// real TCP on 127.0.0.1.
package e2e

import (
	"fmt"
	"github.com/nrfprov/nrfprov/internal/testsupport"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/nrfprov/nrfprov/internal/qemutest"
	"github.com/nrfprov/nrfprov/internal/sim"
	"github.com/nrfprov/nrfprov/internal/sim/simtest"
	"github.com/nrfprov/nrfprov/plugin"
)

// Binaries built once by TestMain.
var (
	nrfprovBin string // <bin>/nrfprov
	tcpBin     string // <plugins>/nrfprov-transport-tcp, the external example (nrfprov's built-in tcp shadows it)
	rawtcpBin  string // <plugins>/nrfprov-transport-rawtcp: the same example built under its own name
	pluginDir  string // <plugins>: what tests pass as $NRFPROV_PLUGIN_DIR
	futureBin  string // <future>/nrfprov-transport-future: speaks only protocol 2
	nrfsimBin  string // <bin>/nrfsim: its `ctl reset` is the stand-in debugger reset
	standinDir string // <standins>: the flash tool stand-ins (flash_test.go)
)

func TestMain(m *testing.M) {
	if port := os.Getenv(floorPortEnv); port != "" {
		os.Exit(floorProcess(port))
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "nrfprov-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	bin, plugins, future := filepath.Join(tmp, "bin"), filepath.Join(tmp, "plugins"), filepath.Join(tmp, "future")
	nrfprovBin = filepath.Join(bin, "nrfprov")
	tcpBin = filepath.Join(plugins, "nrfprov-transport-tcp")
	rawtcpBin = filepath.Join(plugins, "nrfprov-transport-rawtcp")
	futureBin = filepath.Join(future, "nrfprov-transport-future")
	nrfsimBin = filepath.Join(bin, "nrfsim")
	pluginDir = plugins
	for _, b := range []struct{ out, pkg, ldflags string }{
		{nrfprovBin, "github.com/nrfprov/nrfprov/cmd/nrfprov", ""},
		{tcpBin, "github.com/nrfprov/nrfprov/cmd/nrfprov-transport-tcp", ""},
		{rawtcpBin, "github.com/nrfprov/nrfprov/cmd/nrfprov-transport-tcp", "-X main.name=rawtcp"},
		{futureBin, "github.com/nrfprov/nrfprov/internal/e2e/testdata/futureplugin", ""},
		{nrfsimBin, "github.com/nrfprov/nrfprov/cmd/nrfsim", ""},
		{filepath.Join(tmp, "standins", "nrfjprog"), "github.com/nrfprov/nrfprov/internal/e2e/testdata/standin", ""},
	} {
		// Build with the test binary's own -race setting: the packages are
		// then already in the build cache, and the plugins run under the
		// race detector too when the tests do.
		args := []string{"build", "-o", b.out}
		if raceEnabled {
			args = append(args, "-race")
		}
		if b.ldflags != "" {
			args = append(args, "-ldflags", b.ldflags)
		}
		cmd := exec.Command("go", append(args, b.pkg)...)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: go build %s: %v\n", b.pkg, err)
			return 1
		}
	}
	if standinDir, err = installStandins(filepath.Join(tmp, "standins")); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	if raceEnabled {
		// A race in a plugin or host process kills it (and so fails the
		// test that drove it); and race-enabled binaries would otherwise
		// sleep 1 s at every exit.
		_ = os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" halt_on_error=1 atexit_sleep_ms=0"))
	}
	// No nrfprov a test starts journals into the user's own state directory (tests give each
	// of theirs its own, stateDir).
	_ = os.Setenv("NRFPROV_STATE_DIR", filepath.Join(tmp, "state"))
	defer qemutest.Cleanup() // the firmware the QEMU tests built
	return m.Run()
}

// testTimeout bounds every wait. Hitting it means a failure, not a slow
// machine: everything here answers in milliseconds.
const testTimeout = 15 * time.Second

// ctxT is the test's context with a deadline (internal/testsupport).
var ctxT = testsupport.ContextFunc(testTimeout)

// startBoard starts a virtual nRF9160 DK running at_client and waits for its
// boot output.
func startBoard(t testing.TB, cfg sim.BoardConfig) *sim.Board {
	t.Helper()
	return simtest.Board(t, cfg)
}

// serveGDB starts the board's GDB server for the rest of the test.
func serveGDB(tb testing.TB, b *sim.Board) *sim.GDBServer {
	tb.Helper()
	srv, err := sim.ServeGDB(b)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = srv.Close() })
	return srv
}

// newHost returns a Host that finds the serial built-in in the nrfprov binary
// and external transports in dir, logging into a captured logrus logger.
func newHost(t testing.TB, dir string, pins plugin.Checksums) (*plugin.Host, *logtest.Hook) {
	t.Helper()
	found, err := plugin.Discover(plugin.DiscoverConfig{Self: nrfprovBin, Builtins: []string{"serial"}, PluginDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	logger, hook := logtest.NewNullLogger()
	logger.SetLevel(logrus.DebugLevel)
	h := plugin.NewHost(plugin.HostConfig{Found: found, Pins: pins, Log: logrus.NewEntry(logger)})
	t.Cleanup(h.Close)
	return h, hook
}

func start(t testing.TB, h *plugin.Host, name string) *plugin.Client {
	t.Helper()
	c, err := h.Start(ctxT(t), name)
	if err != nil {
		t.Fatalf("start transport %s: %v", name, err)
	}
	return c
}

func openConn(t testing.TB, tr plugin.Transport, req plugin.OpenRequest) plugin.Conn {
	t.Helper()
	c, err := tr.Open(ctxT(t), req)
	if err != nil {
		t.Fatalf("open %s: %v", req.Address, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// readUntil reads r until want appears, bounded by testTimeout through the
// reader's read deadline.
func readUntil(t testing.TB, r io.Reader, want string) string {
	t.Helper()
	return testsupport.ReadUntil(t, r, want, testTimeout)
}

func readUntilErr(r io.Reader, want string) (string, error) {
	return testsupport.ReadUntilErr(r, want, testTimeout)
}

// exchange sends an AT command and returns the response up to its final OK.
func exchange(t testing.TB, c io.ReadWriter, cmd string) string {
	t.Helper()
	if _, err := c.Write([]byte(cmd + "\r")); err != nil {
		t.Fatalf("write %q: %v", cmd, err)
	}
	return readUntil(t, c, "OK\r\n")
}
