//go:build darwin && !cgo

package serialio

import "os"

// listPorts without cgo has no IOKit (go.bug.st/serial's enumerator needs it): it reads the
// device names in /dev and takes J-Link serial numbers from them (macPorts).
func listPorts() ([]PortInfo, error) {
	const dev = "/dev"
	entries, err := os.ReadDir(dev)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return macPorts(dev, names), nil
}
