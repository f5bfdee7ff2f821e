package serialio

import (
	"errors"
	"slices"
	"testing"
)

func TestComparePathsNumeric(t *testing.T) {
	got := []string{"COM10", "COM9", "COM3", `\\.\COM12`, "/dev/ttyACM10", "/dev/ttyACM2"}
	slices.SortFunc(got, comparePaths)
	want := []string{"/dev/ttyACM2", "/dev/ttyACM10", "COM3", "COM9", "COM10", `\\.\COM12`}
	if !slices.Equal(got, want) {
		t.Fatalf("sorted %q, want %q", got, want)
	}
}

// Windows reports no interface numbers: a DK on COM9, COM10, COM11 has VCOM0 on COM9.
func TestBoardsWindowsCOMOrder(t *testing.T) {
	ports := []PortInfo{
		{Path: "COM10", VID: "1366", PID: "1055", SerialNumber: "000960012345", Interface: -1},
		{Path: "COM11", VID: "1366", PID: "1055", SerialNumber: "000960012345", Interface: -1},
		{Path: "COM9", VID: "1366", PID: "1055", SerialNumber: "000960012345", Interface: -1},
	}
	b, err := Pick(Boards(ports), Selector{SerialNumber: "960012345"})
	if err != nil {
		t.Fatal(err)
	}
	if b.VCOM0() != "COM9" || b.Model != "nRF9160 DK" {
		t.Fatalf("board %v: VCOM0 %s, want COM9 on an nRF9160 DK", b, b.VCOM0())
	}
}

// What macOS names an nRF9160 DK's three VCOMs, an nRF52840 DK's one, a USB-UART and
// the non-USB devices around them.
func TestMacPortsFromNames(t *testing.T) {
	names := []string{
		"cu.usbmodem0009600123455", "cu.usbmodem0009600123451", "cu.usbmodem0009600123453",
		"tty.usbmodem0009600123451", "cu.usbmodem0006837436331", "cu.usbserial-1410",
		"cu.Bluetooth-Incoming-Port", "cu.usbmodem21101", "ttys003", "null",
	}
	ports := macPorts("/dev", names)
	var paths []string
	for _, p := range ports {
		paths = append(paths, p.Path)
	}
	want := []string{"/dev/cu.usbmodem0009600123455", "/dev/cu.usbmodem0009600123451", "/dev/cu.usbmodem0009600123453",
		"/dev/cu.usbmodem0006837436331", "/dev/cu.usbserial-1410", "/dev/cu.usbmodem21101"}
	if !slices.Equal(paths, want) {
		t.Fatalf("ports %q, want %q", paths, want)
	}
	boards := Boards(ports)
	if len(boards) != 2 {
		t.Fatalf("%d boards, want the two J-Links: %v", len(boards), boards)
	}
	b, err := Pick(boards, Selector{SerialNumber: "960012345"})
	if err != nil {
		t.Fatal(err)
	}
	if b.VCOM0() != "/dev/cu.usbmodem0009600123451" || len(b.Ports) != 3 || b.SerialNumber != "000960012345" {
		t.Fatalf("board %v with %d ports", b, len(b.Ports))
	}
	// The zero selector cannot tell an nRF91 DK from another J-Link by name: it refuses to guess.
	if _, err := Pick(boards, Selector{}); !errors.Is(err, ErrAmbiguous) {
		t.Fatalf("zero selector over two J-Links: %v, want ErrAmbiguous", err)
	}
	if _, err := Pick(boards, Selector{SerialNumber: "683743633", VID: "1366"}); err != nil {
		t.Fatalf("by VID and SN: %v", err)
	}
}
