package rtttransport

import (
	"errors"
	"testing"

	"github.com/nrfprov/nrfprov/plugin"
	"github.com/nrfprov/nrfprov/rtt/gdb"
)

// TestHaltOption: halt= names the three modes (true keeps meaning the monitor commands);
// anything else is refused as invalid before a connection is made.
func TestHaltOption(t *testing.T) {
	for v, want := range map[string]gdb.HaltMode{
		"none": gdb.HaltNone, "false": gdb.HaltNone,
		"monitor": gdb.HaltMonitor, "true": gdb.HaltMonitor,
		"interrupt": gdb.HaltInterrupt, "Interrupt": gdb.HaltInterrupt,
	} {
		o, err := parseOptions(map[string]string{"halt": v})
		if err != nil || o.halt != want {
			t.Errorf("halt=%s: %v %v, want %v", v, o.halt, err, want)
		}
	}
	if o, err := parseOptions(nil); err != nil || o.halt != gdb.HaltNone {
		t.Errorf("default: %v %v", o.halt, err)
	}
	for _, bad := range []string{"yes", "0x03", ""} {
		if _, err := parseOptions(map[string]string{"halt": bad}); !errors.Is(err, plugin.ErrInvalidArgument) {
			t.Errorf("halt=%q: %v, want an invalid-argument error", bad, err)
		}
	}
}

// TestResetOption: reset= names the debugger's monitor command for a reset ("reset" unless
// given; QEMU's is system_reset); an empty or multi-line command is refused before any
// connection.
func TestResetOption(t *testing.T) {
	if o, err := parseOptions(nil); err != nil || o.reset != "reset" {
		t.Errorf("default: %q %v", o.reset, err)
	}
	if o, err := parseOptions(map[string]string{"reset": "system_reset"}); err != nil || o.reset != "system_reset" {
		t.Errorf("reset=system_reset: %q %v", o.reset, err)
	}
	for _, bad := range []string{"", "  ", "reset\nhalt"} {
		if _, err := parseOptions(map[string]string{"reset": bad}); !errors.Is(err, plugin.ErrInvalidArgument) {
			t.Errorf("reset=%q: %v, want an invalid-argument error", bad, err)
		}
	}
	if err := checkOptions(backendOpenOCD, map[string]string{"reset": "system_reset"}); !errors.Is(err, plugin.ErrInvalidArgument) {
		t.Errorf("reset= on the openocd backend: %v, want refused", err)
	}
}
