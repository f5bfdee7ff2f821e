package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/nrfprov/nrfprov/plugin"
)

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the nrfprov version and the transport protocol it speaks",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(a.stdout, "nrfprov %s (commit %s, transport protocol %d, %s %s/%s)\n",
				nrfprovVersion(), nrfprovCommit(), plugin.ProtocolVersion, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}
