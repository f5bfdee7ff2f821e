//go:build mangen

package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// Built with -tags mangen (scripts/man.sh), nrfprov has a hidden __man command that writes a
// man page per command with cobra's doc generator. The release binary carries no generator.
func init() {
	extraCommands = append(extraCommands, func(a *app) *cobra.Command {
		return &cobra.Command{
			Use:    "__man DIR",
			Short:  "Write the man pages into DIR",
			Hidden: true,
			Args:   exactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				if err := os.MkdirAll(args[0], 0o755); err != nil {
					return err
				}
				root := cmd.Root()
				root.DisableAutoGenTag = true // pages that do not change with the day they are made
				hdr := &doc.GenManHeader{Title: "NRFPROV", Section: "1", Source: "nrfprov " + nrfprovVersion(), Manual: "nrfprov manual"}
				if err := doc.GenManTree(root, hdr, args[0]); err != nil {
					return fmt.Errorf("man pages: %w", err)
				}
				return nil
			},
		}
	})
}
