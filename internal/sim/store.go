package sim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// credKey names one credential slot: at most one item per (sec_tag, type) pair.
type credKey struct {
	Tag  uint32 `json:"sec_tag"`
	Type int    `json:"type"`
}

// nvm is the modem's non-volatile memory as far as the model needs it: the credential store
// and the device identity key. It survives resets, and with a state file it survives restarts
// of the process. It holds credential contents, so it is never dumped through the control
// endpoint: Summary gives hashes and sizes only.
type nvm struct {
	path     string // state file; "" keeps everything in memory
	creds    map[credKey][]byte
	identity *ecdsa.PrivateKey
	firmware FirmwareImage
	// modemRevision is the modem firmware programmed into the board ("" = the profile's own).
	modemRevision string
	// brokenStorage: the credential store hangs every write (modemfw.go).
	brokenStorage bool
}

// FirmwareImage is what the application flash holds: a personality and, when it came from a
// hex file, that file's identity.
type FirmwareImage struct {
	Personality Personality `json:"personality"`
	ImageSHA256 string      `json:"image_sha256,omitempty"`
	ImageName   string      `json:"image_name,omitempty"`
}

type nvmFile struct {
	Version     int           `json:"version"`
	Credentials []storedCred  `json:"credentials"`
	IdentityKey []byte        `json:"identity_key_pkcs8"`
	Firmware    FirmwareImage `json:"firmware"`
	// ModemFirmware and BrokenStorage: see modemfw.go.
	ModemFirmware string `json:"modem_firmware,omitempty"`
	BrokenStorage bool   `json:"broken_storage,omitempty"`
}

type storedCred struct {
	credKey
	Content []byte `json:"content"`
}

const nvmVersion = 1

// openNVM loads the state file at path, or creates a fresh NVM (and the file) when it does not
// exist. An unreadable or corrupt file is an error: the model never silently forgets credentials.
func openNVM(path string, fw FirmwareImage) (*nvm, error) {
	n := &nvm{path: path, creds: map[credKey][]byte{}, firmware: fw}
	if path != "" {
		data, err := os.ReadFile(path)
		switch {
		case err == nil:
			if err := n.decode(data); err != nil {
				return nil, fmt.Errorf("sim: state file %s: %w", path, err)
			}
			return n, nil
		case !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("sim: state file: %w", err)
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("sim: device identity key: %w", err)
	}
	n.identity = key
	if err := n.save(); err != nil {
		return nil, err
	}
	return n, nil
}

func (n *nvm) decode(data []byte) error {
	var f nvmFile
	if err := json.Unmarshal(data, &f); err != nil {
		return err
	}
	if f.Version != nvmVersion {
		return fmt.Errorf("unsupported version %d", f.Version)
	}
	k, err := x509.ParsePKCS8PrivateKey(f.IdentityKey)
	if err != nil {
		return fmt.Errorf("identity key: %w", err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return errors.New("identity key is not an EC key")
	}
	n.identity = ek
	for _, c := range f.Credentials {
		n.creds[c.credKey] = c.Content
	}
	if f.Firmware.Personality != "" {
		n.firmware = f.Firmware
	}
	n.modemRevision, n.brokenStorage = f.ModemFirmware, f.BrokenStorage
	return nil
}

// save writes the state file atomically (temporary file, fsync, rename), so a crash or a kill
// at any point leaves either the old or the new state, never a torn one.
func (n *nvm) save() error {
	if n.path == "" {
		return nil
	}
	der, err := x509.MarshalPKCS8PrivateKey(n.identity)
	if err != nil {
		return fmt.Errorf("sim: state: %w", err)
	}
	f := nvmFile{Version: nvmVersion, IdentityKey: der, Firmware: n.firmware, ModemFirmware: n.modemRevision, BrokenStorage: n.brokenStorage}
	for _, k := range n.keys() {
		f.Credentials = append(f.Credentials, storedCred{credKey: k, Content: n.creds[k]})
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("sim: state: %w", err)
	}
	if err := writeFileAtomic(n.path, data); err != nil {
		return fmt.Errorf("sim: state: %w", err)
	}
	return nil
}

func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// keys returns the user-visible credential keys in list order: ascending tag, then type.
func (n *nvm) keys() []credKey {
	keys := make([]credKey, 0, len(n.creds))
	for k := range n.creds {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].Tag != keys[j].Tag {
			return keys[i].Tag < keys[j].Tag
		}
		return keys[i].Type < keys[j].Type
	})
	return keys
}

func (n *nvm) put(k credKey, content []byte) error {
	n.creds[k] = append([]byte(nil), content...)
	return n.save()
}

func (n *nvm) remove(k credKey) error {
	delete(n.creds, k)
	return n.save()
}

// modemOwnedContent is what the modem keeps in its own slots. The device identity public key is
// the real public half of the identity key that signs %KEYGEN and %ATTESTTOKEN output; the two
// Nordic entries are fixed stand-ins (their bytes only matter through their hashes).
func (n *nvm) modemOwnedContent(k credKey) []byte {
	switch k.Type {
	case 6:
		der, err := x509.MarshalPKIXPublicKey(&n.identity.PublicKey)
		if err != nil {
			return nil
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	case 10:
		return []byte("nrfsim stand-in: Nordic identity root CA\n")
	case 11:
		return []byte("nrfsim stand-in: Nordic base public key\n")
	}
	return nil
}

// CredentialSummary describes one stored credential without its content.
type CredentialSummary struct {
	SecTag uint32 `json:"sec_tag"`
	Type   int    `json:"type"`
	SHA256 string `json:"sha256"`
	Size   int    `json:"size"`
}

// summary lists the user credentials by hash and size, never by content.
func (n *nvm) summary() []CredentialSummary {
	out := []CredentialSummary{}
	for _, k := range n.keys() {
		c := n.creds[k]
		out = append(out, CredentialSummary{SecTag: k.Tag, Type: k.Type, SHA256: sha256Upper(c), Size: len(c)})
	}
	return out
}

func sha256Upper(b []byte) string {
	sum := sha256.Sum256(b)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}
