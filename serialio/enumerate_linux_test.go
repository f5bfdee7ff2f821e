package serialio

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeSysfs builds the part of /sys that listSysfsPorts reads, the way the
// kernel lays it out for cdc_acm (ttyACM) and usb-serial (ttyUSB) ports.
type fakeSysfs struct {
	t    *testing.T
	root string
}

func newFakeSysfs(t *testing.T) *fakeSysfs {
	f := &fakeSysfs{t: t, root: t.TempDir()}
	f.mkdir("class/tty")
	f.mkdir("bus/usb")
	f.mkdir("bus/usb-serial")
	f.mkdir("class/tty-subsystem")
	return f
}

func (f *fakeSysfs) mkdir(rel string) string {
	p := filepath.Join(f.root, rel)
	if err := os.MkdirAll(p, 0o755); err != nil {
		f.t.Fatal(err)
	}
	return p
}

func (f *fakeSysfs) write(dir, name, value string) {
	if err := os.WriteFile(filepath.Join(dir, name), []byte(value+"\n"), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fakeSysfs) link(target, name string) {
	if err := os.Symlink(target, name); err != nil {
		f.t.Fatal(err)
	}
}

// usbDevice creates /sys/devices/.../<bus> with its identity attributes.
func (f *fakeSysfs) usbDevice(bus, vid, pid, serial string) string {
	d := f.mkdir("devices/pci0000:00/usb1/" + bus)
	f.write(d, "idVendor", vid)
	f.write(d, "idProduct", pid)
	if serial != "" {
		f.write(d, "serial", serial)
	}
	f.write(d, "product", "J-Link")
	return d
}

// acm adds a cdc_acm tty on interface n of dev.
func (f *fakeSysfs) acm(dev, tty string, n int) {
	iface := filepath.Join(dev, filepath.Base(dev)+":1."+string(rune('0'+n)))
	f.mkdir(iface[len(f.root)+1:])
	f.write(iface, "bInterfaceNumber", "0"+string(rune('0'+n)))
	f.link(filepath.Join(f.root, "bus/usb"), filepath.Join(iface, "subsystem"))
	ttyDir := f.mkdir("class/tty/" + tty)
	f.link(iface, filepath.Join(ttyDir, "device"))
}

// usbSerial adds a usb-serial converter tty (FTDI, CP210x) on interface 0.
func (f *fakeSysfs) usbSerial(dev, tty string) {
	iface := filepath.Join(dev, filepath.Base(dev)+":1.0")
	port := filepath.Join(iface, tty)
	f.mkdir(port[len(f.root)+1:])
	f.write(iface, "bInterfaceNumber", "00")
	f.link(filepath.Join(f.root, "bus/usb-serial"), filepath.Join(port, "subsystem"))
	ttyDir := f.mkdir("class/tty/" + tty)
	f.link(port, filepath.Join(ttyDir, "device"))
}

// virtual adds a tty with no device (a console or PTY) and a platform UART.
func (f *fakeSysfs) virtualAndPlatform() {
	f.mkdir("class/tty/tty0")
	plat := f.mkdir("devices/platform/serial8250")
	f.link(filepath.Join(f.root, "class/tty-subsystem"), filepath.Join(plat, "subsystem"))
	ttyDir := f.mkdir("class/tty/ttyS0")
	f.link(plat, filepath.Join(ttyDir, "device"))
}

func TestListSysfsPortsAndPick(t *testing.T) {
	f := newFakeSysfs(t)
	f.virtualAndPlatform()
	// An nRF9160 DK: three VCOMs; the kernel numbered them out of order.
	dk := f.usbDevice("1-1", "1366", "1055", "000960000001")
	f.acm(dk, "ttyACM2", 0)
	f.acm(dk, "ttyACM0", 2)
	f.acm(dk, "ttyACM1", 4)
	// An nRF9161 DK with two VCOMs.
	dk2 := f.usbDevice("1-2", "1366", "1059", "001050000002")
	f.acm(dk2, "ttyACM3", 0)
	f.acm(dk2, "ttyACM4", 2)
	// A USB-UART (CP2102) wired to a custom board.
	uart := f.usbDevice("1-3", "10c4", "ea60", "A10K1234")
	f.usbSerial(uart, "ttyUSB0")

	ports, err := listSysfsPorts(f.root, "/dev")
	if err != nil {
		t.Fatal(err)
	}
	if len(ports) != 6 {
		t.Fatalf("listed %d ports, want 6 USB ports: %+v", len(ports), ports)
	}
	boards := Boards(ports)
	if len(boards) != 3 {
		t.Fatalf("grouped into %d boards, want 3: %+v", len(boards), boards)
	}

	// Two DKs are attached, so the zero selector must refuse to guess.
	_, err = Pick(boards, Selector{})
	var amb *AmbiguousError
	if !errors.As(err, &amb) || len(amb.Candidates) != 2 {
		t.Fatalf("Pick(any DK) = %v, want an AmbiguousError with 2 candidates", err)
	}
	for _, want := range []string{"000960000001", "001050000002", "/dev/ttyACM2", "/dev/ttyACM3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ambiguity error does not list %q:\n%s", want, err)
		}
	}

	b, err := Pick(boards, Selector{SerialNumber: "960000001"})
	if err != nil {
		t.Fatalf("Pick by J-Link SN: %v", err)
	}
	if b.Model != "nRF9160 DK" || b.VCOM0() != "/dev/ttyACM2" || len(b.Ports) != 3 {
		t.Fatalf("picked %+v; want the nRF9160 DK with VCOM0 = /dev/ttyACM2 (interface 0)", b)
	}

	// The USB-UART is not a known kit: only an explicit VID/PID finds it,
	// compared without regard to case (macOS reports upper case).
	if _, err := Pick(boards, Selector{SerialNumber: "A10K1234"}); !errors.Is(err, ErrNoBoard) {
		t.Fatalf("Pick(USB-UART SN without VID) = %v, want ErrNoBoard", err)
	}
	b, err = Pick(boards, Selector{VID: "10C4", PID: "EA60"})
	if err != nil || b.VCOM0() != "/dev/ttyUSB0" || b.SerialNumber != "A10K1234" {
		t.Fatalf("Pick(10C4:EA60) = %+v, %v", b, err)
	}
}
