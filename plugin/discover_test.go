package plugin

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func touch(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
		t.Fatal(err)
	}
}

func TestDiscoverOrderAndShadowing(t *testing.T) {
	root := t.TempDir()
	self := filepath.Join(root, "bin", "nrfprov")
	pdir := filepath.Join(root, "plugins")
	path1, path2 := filepath.Join(root, "path1"), filepath.Join(root, "path2")

	touch(t, self, 0o755)
	touch(t, filepath.Join(root, "bin", "nrfprov-transport-ble"), 0o755)
	touch(t, filepath.Join(pdir, "nrfprov-transport-ble"), 0o755) // shadowed by the one beside nrfprov
	touch(t, filepath.Join(pdir, "nrfprov-transport-tcp"), 0o755)
	touch(t, filepath.Join(pdir, "nrfprov-transport-notexec"), 0o644)
	touch(t, filepath.Join(pdir, "nrfprov-transport-Bad"), 0o755)
	if err := os.MkdirAll(filepath.Join(pdir, "nrfprov-transport-dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	touch(t, filepath.Join(path1, "nrfprov-transport-tcp"), 0o755)    // shadowed by the plugin dir
	touch(t, filepath.Join(path1, "nrfprov-transport-serial"), 0o755) // shadowed by the built-in
	touch(t, filepath.Join(path2, "nrfprov-transport-rtt"), 0o755)
	if err := os.Symlink(filepath.Join(path2, "nrfprov-transport-rtt"), filepath.Join(path2, "nrfprov-transport-rtt2")); err != nil {
		t.Fatal(err)
	}

	found, err := Discover(DiscoverConfig{
		Self: self, Builtins: []string{"serial"}, PluginDir: pdir,
		PathList: strings.Join([]string{path1, filepath.Join(root, "missing"), path2, path1}, string(os.PathListSeparator)),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []Found{
		{Name: "ble", Path: filepath.Join(root, "bin", "nrfprov-transport-ble"), Source: SourceBeside,
			Shadowed: []string{filepath.Join(pdir, "nrfprov-transport-ble")}},
		{Name: "rtt", Path: filepath.Join(path2, "nrfprov-transport-rtt"), Source: SourcePath},
		{Name: "rtt2", Path: filepath.Join(path2, "nrfprov-transport-rtt2"), Source: SourcePath},
		{Name: "serial", Path: self, Source: SourceBuiltin, Shadowed: []string{filepath.Join(path1, "nrfprov-transport-serial")}},
		{Name: "tcp", Path: filepath.Join(pdir, "nrfprov-transport-tcp"), Source: SourcePluginDir,
			Shadowed: []string{filepath.Join(path1, "nrfprov-transport-tcp")}},
	}
	if !reflect.DeepEqual(found, want) {
		t.Fatalf("Discover =\n%+v\nwant\n%+v", found, want)
	}

	if f, err := Lookup(found, "tcp"); err != nil || f.Source != SourcePluginDir {
		t.Fatalf("Lookup(tcp) = %+v, %v", f, err)
	}
	_, err = Lookup(found, "usb")
	if !errors.Is(err, ErrUnknownTransport) || !strings.Contains(err.Error(), "ble, rtt, rtt2, serial, tcp") {
		t.Fatalf("Lookup(usb) = %v, want ErrUnknownTransport listing what was found", err)
	}
}
