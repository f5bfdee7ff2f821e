package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/nrfprov/nrfprov/plugin"
)

// transportsSchema versions the JSON of `nrfprov transports --json`.
const transportsSchema = 1

// transportRow is one line of `nrfprov transports`.
type transportRow struct {
	Name         string              `json:"name"`
	Source       plugin.Source       `json:"source"`
	Path         string              `json:"path"`
	Status       string              `json:"status"` // builtin | locked | not-locked | checksum-mismatch | error
	Version      string              `json:"version,omitempty"`
	Protocol     int                 `json:"protocol,omitempty"`
	Capabilities []plugin.Capability `json:"capabilities"`
	Description  string              `json:"description,omitempty"`
	Shadowed     []string            `json:"shadowed,omitempty"`
	Error        string              `json:"error,omitempty"`
}

func newTransportsCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "transports",
		Short: "List the transport plugins found, with version and capabilities",
		Long: `List the transport plugins: the built-ins, then executables named
nrfprov-transport-<name> next to nrfprov, in $NRFPROV_PLUGIN_DIR, then on PATH.
Built-ins and pinned external transports are started to ask their version and
capabilities; an external transport without a pinned checksum is not run.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rows, err := a.listTransports(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					Schema     int            `json:"schema"`
					Transports []transportRow `json:"transports"`
				}{transportsSchema, rows})
			}
			return renderTransports(a, rows)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (versioned by its \"schema\" field)")
	cmd.AddCommand(newTransportsLockCmd(a))
	return cmd
}

func (a *app) listTransports(ctx context.Context) ([]transportRow, error) {
	host, found, err := a.host()
	if err != nil {
		return nil, err
	}
	defer host.Close()
	rows := make([]transportRow, len(found))
	for i, f := range found {
		row := transportRow{Name: f.Name, Source: f.Source, Path: f.Path, Shadowed: f.Shadowed,
			Capabilities: []plugin.Capability{}}
		c, err := host.Start(ctx, f.Name)
		switch {
		case err == nil:
			row.Status = "locked"
			if f.Builtin() {
				row.Status = "builtin"
			}
			info := c.Info()
			row.Version, row.Protocol, row.Description = info.Version, c.NegotiatedVersion(), info.Description
			row.Capabilities = append(row.Capabilities, info.Capabilities...)
			c.Kill()
		case errors.Is(err, plugin.ErrNotLocked):
			row.Status = "not-locked"
		case errors.Is(err, plugin.ErrChecksumMismatch):
			row.Status, row.Error = "checksum-mismatch", err.Error()
		case ctx.Err() != nil:
			return nil, ctx.Err()
		default:
			row.Status, row.Error = "error", err.Error()
		}
		rows[i] = row
	}
	return rows, nil
}

func renderTransports(a *app, rows []transportRow) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tSTATUS\tCAPABILITIES\tPATH")
	for _, r := range rows {
		caps := make([]string, len(r.Capabilities))
		for i, c := range r.Capabilities {
			caps[i] = string(c)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, dash(r.Version), r.Status, dash(strings.Join(caps, ",")), r.Path)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rows {
		for _, s := range r.Shadowed {
			fmt.Fprintf(a.stdout, "note: %s is shadowed by %s and ignored\n", s, r.Path)
		}
		if r.Error != "" {
			fmt.Fprintf(a.stdout, "%s: %s\n", r.Name, r.Error)
		}
		if r.Status == "not-locked" {
			fmt.Fprintf(a.stdout, "%s: not pinned, so not run: `nrfprov transports lock` pins it\n", r.Name)
		}
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newTransportsLockCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "lock",
		Short: "Pin the SHA-256 of every external transport found now",
		Long: `Write the lock file (--plugin-lock) with the SHA-256 of every external
transport found now. nrfprov then runs an external transport only while its
executable still has that hash. Built-in transports are part of nrfprov itself
and are not pinned.`,
		Args: noArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			found, err := a.discover()
			if err != nil {
				return err
			}
			lf, err := plugin.Lock(found)
			if err != nil {
				return err
			}
			if err := plugin.WriteLockFile(a.lockPath, lf); err != nil {
				return err
			}
			for _, f := range found {
				if e, ok := lf.Transports[f.Name]; ok {
					fmt.Fprintf(a.stdout, "pinned %s sha256:%s %s\n", f.Name, e.SHA256, e.Path)
				}
			}
			fmt.Fprintf(a.stdout, "wrote %s (%d external transports)\n", a.lockPath, len(lf.Transports))
			return nil
		},
	}
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("%s takes no arguments, got %q", cmd.CommandPath(), args)}
	}
	return nil
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Errorf("%s takes %d arguments, got %d (usage: %s)", cmd.CommandPath(), n, len(args), cmd.UseLine())}
		}
		return nil
	}
}

func rangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < lo || len(args) > hi {
			return usageError{fmt.Errorf("%s takes %d to %d arguments, got %d (usage: %s)", cmd.CommandPath(), lo, hi, len(args), cmd.UseLine())}
		}
		return nil
	}
}
