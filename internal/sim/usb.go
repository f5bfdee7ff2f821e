package sim

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The board's USB identity, published the way the Linux kernel shows a J-Link OB's CDC ACM
// port in sysfs, under RunDir/sys and RunDir/dev:
//
//	sys/class/tty/<tty>/device -> sys/devices/nrfsim/<serial>/<serial>:1.0    (the USB interface)
//	sys/devices/nrfsim/<serial>/{idVendor,idProduct,serial,product}            (the USB device)
//	sys/devices/nrfsim/<serial>/<serial>:1.0/{bInterfaceNumber,subsystem->sys/bus/usb}
//	dev/<tty> -> the board's VCOM0 link
//
// A host tool pointed at RunDir/sys and RunDir/dev instead of /sys and /dev (nrfprov:
// NRFPROV_SYSFS_ROOT and NRFPROV_DEV_ROOT) enumerates virtual boards with the same code that
// enumerates real ones: by VID:PID and J-Link serial number, VCOM0 first.

// usbIDs are the J-Link OB IDs of the development kits (modem-cmng-athost.md §5.1).
func usbIDs(p Profile) (vid, pid, product string) {
	if strings.Contains(p.Model, "9160") {
		return "1366", "1055", "J-Link"
	}
	return "1366", "1059", "J-Link"
}

func usbTTY(serial string) string { return "ttyNRFSIM" + serial }

// publishUSB makes the board visible in the run directory's sysfs and dev trees.
func publishUSB(runDir, serial string, p Profile, vcomLink string) error {
	sys := filepath.Join(runDir, "sys")
	devDir := filepath.Join(sys, "devices", "nrfsim", serial)
	iface := filepath.Join(devDir, serial+":1.0")
	bus := filepath.Join(sys, "bus", "usb")
	for _, d := range []string{iface, bus, filepath.Join(sys, "class", "tty"), filepath.Join(runDir, "dev")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("sim: usb identity: %w", err)
		}
	}
	vid, pid, product := usbIDs(p)
	files := map[string]string{
		filepath.Join(devDir, "idVendor"):        vid,
		filepath.Join(devDir, "idProduct"):       pid,
		filepath.Join(devDir, "serial"):          serial,
		filepath.Join(devDir, "product"):         product,
		filepath.Join(iface, "bInterfaceNumber"): "00",
	}
	for f, v := range files {
		if err := os.WriteFile(f, []byte(v+"\n"), 0o644); err != nil {
			return fmt.Errorf("sim: usb identity: %w", err)
		}
	}
	links := map[string]string{
		filepath.Join(iface, "subsystem"):                            bus,
		filepath.Join(sys, "class", "tty", usbTTY(serial), "device"): iface,
		filepath.Join(runDir, "dev", usbTTY(serial)):                 vcomLink,
	}
	for link, target := range links {
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			return fmt.Errorf("sim: usb identity: %w", err)
		}
		rel, err := relativeTarget(link, target)
		if err != nil {
			return fmt.Errorf("sim: usb identity: %w", err)
		}
		os.Remove(link)
		if err := os.Symlink(rel, link); err != nil {
			return fmt.Errorf("sim: usb identity: %w", err)
		}
	}
	return nil
}

// relativeTarget is target as a symlink at link must name it: relative to the link's own
// directory (as sysfs links are), whatever the working directory the paths are relative to,
// so a relative run directory publishes links that resolve, and the tree can be moved whole.
func relativeTarget(link, target string) (string, error) {
	absLink, err := filepath.Abs(link)
	if err != nil {
		return "", err
	}
	absTarget, err := filepath.Abs(target)
	if err != nil {
		return "", err
	}
	return filepath.Rel(filepath.Dir(absLink), absTarget)
}

// unpublishUSB removes the tty and the USB device as the kernel does when the device goes away.
func unpublishUSB(runDir, serial string) {
	os.RemoveAll(filepath.Join(runDir, "sys", "class", "tty", usbTTY(serial)))
	os.RemoveAll(filepath.Join(runDir, "sys", "devices", "nrfsim", serial))
	os.Remove(filepath.Join(runDir, "dev", usbTTY(serial)))
}

// RemoveUSBTrees removes RunDir/sys and RunDir/dev once no board publishes anything there: it
// removes their empty directories, deepest first, and leaves any directory that still holds a
// board's entry (another process's board in the same run directory). nrfsim calls it on exit,
// after closing its boards, so the next start finds no stale tree.
func RemoveUSBTrees(runDir string) error {
	var dirs []string
	for _, top := range []string{filepath.Join(runDir, "sys"), filepath.Join(runDir, "dev")} {
		err := filepath.WalkDir(top, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) {
					return nil
				}
				return err
			}
			if d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("sim: remove usb trees: %w", err)
		}
	}
	// WalkDir lists parents before their children: remove in reverse.
	for i := len(dirs) - 1; i >= 0; i-- {
		if entries, err := os.ReadDir(dirs[i]); err != nil || len(entries) > 0 {
			continue
		}
		if err := os.Remove(dirs[i]); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("sim: remove usb trees: %w", err)
		}
	}
	return nil
}
