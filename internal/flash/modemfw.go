package flash

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// ModemPackage is a modem firmware package as Nordic ships it: a ZIP archive named
// mfw_nrf9160_<version>.zip or mfw_nrf91x1_<version>.zip (the nRF91 DK guides: "named mfw_nrf9160_
// or mfw_nrf91x1_, followed by the firmware version number"; do not unzip it), holding the update
// image as firmware.update.image.segments.<n>.hex files and its firmware.update.image.digest.txt.
type ModemPackage struct {
	Path string `json:"path"`
	// Family is nrf9160 or nrf91x1; Version the firmware version (1.3.6, 2.0.2, …).
	Family  string `json:"family"`
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
}

// Revision is what the modem answers to AT+CGMR once it runs this package.
func (p *ModemPackage) Revision() string { return "mfw_" + p.Family + "_" + p.Version }

// Describe names the package for messages.
func (p *ModemPackage) Describe() string {
	return fmt.Sprintf("%s (modem firmware %s)", filepath.Base(p.Path), p.Revision())
}

var modemPackageName = regexp.MustCompile(`^mfw_(nrf9160|nrf91x1)_([0-9]+\.[0-9]+\.[0-9]+(?:[-.][0-9A-Za-z.-]+)?)\.zip$`)

// ReadModemPackage opens a modem firmware package, reads its version from its name and checks
// that it holds an update image of the documented shape. Errors say what is wrong and what to do.
func ReadModemPackage(path string) (*ModemPackage, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: modem firmware package: %w", ErrImage, err)
	}
	m := modemPackageName.FindStringSubmatch(filepath.Base(path))
	if m == nil {
		return nil, fmt.Errorf("%w: %s: a modem firmware package is named mfw_nrf9160_<version>.zip or mfw_nrf91x1_<version>.zip "+
			"(as Nordic ships it; the name is how the version is known): keep the downloaded file's name", ErrImage, filepath.Base(path))
	}
	zr, err := zip.NewReader(strings.NewReader(string(data)), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not a ZIP archive (%v): give the modem firmware .zip as downloaded, not unpacked", ErrImage, path, err)
	}
	segments, digest := 0, false
	for _, f := range zr.File {
		name := filepath.Base(f.Name)
		switch {
		case name == "firmware.update.image.digest.txt":
			digest = true
		case strings.HasPrefix(name, "firmware.update.image.segments.") && strings.HasSuffix(name, ".hex"):
			rc, err := f.Open()
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %s: %v", ErrImage, path, f.Name, err)
			}
			_, err = io.Copy(io.Discard, rc) // reading checks the entry's CRC
			rc.Close()
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %s is damaged (%v): download the package again", ErrImage, path, f.Name, err)
			}
			segments++
		}
	}
	if segments == 0 || !digest {
		return nil, fmt.Errorf("%w: %s does not hold a modem update image (firmware.update.image.segments.*.hex and firmware.update.image.digest.txt): "+
			"is it an application package?", ErrImage, path)
	}
	sum := sha256.Sum256(data)
	return &ModemPackage{Path: path, Family: m[1], Version: m[2], SHA256: strings.ToUpper(hex.EncodeToString(sum[:]))}, nil
}

// PlanModemFirmware returns the commands that program a modem firmware package. Only nrfutil
// (`nrfutil device program --firmware <zip> --serial-number <sn>`: it picks the modem update by
// the file) and nrfjprog (`nrfjprog --program <zip> -s <sn> --verify`, Command Line Tools 10.13
// and later) can; the others return ErrUnsupported.
func (r *Runner) PlanModemFirmware(t Target, pkg *ModemPackage) ([]Command, error) {
	if r.ModemFirmware == nil {
		return nil, fmt.Errorf("%w: runner %s cannot program a modem firmware package (nrfutil and nrfjprog can: --runner nrfutil or --runner nrfjprog)", ErrUnsupported, r.Name)
	}
	vars := t.vars()
	vars["zip"] = pkg.Path
	return r.commands(r.ModemFirmware, nil, vars, nil, ""), nil
}

// CanProgramModem reports whether the runner programs modem firmware packages.
func (r *Runner) CanProgramModem() bool { return r.ModemFirmware != nil }
