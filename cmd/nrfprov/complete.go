package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nrfprov/nrfprov/internal/cmng"
	"github.com/nrfprov/nrfprov/internal/flash"
	"github.com/nrfprov/nrfprov/serialio"
)

// Shell completion with values: credential types, runners, the transports found, the serial
// ports and J-Link serial numbers connected now, manifests. Cobra serves them through its
// hidden __complete command, which `nrfprov completion bash|zsh|fish|powershell` scripts call.

type completeFunc = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective)

// flagCompletions are the value completions by flag name, wherever the flag is defined.
func (a *app) flagCompletions() map[string]completeFunc {
	return map[string]completeFunc{
		"port":            a.completePorts,
		"board":           a.completeBoards,
		"transport":       a.completeTransports,
		"runner":          fixed(append([]string{"auto\tthe first installed"}, runnerChoices()...)...),
		"manifest":        manifests,
		"kind":            fixed(resetKindChoices()...),
		"reset-kind":      fixed(resetKindChoices()...),
		"dialect":         fixed("auto\tdetect", "raw\tat_client, serial_lte_modem", "shell\tmodem_shell's at command"),
		"term":            fixed("auto\tdetect", "cr", "lf", "crlf"),
		"log-level":       fixed("trace", "debug", "info", "warning", "error"),
		"restore-app":     imageFiles,
		"flash-at-client": imageFiles,
		"at-client-hex":   imageFiles,
		"app-hex":         imageFiles,
		"build-dir":       dirs,
		"openocd-config":  openOCDConfigs,
	}
}

// argCompletions are the positional completions by command path.
func (a *app) argCompletions() map[string]completeFunc {
	tagThenType := positional(nil, credentialTypes)
	return map[string]completeFunc{
		"nrfprov read":           tagThenType,
		"nrfprov delete":         tagThenType,
		"nrfprov write":          positional(nil, credentialTypes, files),
		"nrfprov list":           positional(nil),
		"nrfprov generate":       positional(nil),
		"nrfprov flash":          positional(imageFiles),
		"nrfprov modem-firmware": positional(modemPackages),
		"nrfprov plugin connect": positional(a.completeTransports, a.completePorts),
	}
}

// addCompletions registers the completions on the built command tree: each flag once, on the
// command that defines it.
func (a *app) addCompletions(root *cobra.Command) {
	flags, args := a.flagCompletions(), a.argCompletions()
	done := map[*pflag.Flag]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if fn, ok := flags[f.Name]; ok && !done[f] {
				done[f] = true
				_ = c.RegisterFlagCompletionFunc(f.Name, fn)
			}
		})
		if fn, ok := args[c.CommandPath()]; ok && c.ValidArgsFunction == nil {
			c.ValidArgsFunction = fn
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// fixed completes from a list ("value\tdescription" entries).
func fixed(values ...string) completeFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return matching(values, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// positional completes argument i with fns[i] (nil: nothing to offer), nothing past the last.
func positional(fns ...completeFunc) completeFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) >= len(fns) || fns[len(args)] == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return fns[len(args)](cmd, args, toComplete)
	}
}

func matching(values []string, prefix string) []string {
	var out []string
	for _, v := range values {
		if strings.HasPrefix(strings.ToLower(v), strings.ToLower(prefix)) {
			out = append(out, v)
		}
	}
	return out
}

func credentialTypes(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	var vs []string
	for _, n := range cmng.TypeNames() {
		t, err := cmng.ParseType(n)
		if err != nil {
			continue
		}
		vs = append(vs, fmt.Sprintf("%s\ttype %d", strings.ToLower(n), int(t)))
	}
	return matching(vs, toComplete), cobra.ShellCompDirectiveNoFileComp
}

func runnerChoices() []string {
	var vs []string
	for _, n := range flash.Names() {
		r, err := flash.Lookup(n)
		if err != nil || r.Exe == "" {
			vs = append(vs, n)
			continue
		}
		vs = append(vs, n+"\t"+r.Exe)
	}
	return vs
}

func resetKindChoices() []string {
	var vs []string
	for _, k := range flash.ResetKinds() {
		vs = append(vs, string(k))
	}
	return vs
}

func (a *app) completePorts(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	ports, err := serialio.ListPorts()
	if err != nil {
		return nil, cobra.ShellCompDirectiveDefault // a path typed by hand
	}
	var vs []string
	for _, b := range serialio.Boards(ports) {
		for i, p := range b.Ports {
			desc := "SN " + b.SerialNumber
			if i == 0 {
				desc += " VCOM0"
			}
			if b.Model != "" {
				desc = b.Model + " " + desc
			}
			vs = append(vs, p.Path+"\t"+desc)
		}
	}
	return matching(vs, toComplete), cobra.ShellCompDirectiveNoFileComp
}

func (a *app) completeBoards(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	ports, err := serialio.ListPorts()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var vs []string
	for _, b := range serialio.Boards(ports) {
		if b.SerialNumber == "" {
			continue
		}
		desc := b.VCOM0()
		if b.Model != "" {
			desc = b.Model + " at " + desc
		}
		vs = append(vs, b.SerialNumber+"\t"+desc)
	}
	return matching(vs, toComplete), cobra.ShellCompDirectiveNoFileComp
}

func (a *app) completeTransports(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	found, err := a.discover()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var vs []string
	for _, f := range found {
		desc := "built in"
		if !f.Builtin() {
			desc = f.Path
		}
		vs = append(vs, f.Name+"\t"+desc)
	}
	return matching(vs, toComplete), cobra.ShellCompDirectiveNoFileComp
}

func manifests(_ *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	return []string{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
}

func imageFiles(_ *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	return []string{"hex", "elf"}, cobra.ShellCompDirectiveFilterFileExt
}

func modemPackages(_ *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	return []string{"zip"}, cobra.ShellCompDirectiveFilterFileExt
}

func openOCDConfigs(_ *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	return []string{"cfg"}, cobra.ShellCompDirectiveFilterFileExt
}

func files(_ *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveDefault
}

func dirs(_ *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveFilterDirs
}
