package main

import (
	"fmt"
	"io"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/nrfprov/nrfprov/plugin"
)

type versionResult struct {
	Version           string `json:"version"`
	TransportProtocol int    `json:"transport_protocol"`
	Go                string `json:"go"`
	OS                string `json:"os"`
	Arch              string `json:"arch"`
}

func (r versionResult) text(w io.Writer) {
	fmt.Fprintf(w, "nrfprov %s (transport protocol %d, %s %s/%s)\n", r.Version, r.TransportProtocol, r.Go, r.OS, r.Arch)
}

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the nrfprov version and the transport protocol it speaks",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			return a.print("version", versionResult{nrfprovVersion(), plugin.ProtocolVersion, runtime.Version(), runtime.GOOS, runtime.GOARCH})
		},
	}
}
