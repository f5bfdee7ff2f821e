package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nrfprov/nrfprov/internal/at"
	"github.com/nrfprov/nrfprov/internal/cmng"
	"github.com/nrfprov/nrfprov/internal/device"
	"github.com/nrfprov/nrfprov/internal/provision"
)

// Verbs on the credentials themselves: list, read, write, delete, deleteall.

func (a *app) newListCmd() *cobra.Command {
	return opensBoard(&cobra.Command{
		Use:   "list [TAG]",
		Short: "List the credentials in the modem with their SHA-256",
		Args:  rangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var tag *uint32
			if len(args) == 1 {
				t, err := parseTag(args[0])
				if err != nil {
					return err
				}
				tag = &t
			}
			return onBoard(a, ctx, "list", func(d *device.Device) (listResult, error) {
				list := d.Store.List
				if tag != nil {
					list = func(ctx context.Context) ([]cmng.Entry, error) { return d.Store.ListTag(ctx, *tag) }
				}
				entries, err := list(ctx)
				return listResult{Credentials: nonNil(entries)}, err
			})
		},
	})
}

func (a *app) newReadCmd() *cobra.Command {
	return opensBoard(&cobra.Command{
		Use:   "read TAG TYPE",
		Short: "Print a readable credential (root CA certificate or PSK identity)",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			tag, typ, err := tagType(args)
			if err != nil {
				return err
			}
			if !typ.Readable() {
				return usagef("type %s cannot be read back from the modem (only %s and %s can); `nrfprov list` shows its SHA-256", typ, cmng.RootCACert, cmng.PSKID)
			}
			return onBoard(a, ctx, "read", func(d *device.Device) (readResult, error) {
				e, content, err := d.Store.Read(ctx, tag, typ)
				return readResult{Entry: e, Content: string(content)}, err
			})
		},
	})
}

func (a *app) newWriteCmd() *cobra.Command {
	return opensBoard(&cobra.Command{
		Use:   "write TAG TYPE FILE",
		Short: "Write a credential from FILE (- for stdin) and verify it",
		Long: `Write a credential from FILE (- reads stdin) into the modem and verify it by SHA-256.

The bytes are sent exactly as they are in the file (line endings included) and the SHA-256 is
computed over them. The shell dialect stores every line break as CR LF, so through it a file
with LF line breaks is refused before sending: convert it to CR LF. The command is checked against the device's line limit and character rules before any
byte is sent. The modem is put in CFUN=4 for the write and returned to its previous mode after
(--keep-cfun leaves it alone).`,
		Args: exactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			tag, typ, err := tagType(args)
			if err != nil {
				return err
			}
			content, err := a.readInput(args[2])
			if err != nil {
				return err
			}
			// The same content checks as a manifest's (PEM, PSK hex).
			if probs := provision.ContentProblems(typ, content, inputName(args[2])); len(probs) > 0 {
				return usageError{errors.New(strings.Join(probs, "\n"))}
			}
			// Check what can be checked before touching the board: characters, tag, type, and the
			// raw command against the line limit. The store checks again for the detected dialect.
			if err := cmng.Preflight(uint64(tag), typ, content, at.Raw, cmng.Options{LineLimit: a.bf.lineLimit, AllowReserved: a.bf.allowReserved}); err != nil {
				return err
			}
			return onBoard(a, ctx, "write", func(d *device.Device) (writeResult, error) {
				// Again for the link as detected, before the modem's mode is changed.
				if err := d.Store.Preflight(uint64(tag), typ, content); err != nil {
					return writeResult{}, err
				}
				e, err := offline(a, ctx, d, func() (cmng.Entry, error) { return d.Store.Write(ctx, tag, typ, content) })
				return writeResult{Entry: e, Verified: e.Hash == cmng.HashReal}, err
			})
		},
	})
}

// inputName names a credential input in messages.
func inputName(name string) string {
	if name == "-" {
		return "stdin"
	}
	return "file " + name
}

func (a *app) readInput(name string) ([]byte, error) {
	if name == "-" {
		b, err := io.ReadAll(a.stdin)
		if err != nil {
			return nil, fmt.Errorf("read stdin: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, usageError{fmt.Errorf("credential file: %w", err)}
	}
	return b, nil
}

func (a *app) newDeleteCmd() *cobra.Command {
	return opensBoard(&cobra.Command{
		Use:   "delete TAG TYPE",
		Short: "Delete one credential",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			tag, typ, err := tagType(args)
			if err != nil {
				return err
			}
			return onBoard(a, ctx, "delete", func(d *device.Device) (deleteResult, error) {
				_, err := offline(a, ctx, d, func() (struct{}, error) { return struct{}{}, d.Store.Delete(ctx, tag, typ) })
				return deleteResult{Deleted: []cmng.Entry{{SecTag: tag, Type: typ, TypeName: typ.String()}}}, err
			})
		},
	})
}

func (a *app) newDeleteAllCmd() *cobra.Command {
	var yes bool
	cmd := opensBoard(&cobra.Command{
		Use:   "deleteall --yes",
		Short: "Delete every credential in the user range (never the modem's own)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !yes {
				return usagef("deleteall removes every user credential from the modem: pass --yes to confirm")
			}
			ctx := cmd.Context()
			return onBoard(a, ctx, "deleteall", func(d *device.Device) (deleteResult, error) {
				gone, err := offline(a, ctx, d, func() ([]cmng.Entry, error) { return d.Store.DeleteAll(ctx) })
				return deleteResult{Deleted: nonNil(gone)}, err
			})
		},
	})
	cmd.Flags().BoolVar(&yes, "yes", false, "confirm deleting every user credential")
	return cmd
}

// nonNil makes an empty list print as [] in JSON.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
