package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nrfprov/nrfprov/internal/sim"
	"github.com/nrfprov/nrfprov/internal/sim/simtest"
	"github.com/nrfprov/nrfprov/plugin"
)

// complete runs cobra's __complete in-process and returns the values offered (descriptions
// dropped) and the directive line (":4" no file completion, ":8" filter by extension).
func complete(t *testing.T, args ...string) ([]string, string) {
	t.Helper()
	out, errs, code := runApp(t, append([]string{"__complete"}, args...)...)
	if code != 0 {
		t.Fatalf("__complete %v: exit %d\n%s", args, code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var vals []string
	for _, l := range lines[:len(lines)-1] {
		vals = append(vals, strings.SplitN(l, "\t", 2)[0])
	}
	return vals, lines[len(lines)-1]
}

// TestCompletionValues covers each kind of value: credential types, runners, transports found,
// serial ports and J-Link serial numbers connected now, manifests and images by extension.
func TestCompletionValues(t *testing.T) {
	run := t.TempDir()
	simtest.Board(t, sim.BoardConfig{RunDir: run, SerialNumber: "000960000081"})
	simtest.Board(t, sim.BoardConfig{RunDir: run, SerialNumber: "001059000082", Profile: "mfw_nrf91x1_2.0.x"})
	t.Setenv("NRFPROV_SYSFS_ROOT", filepath.Join(run, "sys"))
	t.Setenv("NRFPROV_DEV_ROOT", filepath.Join(run, "dev"))
	plugins := t.TempDir()
	if err := os.WriteFile(filepath.Join(plugins, plugin.ExecutablePrefix+"ble"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(plugin.EnvPluginDir, plugins)

	for _, c := range []struct {
		args []string
		want []string
		dir  string
	}{
		{[]string{"write", "5", ""}, []string{"root_ca_cert", "client_cert", "client_key", "psk", "psk_id", "pub_key",
			"dev_id_pub_key", "endorsement_key", "ownership_key", "nordic_id_root_ca", "nordic_pub_key"}, ":4"},
		{[]string{"read", "5", "ps"}, []string{"psk", "psk_id"}, ":4"},
		{[]string{"delete", "5", "CLIENT_"}, []string{"client_cert", "client_key"}, ":4"},
		{[]string{"read", ""}, nil, ":4"}, // a sec_tag: nothing to offer, and no files
		{[]string{"flash", "--runner", ""}, []string{"auto", "nrfutil", "nrfjprog", "jlink", "west", "openocd", "gdb"}, ":4"},
		{[]string{"reset", "--kind", ""}, []string{"system", "pin", "debug"}, ":4"},
		{[]string{"info", "--transport", ""}, []string{"rtt", "serial", "ble"}, ":4"},
		{[]string{"info", "--board", ""}, []string{"000960000081", "001059000082"}, ":4"},
		{[]string{"info", "--board", "0010"}, []string{"001059000082"}, ":4"},
		{[]string{"provision", "-m", ""}, []string{"yaml", "yml"}, ":8"},
		{[]string{"plan", "--manifest", ""}, []string{"yaml", "yml"}, ":8"},
		{[]string{"flash", ""}, []string{"hex", "elf"}, ":8"},
		{[]string{"identity", "-m", ""}, []string{"yaml", "yml"}, ":8"},
		{[]string{"modem-firmware", ""}, []string{"zip"}, ":8"},
	} {
		got, dir := complete(t, c.args...)
		slices.Sort(got)
		want := slices.Clone(c.want)
		slices.Sort(want)
		if !slices.Equal(got, want) || dir != c.dir {
			t.Errorf("__complete %q: %v %s, want %v %s", c.args, got, dir, want, c.dir)
		}
	}

	ports, dir := complete(t, "info", "--port", "")
	if dir != ":4" || len(ports) != 2 {
		t.Fatalf("--port: %v %s, want the two boards' ports", ports, dir)
	}
	for _, p := range ports {
		if !strings.HasPrefix(p, filepath.Join(run, "dev")) || !strings.Contains(p, "NRFSIM") {
			t.Errorf("--port offers %q, not a port of the boards", p)
		}
	}
}
