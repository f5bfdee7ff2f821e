package plugin

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// LockSchema is the version of the lock file format.
const LockSchema = 1

// LockFile pins the SHA-256 of each external transport. nrfprov runs an
// external transport only when its executable hashes to the pinned value.
//
//	{"schema": 1, "transports": {"tcp": {"path": "/usr/local/bin/nrfprov-transport-tcp", "sha256": "…"}}}
//
// The path is informative; the hash is what is checked, wherever the
// executable is found.
type LockFile struct {
	Schema     int                  `json:"schema"`
	Transports map[string]LockEntry `json:"transports"`
}

// LockEntry is one pinned transport.
type LockEntry struct {
	Path   string `json:"path,omitempty"`
	SHA256 string `json:"sha256"`
}

// ReadLockFile reads a lock file. A missing file is an empty lock.
func ReadLockFile(path string) (LockFile, error) {
	lf := LockFile{Schema: LockSchema, Transports: map[string]LockEntry{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return lf, nil
	}
	if err != nil {
		return lf, fmt.Errorf("plugin: read lock file: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&lf); err != nil {
		return lf, fmt.Errorf("plugin: lock file %s: %w", path, err)
	}
	if lf.Schema != LockSchema {
		return lf, fmt.Errorf("plugin: lock file %s: schema %d, want %d", path, lf.Schema, LockSchema)
	}
	if lf.Transports == nil {
		lf.Transports = map[string]LockEntry{}
	}
	for name, e := range lf.Transports {
		if _, err := parseSum(e.SHA256); err != nil {
			return lf, fmt.Errorf("plugin: lock file %s: transport %s: %w", path, name, err)
		}
	}
	return lf, nil
}

// WriteLockFile writes lf atomically (temporary file, then rename).
func WriteLockFile(path string, lf LockFile) error {
	lf.Schema = LockSchema
	b, err := json.MarshalIndent(lf, "", "  ")
	if err != nil {
		return fmt.Errorf("plugin: write lock file: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("plugin: write lock file: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".nrfprov-lock-*")
	if err != nil {
		return fmt.Errorf("plugin: write lock file: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("plugin: write lock file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("plugin: write lock file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("plugin: write lock file: %w", err)
	}
	return nil
}

// Lock pins every external transport in found at its current hash and
// returns the new lock file content. Built-ins are not pinned: they are the
// running binary.
func Lock(found []Found) (LockFile, error) {
	lf := LockFile{Schema: LockSchema, Transports: map[string]LockEntry{}}
	for _, f := range found {
		if f.Builtin() {
			continue
		}
		sum, err := FileSHA256(f.Path)
		if err != nil {
			return lf, err
		}
		lf.Transports[f.Name] = LockEntry{Path: f.Path, SHA256: hex.EncodeToString(sum)}
	}
	return lf, nil
}

// FileSHA256 hashes the file at path.
func FileSHA256(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("plugin: hash %s: %w", path, err)
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("plugin: hash %s: %w", path, err)
	}
	return h.Sum(nil), nil
}

// Checksums are the pinned SHA-256 sums by transport name.
type Checksums map[string][]byte

// Pins merges the lock file with --plugin-checksum values; the flags win.
func Pins(lf LockFile, flags []string) (Checksums, error) {
	pins := Checksums{}
	names := make([]string, 0, len(lf.Transports))
	for n := range lf.Transports {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		sum, err := parseSum(lf.Transports[n].SHA256)
		if err != nil {
			return nil, fmt.Errorf("plugin: lock entry %s: %w", n, err)
		}
		pins[n] = sum
	}
	for _, f := range flags {
		name, sum, err := ParseChecksumFlag(f)
		if err != nil {
			return nil, err
		}
		pins[name] = sum
	}
	return pins, nil
}

// ParseChecksumFlag parses "<name>=<sha256 hex>" (the hex may carry a
// "sha256:" prefix).
func ParseChecksumFlag(s string) (string, []byte, error) {
	name, hexSum, ok := strings.Cut(s, "=")
	if !ok || !nameRE.MatchString(name) {
		return "", nil, fmt.Errorf("plugin: --plugin-checksum %q: want <name>=<sha256 hex>: %w", s, ErrInvalidArgument)
	}
	sum, err := parseSum(hexSum)
	if err != nil {
		return "", nil, fmt.Errorf("plugin: --plugin-checksum %q: %w", s, err)
	}
	return name, sum, nil
}

func parseSum(s string) ([]byte, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "sha256:")
	sum, err := hex.DecodeString(s)
	if err != nil || len(sum) != sha256.Size {
		return nil, fmt.Errorf("%q is not a SHA-256 in hex (64 digits): %w", s, ErrInvalidArgument)
	}
	return sum, nil
}

// ChecksumMismatchError says an external transport's executable does not
// hash to its pin. It matches ErrChecksumMismatch.
type ChecksumMismatchError struct {
	Transport string
	Path      string
	Want, Got []byte
}

func (e *ChecksumMismatchError) Error() string {
	return fmt.Sprintf("plugin: transport %s: %s has SHA-256 %x, but %x is pinned: refusing to run it",
		e.Transport, e.Path, e.Got, e.Want)
}

func (e *ChecksumMismatchError) Is(target error) bool { return target == ErrChecksumMismatch }

// Verify checks f against pins: built-ins pass; an external transport must
// have a pin (else ErrNotLocked) and match it (else *ChecksumMismatchError).
// It returns the pinned sum for go-plugin's own check right before exec.
func Verify(f Found, pins Checksums) ([]byte, error) {
	if f.Builtin() {
		return nil, nil
	}
	want, ok := pins[f.Name]
	if !ok {
		return nil, fmt.Errorf("plugin: transport %s (%s): %w", f.Name, f.Path, ErrNotLocked)
	}
	got, err := FileSHA256(f.Path)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(got, want) {
		return nil, &ChecksumMismatchError{Transport: f.Name, Path: f.Path, Want: want, Got: got}
	}
	return want, nil
}
