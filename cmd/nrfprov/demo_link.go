package main

import (
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"time"

	"github.com/nrfprov/nrfprov/internal/sim"
	"github.com/nrfprov/nrfprov/serialio"
)

// The demo's virtual board is on a pseudo-terminal where the OS has them for it (Linux: the
// board's VCOM0, opened with the serial transport like a real DK). Elsewhere, or with the
// hidden --socket flag, its UART listens on a loopback TCP port and nrfprov reaches it through
// the tcp transport's plugin process (built into nrfprov, so a lone nrfprov binary runs the
// demo on every OS), as it would a board behind a serial-to-network bridge.
// That board holds what it sends while no peer is connected (sim.BoardConfig.ListenHold), as a
// pseudo-terminal does: a recovery closes the link, resets the board and opens the link again
// through a new transport process, which then still reads the "Ready" sent before it connected.

// demoUsesSocket reports whether the demo board gets a socket rather than a pseudo-terminal.
func demoUsesSocket(forced bool) bool { return forced || runtime.GOOS != "linux" }

// demoListen is the board's Listen setting: empty for a pseudo-terminal.
func demoListen(socket bool) string {
	if socket {
		return "tcp:127.0.0.1:0"
	}
	return ""
}

// demoLink is the transport and port that reach the board, and how to name them.
func demoLink(b *sim.Board) (transport, port string) {
	if s := b.SerialSocket(); s != "" {
		return "tcp", strings.TrimPrefix(s, "tcp:")
	}
	return "serial", b.VCOM0()
}

// openDemoLink opens the board's UART directly (for the broken earlier tool the demo replays).
func openDemoLink(b *sim.Board) (io.ReadWriteCloser, error) {
	if transport, port := demoLink(b); transport == "tcp" {
		c, err := net.DialTimeout("tcp", port, 10*time.Second)
		if err != nil {
			return nil, fmt.Errorf("demo: connect to the virtual board's UART at %s: %w", port, err)
		}
		return c, nil
	}
	return serialio.Open(b.VCOM0(), serialio.Config{})
}
