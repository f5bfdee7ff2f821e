package identity

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sync"
)

// OnboardingRow is one device in the CSV nRF Cloud's bulk onboarding takes, in the columns
// nrfcloud-utils' device_credentials_installer writes (cli_helpers.save_onboarding_csv): device
// ID, sub-type, tags (|-separated), firmware types (|-separated, e.g. APP|MODEM), and the device
// certificate PEM. There is no header row.
type OnboardingRow struct {
	DeviceID string
	SubType  string
	Tags     string
	FWTypes  string
	CertPEM  string
}

func (r OnboardingRow) fields() []string {
	return []string{r.DeviceID, r.SubType, r.Tags, r.FWTypes, r.CertPEM}
}

// onboardingMu serialises the updates of onboarding files: several boards provisioned at once
// (provision --all) share one file. Separate nrfprov processes must not share one.
var onboardingMu sync.Mutex

// UpsertOnboarding makes path hold row: a row with the same device ID is replaced, other rows are
// kept in order, and a new device is appended. When the file already holds exactly this row it
// is not touched (changed false).
func UpsertOnboarding(path string, row OnboardingRow) (changed bool, err error) {
	onboardingMu.Lock()
	defer onboardingMu.Unlock()
	var rows [][]string
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return false, fmt.Errorf("identity: onboarding file: %w", err)
	default:
		rd := csv.NewReader(bytes.NewReader(data))
		rd.FieldsPerRecord = -1
		if rows, err = rd.ReadAll(); err != nil {
			return false, fmt.Errorf("identity: onboarding file %s is not CSV: move it away or fix it: %w", path, err)
		}
	}
	want := row.fields()
	found := false
	for i, r := range rows {
		if len(r) == 0 || r[0] != row.DeviceID {
			continue
		}
		if found { // a duplicate of the device: drop it
			rows[i] = nil
			changed = true
			continue
		}
		found = true
		if !slices.Equal(r, want) {
			rows[i] = want
			changed = true
		}
	}
	if !found {
		rows = append(rows, want)
		changed = true
	}
	if !changed {
		return false, nil
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	for _, r := range rows {
		if r != nil {
			if err := w.Write(r); err != nil {
				return false, fmt.Errorf("identity: onboarding file: %w", err)
			}
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return false, fmt.Errorf("identity: onboarding file: %w", err)
	}
	return true, writeAtomic(path, buf.Bytes())
}

// OnboardingHas reports whether path already holds exactly row.
func OnboardingHas(path string, row OnboardingRow) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	rd := csv.NewReader(bytes.NewReader(data))
	rd.FieldsPerRecord = -1
	rows, err := rd.ReadAll()
	if err != nil {
		return false
	}
	n := 0
	ok := false
	for _, r := range rows {
		if len(r) > 0 && r[0] == row.DeviceID {
			n++
			ok = slices.Equal(r, row.fields())
		}
	}
	return n == 1 && ok
}
