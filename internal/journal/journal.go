// Package journal keeps, per board, the modem functional mode (CFUN) that nrfprov must put back.
// An entry is written before nrfprov changes the mode and removed once the mode is restored, so
// a run that was killed (or whose board hung on the change itself) leaves the entry behind and
// the next run on the same board restores the mode. Boards are keyed by IMEI; the entries live
// in the user's state directory.
package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// EnvDir overrides the directory (tests, read-only home directories, one journal per station).
const EnvDir = "NRFPROV_STATE_DIR"

// DefaultDir is where the journal lives: $NRFPROV_STATE_DIR when set; on Linux and the BSDs
// $XDG_STATE_HOME/nrfprov (default ~/.local/state/nrfprov); elsewhere the user's configuration
// directory (os.UserConfigDir: ~/Library/Application Support, %AppData%) under nrfprov/state.
func DefaultDir() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		return d, nil
	}
	switch runtime.GOOS {
	case "windows", "darwin", "ios", "plan9":
		d, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("journal: no state directory (set %s): %w", EnvDir, err)
		}
		return filepath.Join(d, "nrfprov", "state"), nil
	}
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "nrfprov"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("journal: no state directory (set %s): %w", EnvDir, err)
	}
	return filepath.Join(home, ".local", "state", "nrfprov"), nil
}

// Journal is a directory of entries, one file per board.
type Journal struct {
	dir string
}

// Open returns the journal in dir (created on the first Save).
func Open(dir string) *Journal { return &Journal{dir: dir} }

// Dir is the journal's directory.
func (j *Journal) Dir() string { return j.dir }

// Entry is one board's mode to restore.
type Entry struct {
	IMEI  string    `json:"imei"`
	CFUN  int       `json:"cfun"`  // the mode the board was found in
	Since time.Time `json:"since"` // when nrfprov first changed it
}

const prefix, suffix = "cfun-", ".json"

func (j *Journal) path(imei string) (string, error) {
	if imei == "" || strings.ContainsFunc(imei, func(r rune) bool { return r < '0' || r > '9' }) {
		return "", fmt.Errorf("journal: IMEI %q: want digits", imei)
	}
	return filepath.Join(j.dir, prefix+imei+suffix), nil
}

// Save records that the board with this IMEI was found in mode cfun, before nrfprov changes it.
// An entry already there is kept: it holds the mode an earlier, unfinished run found, which is
// the board's own (the current mode is then nrfprov's).
func (j *Journal) Save(imei string, cfun int) error {
	if e, err := j.Get(imei); err != nil || e != nil {
		return err
	}
	p, err := j.path(imei)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(j.dir, 0o700); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	data, err := json.Marshal(Entry{IMEI: imei, CFUN: cfun, Since: time.Now().UTC().Truncate(time.Second)})
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	// Written whole or not at all: a temporary file, synced, renamed over the entry.
	f, err := os.CreateTemp(j.dir, prefix+imei+"-*.tmp")
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	_, werr := f.Write(append(data, '\n'))
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("journal: write %s: %w", f.Name(), err)
	}
	if err := os.Rename(f.Name(), p); err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// Get returns the board's entry, or nil when there is none.
func (j *Journal) Get(imei string) (*Entry, error) {
	p, err := j.path(imei)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	var e Entry
	if err := json.Unmarshal(data, &e); err != nil || e.IMEI != imei || e.CFUN < 0 {
		return nil, fmt.Errorf("journal: %s is damaged (remove it once the board's functional mode is right): %v", p, err)
	}
	return &e, nil
}

// Clear removes the board's entry: its mode is back.
func (j *Journal) Clear(imei string) error {
	p, err := j.path(imei)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// Empty reports whether no board has an entry, so that a caller need not ask a board its IMEI
// when there is nothing to look up.
func (j *Journal) Empty() bool {
	m, err := filepath.Glob(filepath.Join(j.dir, prefix+"*"+suffix))
	return err == nil && len(m) == 0
}
