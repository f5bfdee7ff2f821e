package e2e

import (
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
)

// The demo as it runs on Windows and macOS, where there is no pseudo-terminal: the board's UART
// is a loopback socket and nrfprov reaches it through the tcp transport's process. The first
// provision writes the three credentials (recovering the stuck board with a reset), the second
// writes nothing.
func TestDemoOverSocket(t *testing.T) {
	res := runNrfprovEnv(t, []string{"NRFPROV_PLUGIN_DIR=" + pluginDir}, "",
		"--plugin-checksum", "tcp="+hex.EncodeToString(sha256File(t, tcpBin)), "demo", "--socket")
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

// Without a pinned tcp transport beside it or a checksum, the socket demo refuses to run an
// unpinned plugin and says how to pin it.
func TestDemoOverSocketNeedsAPinnedTransport(t *testing.T) {
	res := runNrfprovEnv(t, []string{"NRFPROV_PLUGIN_DIR=" + pluginDir}, "", "demo", "--socket")
	if res.code != 3 || !strings.Contains(res.stderr, "transports lock") {
		t.Fatalf("unpinned: exit %d, want 3 with the lock hint\n%s", res.code, res.stderr)
	}
}
