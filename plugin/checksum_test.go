package plugin

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLockRoundTripAndVerify(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "nrfprov-transport-tcp")
	touch(t, exe, 0o755)
	found := []Found{
		{Name: "serial", Path: filepath.Join(dir, "nrfprov"), Source: SourceBuiltin},
		{Name: "tcp", Path: exe, Source: SourcePluginDir},
	}
	lf, err := Lock(found)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := lf.Transports["serial"]; ok || len(lf.Transports) != 1 {
		t.Fatalf("Lock pinned %v; built-ins are not pinned", lf.Transports)
	}
	lockPath := filepath.Join(dir, "sub", "transports.lock")
	if err := WriteLockFile(lockPath, lf); err != nil {
		t.Fatal(err)
	}
	read, err := ReadLockFile(lockPath)
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256([]byte("#!/bin/sh\n"))
	if read.Transports["tcp"].SHA256 != hex.EncodeToString(want[:]) || read.Transports["tcp"].Path != exe {
		t.Fatalf("lock file holds %+v", read)
	}
	pins, err := Pins(read, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum, err := Verify(found[1], pins); err != nil || !bytes.Equal(sum, want[:]) {
		t.Fatalf("Verify(pinned) = %x, %v", sum, err)
	}
	if sum, err := Verify(found[0], Checksums{}); err != nil || sum != nil {
		t.Fatalf("Verify(builtin) = %x, %v", sum, err)
	}
	if _, err := Verify(found[1], Checksums{}); !errors.Is(err, ErrNotLocked) {
		t.Fatalf("Verify(unpinned) = %v, want ErrNotLocked", err)
	}

	// A flag beats the lock file.
	other := strings.Repeat("0f", 32)
	pins, err = Pins(read, []string{"tcp=sha256:" + other})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Verify(found[1], pins)
	var mm *ChecksumMismatchError
	if !errors.As(err, &mm) || !errors.Is(err, ErrChecksumMismatch) || hex.EncodeToString(mm.Want) != other {
		t.Fatalf("Verify(flag pin) = %v, want a mismatch against the flag's sum", err)
	}
}

func TestLockFileAndFlagErrors(t *testing.T) {
	dir := t.TempDir()
	if lf, err := ReadLockFile(filepath.Join(dir, "none")); err != nil || len(lf.Transports) != 0 {
		t.Fatalf("missing lock file = %+v, %v; want empty", lf, err)
	}
	for name, content := range map[string]string{
		"schema":  `{"schema": 2, "transports": {}}`,
		"sum":     `{"schema": 1, "transports": {"tcp": {"sha256": "abc"}}}`,
		"unknown": `{"schema": 1, "transports": {}, "extra": 1}`,
		"garbage": `not json`,
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadLockFile(p); err == nil {
			t.Errorf("ReadLockFile(%s) accepted %s", name, content)
		}
	}
	for _, f := range []string{"tcp", "tcp=", "=" + strings.Repeat("00", 32), "TCP=" + strings.Repeat("00", 32), "tcp=" + strings.Repeat("00", 31)} {
		if _, _, err := ParseChecksumFlag(f); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("ParseChecksumFlag(%q) = %v, want ErrInvalidArgument", f, err)
		}
	}
}
