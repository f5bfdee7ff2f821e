package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/nrfprov/nrfprov/internal/sim"
)

// addCompletions gives the shell the values of --profile, --personality, --termination and
// --log-level (cobra's __complete; `nrfsim completion bash` and the like).
func addCompletions(cmd *cobra.Command) {
	var pers []string
	for _, p := range sim.Personalities() {
		pers = append(pers, string(p))
	}
	for flag, values := range map[string][]string{
		"profile":     sim.ProfileNames(),
		"personality": pers,
		"termination": {"cr", "lf", "crlf", "nul"},
		"log-level":   {"debug", "info", "warning", "error"},
	} {
		_ = cmd.RegisterFlagCompletionFunc(flag, func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			var out []string
			for _, v := range values {
				if strings.HasPrefix(v, toComplete) {
					out = append(out, v)
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		})
	}
}
