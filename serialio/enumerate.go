package serialio

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// PortInfo describes one USB serial port.
type PortInfo struct {
	// Path opens the port, e.g. /dev/ttyACM0.
	Path string
	// VID and PID are the USB vendor and product IDs in lower-case hex.
	VID, PID string
	// SerialNumber is the USB serial number string (for a J-Link, its serial
	// number zero-padded to 12 digits, e.g. "000960012345").
	SerialNumber string
	// Interface is the USB interface number, or -1 when the platform does not
	// say. A J-Link OB exposes one CDC interface per VCOM; the lowest is VCOM0.
	Interface int
	// Product is the USB product string, when the platform gives it.
	Product string
}

// Board is one USB device and its serial ports, VCOM0 first.
type Board struct {
	SerialNumber string
	VID, PID     string
	// Model names the board for known J-Link IDs ("nRF9160 DK"), else "".
	Model string
	Ports []PortInfo
}

// VCOM0 is the board's first port: on an nRF91 DK, the nRF91's UART0.
func (b Board) VCOM0() string {
	if len(b.Ports) == 0 {
		return ""
	}
	return b.Ports[0].Path
}

func (b Board) String() string {
	model := b.Model
	if model == "" {
		model = "USB " + b.VID + ":" + b.PID
	}
	return fmt.Sprintf("%s SN %s at %s", model, b.SerialNumber, b.VCOM0())
}

// knownModels are the J-Link OB IDs of nRF91 development kits.
var knownModels = map[string]string{
	"1366:1055": "nRF9160 DK",
	"1366:1059": "nRF9161/nRF9151 DK",
}

// modelOf names a port's board: a known nRF91 DK by its USB IDs, or a J-Link known by its
// macOS device name only (no product ID to tell the kit).
func modelOf(p PortInfo) string {
	if m, ok := knownModels[strings.ToLower(p.VID)+":"+strings.ToLower(p.PID)]; ok {
		return m
	}
	if p.PID == "" && p.Product == macJLinkModel {
		return macJLinkModel
	}
	return ""
}

// ListPorts lists the USB serial ports of this machine. On Linux it reads
// sysfs (it does not open any port); on Windows, and on macOS built with cgo,
// it asks go.bug.st/serial; on macOS built without cgo (the release
// binaries) it lists /dev/cu.* and reads J-Link serial numbers from the
// device names (see macPorts).
func ListPorts() ([]PortInfo, error) {
	ports, err := listPorts()
	if err != nil {
		return nil, fmt.Errorf("serialio: list ports: %w", err)
	}
	return ports, nil
}

// Boards groups ports by USB device (VID, PID, serial number). Boards are
// sorted by serial number, their ports by interface number then path.
func Boards(ports []PortInfo) []Board {
	type key struct{ vid, pid, sn string }
	idx := map[key]int{}
	var boards []Board
	for _, p := range ports {
		if p.VID == "" {
			continue
		}
		k := key{strings.ToLower(p.VID), strings.ToLower(p.PID), p.SerialNumber}
		i, ok := idx[k]
		if !ok {
			i = len(boards)
			idx[k] = i
			boards = append(boards, Board{SerialNumber: p.SerialNumber, VID: k.vid, PID: k.pid,
				Model: modelOf(p)})
		}
		boards[i].Ports = append(boards[i].Ports, p)
	}
	for i := range boards {
		slices.SortFunc(boards[i].Ports, func(a, b PortInfo) int {
			return cmp.Or(cmp.Compare(a.Interface, b.Interface), comparePaths(a.Path, b.Path))
		})
	}
	slices.SortFunc(boards, func(a, b Board) int {
		return cmp.Or(cmp.Compare(a.SerialNumber, b.SerialNumber), comparePaths(a.VCOM0(), b.VCOM0()))
	})
	return boards
}

// Selector says which board to use. The zero Selector matches any known
// nRF91 development kit.
type Selector struct {
	// SerialNumber matches the USB serial number; leading zeros are ignored,
	// so the J-Link serial number as nrfjprog prints it ("960012345") works.
	SerialNumber string
	// VID and PID (hex, any case) widen the search beyond the known kits,
	// e.g. to a custom board behind a J-Link ("1366") or a USB-UART.
	VID, PID string
}

func (s Selector) String() string {
	var parts []string
	if s.SerialNumber != "" {
		parts = append(parts, "serial number "+s.SerialNumber)
	}
	if s.VID != "" || s.PID != "" {
		parts = append(parts, "USB "+cmp.Or(s.VID, "*")+":"+cmp.Or(s.PID, "*"))
	}
	if len(parts) == 0 {
		return "any nRF91 DK"
	}
	return strings.Join(parts, ", ")
}

func (s Selector) matches(b Board) bool {
	if s.VID == "" && s.PID == "" {
		if b.Model == "" {
			return false
		}
	} else {
		if s.VID != "" && !strings.EqualFold(s.VID, b.VID) {
			return false
		}
		if s.PID != "" && !strings.EqualFold(s.PID, b.PID) {
			return false
		}
	}
	if s.SerialNumber != "" && trimZeros(s.SerialNumber) != trimZeros(b.SerialNumber) {
		return false
	}
	return true
}

func trimZeros(sn string) string { return strings.TrimLeft(strings.TrimSpace(sn), "0") }

// AmbiguousError is returned by Pick when more than one board matches. It
// never guesses: provisioning the wrong board is the worst outcome.
type AmbiguousError struct {
	Selector   Selector
	Candidates []Board
}

func (e *AmbiguousError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "serialio: %d boards match %s:", len(e.Candidates), e.Selector)
	for _, c := range e.Candidates {
		b.WriteString("\n  " + c.String())
	}
	return b.String()
}

func (e *AmbiguousError) Is(target error) bool { return target == ErrAmbiguous }

// Pick returns the one board that matches sel, ErrNoBoard when none does and
// an *AmbiguousError (matching ErrAmbiguous) listing the candidates when
// several do.
func Pick(boards []Board, sel Selector) (Board, error) {
	var found []Board
	for _, b := range boards {
		if sel.matches(b) {
			found = append(found, b)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return Board{}, fmt.Errorf("serialio: %w for %s among %d USB serial devices", ErrNoBoard, sel, len(boards))
	default:
		return Board{}, &AmbiguousError{Selector: sel, Candidates: found}
	}
}
