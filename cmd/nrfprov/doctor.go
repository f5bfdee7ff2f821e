package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/nrfprov/nrfprov/internal/doctor"
	"github.com/nrfprov/nrfprov/plugin"
	"github.com/nrfprov/nrfprov/rtt/jlink"
	"github.com/nrfprov/nrfprov/serialio"
)

type doctorResult struct{ doctor.Report }

func (r doctorResult) text(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range r.Checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", strings.ToUpper(string(c.Status)), c.Area, c.Name, c.Detail)
		if c.Fix != "" && c.Status != doctor.OK {
			fmt.Fprintf(tw, "\t\t\t→ %s\n", c.Fix)
		}
	}
	tw.Flush()
	if n := len(r.Blocking()); n > 0 {
		fmt.Fprintf(w, "%d problem(s) block provisioning: see FAIL above\n", n)
	} else {
		fmt.Fprintln(w, "nothing blocks provisioning")
	}
}

func (a *app) newDoctorCmd() *cobra.Command {
	var rttAddr string
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the environment: runners, ports and permissions, boards, J-Link, transports",
		Long: `Check everything nrfprov depends on and say what to do about each problem: the flash
runners installed and their versions, OpenOCD's nRF91 support, the serial ports and whether
this user may open them (Linux: the dialout group, the J-Link udev rule), the boards found, a
J-Link GUI server holding the RTT port, and the transports found and whether they are pinned.

It exits non-zero when something blocks provisioning a connected board (a port this user may not
open, an unreadable transport lock file); warnings only limit one part of nrfprov.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			env := doctor.Env{
				LookPath: exec.LookPath,
				Ports:    serialio.ListPorts,
				OS:       runtime.GOOS,
				JLinkRTT: rttAddr,
			}
			env.Transports, env.TransportErr = a.discover()
			if lf, err := plugin.ReadLockFile(a.lockPath); err != nil {
				env.PinsErr = err
			} else if env.Pins, err = plugin.Pins(lf, a.checksums); err != nil {
				env.PinsErr = err
			}
			if dirs := os.Getenv("NRFPROV_UDEV_DIRS"); dirs != "" {
				env.UdevDirs = strings.Split(dirs, string(os.PathListSeparator))
			}
			rep := doctor.Run(cmd.Context(), env)
			if err := a.print("doctor", doctorResult{rep}); err != nil {
				return err
			}
			if b := rep.Blocking(); len(b) > 0 {
				return fmt.Errorf("%w: %d problem(s), marked FAIL in the report", doctor.ErrBlocked, len(b))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&rttAddr, "jlink-rtt", fmt.Sprintf("localhost:%d", jlink.DefaultPort), "the J-Link RTT telnet address to check for a stale GUI server (empty: skip)")
	return cmd
}
