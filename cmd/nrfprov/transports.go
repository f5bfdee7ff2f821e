package main

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"github.com/nrfprov/nrfprov/plugin"
)

func (a *app) newTransportsCmd() *cobra.Command {
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
			return a.print("transports", transportsResult{Transports: rows})
		},
	}
	cmd.AddCommand(a.newTransportsLockCmd())
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

func (a *app) newTransportsLockCmd() *cobra.Command {
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
			r := lockResult{LockFile: a.lockPath, Pinned: []pinnedTransport{}}
			for _, f := range found {
				if e, ok := lf.Transports[f.Name]; ok {
					r.Pinned = append(r.Pinned, pinnedTransport{Name: f.Name, SHA256: e.SHA256, Path: e.Path})
				}
			}
			return a.print("transports lock", r)
		},
	}
}
