//go:build !linux && !(darwin && !cgo)

package serialio

import (
	"strings"

	"go.bug.st/serial/enumerator"
)

func listPorts() ([]PortInfo, error) {
	details, err := enumerator.GetDetailedPortsList()
	if err != nil {
		return nil, err
	}
	var ports []PortInfo
	for _, d := range details {
		if !d.IsUSB {
			continue
		}
		ports = append(ports, PortInfo{
			Path: d.Name, VID: strings.ToLower(d.VID), PID: strings.ToLower(d.PID),
			SerialNumber: d.SerialNumber, Product: d.Product, Interface: -1,
		})
	}
	return ports, nil
}
