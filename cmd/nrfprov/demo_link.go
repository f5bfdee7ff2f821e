package main

import (
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"time"

	"github.com/nrfprov/nrfprov/internal/sim"
	"github.com/nrfprov/nrfprov/plugin"
	"github.com/nrfprov/nrfprov/serialio"
)

// The demo's virtual board is on a pseudo-terminal where the OS has them for it (Linux: the
// board's VCOM0, opened with the serial transport like a real DK). Elsewhere, or with the
// hidden --socket flag, its UART listens on a loopback TCP port and nrfprov reaches it through
// the tcp transport's plugin process, as it would a board behind a serial-to-network bridge.

// demoUsesSocket reports whether the demo board gets a socket rather than a pseudo-terminal.
func demoUsesSocket(forced bool) bool { return forced || runtime.GOOS != "linux" }

// demoListen is the board's Listen setting: empty for a pseudo-terminal.
func demoListen(socket bool) string {
	if socket {
		return "tcp:127.0.0.1:0"
	}
	return ""
}

// demoReadyDelay is how long the board's modem takes to come up after a reset. On a socket,
// what the board sends while no peer is connected is lost, as on an unconnected UART; a
// recovery closes the link, resets the board and opens the link again through a new transport
// process, which must be connected before "Ready" goes out. Three seconds leaves room for a
// slow process start (under Wine it takes about 0.6 s) and is still what a real nRF91 takes
// to bring its modem up. On a pseudo-terminal the default stays: the PTY keeps the banner.
func demoReadyDelay(socket bool) time.Duration {
	if socket {
		return 3 * time.Second
	}
	return 0
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

// pinDemoTransport lets the demo run the tcp transport that ships beside nrfprov when the user
// has pinned none: the demo trusts it as much as the nrfprov binary itself (release archives
// carry both). A tcp transport found anywhere else still needs `nrfprov transports lock`.
func (a *app) pinDemoTransport() error {
	lf, err := plugin.ReadLockFile(a.lockPath)
	if err != nil {
		return err
	}
	if _, ok := lf.Transports["tcp"]; ok {
		return nil
	}
	for _, c := range a.checksums {
		if name, _, _ := strings.Cut(c, "="); name == "tcp" {
			return nil
		}
	}
	found, err := a.discover()
	if err != nil {
		return err
	}
	f, err := plugin.Lookup(found, "tcp")
	if err != nil {
		return fmt.Errorf("demo: the virtual board is reached through the tcp transport: %w (it ships beside nrfprov in the release archives; `go install github.com/nrfprov/nrfprov/cmd/nrfprov-transport-tcp@latest` puts it beside a go-installed nrfprov; with `go run`, build both into one folder instead)", err)
	}
	if f.Source != plugin.SourceBeside {
		return nil // Verify will say it is not pinned, with the hint to lock it
	}
	sum, err := plugin.FileSHA256(f.Path)
	if err != nil {
		return err
	}
	a.checksums = append(a.checksums, "tcp="+hex.EncodeToString(sum))
	return nil
}
