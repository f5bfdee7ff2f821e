package serialio

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// listPorts reads /sys and /dev, or the trees NRFPROV_SYSFS_ROOT and NRFPROV_DEV_ROOT name
// (a sysfs copy in a container, or the tree nrfsim publishes for its virtual boards).
func listPorts() ([]PortInfo, error) {
	return listSysfsPorts(envOr("NRFPROV_SYSFS_ROOT", "/sys"), envOr("NRFPROV_DEV_ROOT", "/dev"))
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// listSysfsPorts walks <sys>/class/tty and keeps the ttys whose device is a
// USB interface (cdc_acm: ttyACM*) or a USB serial converter (ttyUSB*). It
// reads attributes only: unlike go.bug.st/serial's lister it never opens a
// port, which would reset that port's termios.
func listSysfsPorts(sys, dev string) ([]PortInfo, error) {
	entries, err := os.ReadDir(filepath.Join(sys, "class", "tty"))
	if err != nil {
		return nil, err
	}
	var ports []PortInfo
	for _, e := range entries {
		p, ok := sysfsPort(filepath.Join(sys, "class", "tty", e.Name()))
		if !ok {
			continue
		}
		p.Path = filepath.Join(dev, e.Name())
		ports = append(ports, p)
	}
	return ports, nil
}

func sysfsPort(ttyDir string) (PortInfo, bool) {
	device, err := filepath.EvalSymlinks(filepath.Join(ttyDir, "device"))
	if err != nil {
		return PortInfo{}, false // virtual tty (console, pty, ...)
	}
	subsystem, err := filepath.EvalSymlinks(filepath.Join(device, "subsystem"))
	if err != nil {
		return PortInfo{}, false
	}
	var iface string
	switch filepath.Base(subsystem) {
	case "usb": // device is the USB interface
		iface = device
	case "usb-serial": // device is the converter port below the interface
		iface = filepath.Dir(device)
	default:
		return PortInfo{}, false
	}
	usbDev := filepath.Dir(iface)
	vid, err1 := readAttr(usbDev, "idVendor")
	pid, err2 := readAttr(usbDev, "idProduct")
	if err1 != nil || err2 != nil {
		return PortInfo{}, false
	}
	p := PortInfo{VID: strings.ToLower(vid), PID: strings.ToLower(pid), Interface: -1}
	p.SerialNumber, _ = readAttr(usbDev, "serial")
	p.Product, _ = readAttr(usbDev, "product")
	if n, err := readAttr(iface, "bInterfaceNumber"); err == nil {
		if v, err := strconv.ParseInt(n, 16, 32); err == nil {
			p.Interface = int(v)
		}
	}
	return p, true
}

func readAttr(dir, name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}
