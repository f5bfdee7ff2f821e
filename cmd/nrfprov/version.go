package main

import (
	"runtime"

	"github.com/spf13/cobra"

	"github.com/nrfprov/nrfprov/plugin"
)

func (a *app) newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the nrfprov version and the transport protocol it speaks",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			return a.print("version", versionResult{Version: nrfprovVersion(), Commit: nrfprovCommit(), Protocol: plugin.ProtocolVersion,
				Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH})
		},
	}
}
