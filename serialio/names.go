package serialio

import (
	"cmp"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// comparePaths orders port paths with their trailing numbers compared as numbers, so COM9
// comes before COM10 (Windows reports no USB interface numbers, and COM numbers are handed
// out in the order the interfaces enumerate) and /dev/ttyACM2 before /dev/ttyACM10.
func comparePaths(a, b string) int {
	pa, na, oka := splitTrailingNumber(a)
	pb, nb, okb := splitTrailingNumber(b)
	if oka && okb && strings.EqualFold(pa, pb) {
		return cmp.Compare(na, nb)
	}
	return cmp.Compare(a, b)
}

func splitTrailingNumber(s string) (string, uint64, bool) {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	if i == len(s) {
		return s, 0, false
	}
	n, err := strconv.ParseUint(s[i:], 10, 64)
	if err != nil {
		return s, 0, false
	}
	return s[:i], n, true
}

// macJLinkName matches the name macOS gives a CDC ACM port whose USB device has a serial
// number: "usbmodem", the serial number string, then a digit or two. A J-Link's serial number
// string is its serial number zero-padded to 12 digits, so a J-Link OB's VCOM ports are
// /dev/cu.usbmodem000960012345N; the suffix grows with the interface number (VCOM0 lowest).
var macJLinkName = regexp.MustCompile(`^cu\.usbmodem(\d{12})(\d{1,2})$`)

// SEGGER's USB vendor ID: every J-Link enumerates with it.
const seggerVID = "1366"

// macJLinkModel is the model of a board found by name only: without cgo there is no IOKit, so
// no product ID, and it cannot be told which development kit the J-Link sits on.
const macJLinkModel = "J-Link (from the device name)"

// macPorts turns the names in macOS's /dev (dir) into ports: the call-out devices (cu.*; the
// tty.* twins wait for carrier detect) of USB serial adapters. Ports named after a J-Link's
// serial number carry it and SEGGER's vendor ID, so --board SN and the zero Selector find them;
// the product ID stays empty. Other cu.usb* ports are listed with no USB identity.
func macPorts(dir string, names []string) []PortInfo {
	var ports []PortInfo
	for _, n := range names {
		if !strings.HasPrefix(n, "cu.usbmodem") && !strings.HasPrefix(n, "cu.usbserial") {
			continue
		}
		p := PortInfo{Path: path.Join(dir, n), Interface: -1}
		if m := macJLinkName.FindStringSubmatch(n); m != nil {
			suffix, _ := strconv.Atoi(m[2])
			p.VID, p.SerialNumber, p.Interface, p.Product = seggerVID, m[1], suffix, macJLinkModel
		}
		ports = append(ports, p)
	}
	return ports
}
