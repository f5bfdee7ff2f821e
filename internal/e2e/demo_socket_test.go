package e2e

import (
	"regexp"
	"strings"
	"testing"
)

// The demo as it runs on Windows and macOS, where there is no pseudo-terminal: the board's UART
// is a loopback socket and nrfprov reaches it through its built-in tcp transport's process. The
// first provision writes the three credentials (recovering the stuck board with a reset, after
// which the new transport process still reads the board's "Ready"), the second writes nothing.
// The plugin dir holds an unpinned external nrfprov-transport-tcp: the built-in wins, so the demo
// neither needs it nor runs it (it would be refused, exit 3, as not pinned).
func TestDemoOverSocket(t *testing.T) {
	res := runNrfprovEnv(t, []string{"NRFPROV_PLUGIN_DIR=" + pluginDir}, "", "demo", "--socket")
	if res.code != 0 {
		t.Fatalf("demo --socket: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if !regexp.MustCompile(`demo: virtual nRF9160 DK \d+ on 127\.0\.0\.1:\d+\n`).MatchString(res.stderr) {
		t.Fatalf("the board is not on a loopback socket:\n%s", res.stderr)
	}
	sums := regexp.MustCompile(`(?m)^\d+ written, \d+ deleted, \d+ resets$`).FindAllString(res.stdout, -1)
	if len(sums) != 2 || !strings.HasPrefix(sums[0], "3 written, 0 deleted, ") || sums[0] == "3 written, 0 deleted, 0 resets" ||
		sums[1] != "0 written, 0 deleted, 0 resets" {
		t.Fatalf("summaries %q: want 3 written with a reset, then nothing\n%s", sums, res.stdout)
	}
}
