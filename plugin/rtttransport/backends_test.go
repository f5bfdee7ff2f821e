package rtttransport

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nrfprov/nrfprov/plugin"
)

func TestSplitAddress(t *testing.T) {
	cases := []struct {
		addr, opt, backend, hostport string
	}{
		{"127.0.0.1:2331", "", "gdb", "127.0.0.1:2331"},
		{"gdb://localhost:3333", "", "gdb", "localhost:3333"},
		{"jlink://127.0.0.1", "", "jlink", "127.0.0.1:19021"},
		{"JLINK://10.0.0.2:19022", "", "jlink", "10.0.0.2:19022"},
		{"openocd://localhost", "", "openocd", "localhost:6666"},
		{"localhost:6666", "openocd", "openocd", "localhost:6666"},
		{"[::1]", "jlink", "jlink", "[::1]:19021"},
	}
	for _, c := range cases {
		b, hp, err := splitAddress(c.addr, c.opt)
		if err != nil || b != c.backend || hp != c.hostport {
			t.Errorf("%q backend=%q: %q %q %v, want %q %q", c.addr, c.opt, b, hp, err, c.backend, c.hostport)
		}
	}
	for _, bad := range []struct{ addr, opt string }{{"serial://x:1", ""}, {"jlink://h:1", "openocd"}, {"jlink://", ""}, {"h:1", "telnet"}} {
		if _, _, err := splitAddress(bad.addr, bad.opt); !errors.Is(err, plugin.ErrInvalidArgument) {
			t.Errorf("%q backend=%q: %v", bad.addr, bad.opt, err)
		}
	}
}

// Bad options are refused before anything is dialled (the addresses lead nowhere).
func TestOpenRefusesBeforeDialling(t *testing.T) {
	tr := New("test", nil)
	for _, c := range []struct {
		addr string
		opts map[string]string
		want string
	}{
		{"jlink://127.0.0.1:1", map[string]string{"halt": "true"}, `option "halt" does not apply to the jlink backend`},
		{"openocd://127.0.0.1:1", map[string]string{"gdb": "127.0.0.1:2331"}, `option "gdb" does not apply to the openocd backend`},
		{"127.0.0.1:1", map[string]string{"channel": "1"}, `option "channel" does not apply to the gdb backend`},
		{"jlink://127.0.0.1:1", map[string]string{"channel": "x"}, "want a channel number"},
		{"jlink://127.0.0.1:1", map[string]string{"search": "0x20000000"}, "want start:size"},
		{"openocd://127.0.0.1:1", map[string]string{"search": "0x20000000:0x10,0x20001000:0x10"}, "one search range"},
		{"jlink://127.0.0.1:1", map[string]string{"require_reset": "maybe"}, "want true or false"},
	} {
		_, err := tr.Open(context.Background(), plugin.OpenRequest{Address: c.addr, Options: c.opts})
		if !errors.Is(err, plugin.ErrInvalidArgument) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: %v, want %q", c.addr, c.opts, err, c.want)
		}
	}
	// Reset asked of a telnet backend with no GDB server beside it.
	_, err := tr.Open(context.Background(), plugin.OpenRequest{Address: "jlink://127.0.0.1:1", Options: map[string]string{"require_reset": "true"}})
	if !errors.Is(err, plugin.ErrNotSupported) || !strings.Contains(err.Error(), "gdb=host:port") {
		t.Errorf("require_reset on jlink without gdb: %v", err)
	}
}
