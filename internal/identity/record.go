package identity

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// recordVersion is the only record format this package reads.
const recordVersion = 1

// Record is what the host keeps about an identity it made: enough to prove on a later run that
// the modem still holds the key the certificate was issued for. It holds no secret.
type Record struct {
	Version  int    `json:"version"`
	IMEI     string `json:"imei"`
	SecTag   uint32 `json:"sec_tag"`
	DeviceID string `json:"device_id"`
	// DeviceUUID is the one the %KEYGEN COSE payload named.
	DeviceUUID string `json:"device_uuid"`
	// KeySHA256 is what the modem listed for the CLIENT_KEY right after %KEYGEN.
	KeySHA256 string `json:"client_key_listed_sha256"`
	// PublicKeySHA256 is the SHA-256 of the CSR's SubjectPublicKeyInfo.
	PublicKeySHA256 string `json:"public_key_sha256"`
	// CSRPEM is the modem's CSR, kept to sign again without a new key.
	CSRPEM string `json:"csr_pem"`
	// CertPEM is the issued certificate as written (before any line-ending change).
	CertPEM string `json:"client_cert_pem"`
	// CASHA256 is the SHA-256 of the signing CA certificate's DER.
	CASHA256 string `json:"ca_sha256"`
}

// RecordPath is where the record of (IMEI, sec_tag) lives in dir.
func RecordPath(dir, imei string, tag uint32) string {
	return filepath.Join(dir, imei+"_"+strconv.FormatUint(uint64(tag), 10)+"_identity.json")
}

// CertPath is where the issued certificate of a device ID is saved beside the record (the
// nrfcloud-utils naming: <device id>_crt.pem).
func CertPath(dir, deviceID string) string {
	return filepath.Join(dir, deviceID+"_crt.pem")
}

// LoadRecord reads the record of (IMEI, sec_tag); nil without error when there is none.
func LoadRecord(dir, imei string, tag uint32) (*Record, error) {
	path := RecordPath(dir, imei, tag)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("identity: record: %w", err)
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("identity: record %s is not valid JSON: move it away to make the identity again: %w", path, err)
	}
	if r.Version != recordVersion {
		return nil, fmt.Errorf("identity: record %s has version %d, this nrfprov reads %d", path, r.Version, recordVersion)
	}
	return &r, nil
}

// Save writes the record and the certificate file atomically (a temporary file renamed), so a
// kill leaves the old or the new record, never half of one.
func (r *Record) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	r.Version = recordVersion
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("identity: record: %w", err)
	}
	if err := writeAtomic(CertPath(dir, r.DeviceID), []byte(r.CertPEM)); err != nil {
		return err
	}
	return writeAtomic(RecordPath(dir, r.IMEI, r.SecTag), append(data, '\n'))
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("identity: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("identity: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("identity: write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("identity: write %s: %w", path, err)
	}
	return nil
}
