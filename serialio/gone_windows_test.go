package serialio

import (
	"errors"
	"testing"

	"golang.org/x/sys/windows"
)

// goneErrnos are what ReadFile and WriteFile report on an open COM port whose USB device
// was unplugged.
var goneErrnos = []error{windows.ERROR_ACCESS_DENIED, windows.ERROR_BAD_COMMAND, windows.ERROR_GEN_FAILURE,
	windows.ERROR_DEVICE_NOT_CONNECTED, &fakeWrapped{windows.ERROR_DEVICE_REMOVED}}

type fakeWrapped struct{ err error }

func (e *fakeWrapped) Error() string { return "read COM7: " + e.err.Error() }
func (e *fakeWrapped) Unwrap() error { return e.err }

// Opening a COM port that does not exist fails with ErrNotFound, by every spelling Windows
// accepts, before any byte is sent.
func TestOpenMissingCOMPort(t *testing.T) {
	for _, name := range []string{"COM250", `\\.\COM251`, "com252"} {
		p, err := Open(name, Config{})
		if err == nil {
			p.Close()
			t.Fatalf("Open(%q) succeeded", name)
		}
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("Open(%q) = %v, want ErrNotFound", name, err)
		}
	}
}

// A non-COM path is not a serial port on Windows.
func TestOpenNotACOMPort(t *testing.T) {
	if _, err := Open("/dev/ttyACM0", Config{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open(/dev/ttyACM0) = %v, want ErrNotFound", err)
	}
}

// Enumeration goes through SetupAPI (go.bug.st/serial) and must not fail on a machine with
// no COM ports at all.
func TestListPortsWindows(t *testing.T) {
	ports, err := ListPorts()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ports {
		if p.Path == "" || p.Interface != -1 {
			t.Errorf("port %+v: want a COM name and no interface number", p)
		}
	}
}
