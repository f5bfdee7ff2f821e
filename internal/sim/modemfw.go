package sim

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// The modem firmware model.
//
// Documented (nRF91 DK guides, nRF Util and nrfjprog docs): a modem firmware package is a ZIP
// named mfw_nrf9160_<version>.zip or mfw_nrf91x1_<version>.zip, not to be unpacked; it holds the
// update image as firmware.update.image.segments.<n>.hex files and a
// firmware.update.image.digest.txt (plus a bootloader *.ipc_dfu.signed*.ihex in the full
// packages); nrfutil device program and nrfjprog --program (10.13+) take it through the debug
// probe; afterwards AT+CGMR names the new version.
//
// Inferred: the board resets after the update; the user credentials and the device identity
// key survive it (the model keeps the whole credential store); and a credential store that hangs
// every write ("broken storage", the field report's last state) is healed by programming the
// modem firmware again, and by nothing else (resets, power cycles and clear_faults keep it).

// modemPackageName is how Nordic names the packages.
var simModemPackageName = regexp.MustCompile(`^mfw_(nrf9160|nrf91x1)_([0-9]+\.[0-9]+\.[0-9]+[-.0-9A-Za-z]*)\.zip$`)

// ModemPackage is what the board reads from a modem firmware package.
type ModemPackage struct {
	Family  string
	Version string
}

// Revision is the AT+CGMR answer of the package's firmware.
func (p ModemPackage) Revision() string { return "mfw_" + p.Family + "_" + p.Version }

// ReadModemPackage checks a package's name and shape the way the board's bootloader would
// refuse a wrong one.
func ReadModemPackage(path string) (ModemPackage, error) {
	pkg, err := ReadModemPackageName(filepath.Base(path))
	if err != nil {
		return ModemPackage{}, err
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		return ModemPackage{}, fmt.Errorf("sim: modem firmware package: %w", err)
	}
	defer zr.Close()
	seg, dig := false, false
	for _, f := range zr.File {
		switch n := filepath.Base(f.Name); {
		case n == "firmware.update.image.digest.txt":
			dig = true
		case strings.HasPrefix(n, "firmware.update.image.segments.") && strings.HasSuffix(n, ".hex"):
			seg = true
		}
	}
	if !seg || !dig {
		return ModemPackage{}, errors.New("sim: the package holds no modem update image (segments and digest)")
	}
	return pkg, nil
}

// WriteModemPackage writes a small package of the documented shape into dir for tests and the
// demo: mfw_<family>_<version>.zip with two segment files and a digest file. Its contents are
// placeholders; only the name and the shape matter to the model.
func WriteModemPackage(dir, family, version string) (string, error) {
	path := filepath.Join(dir, "mfw_"+family+"_"+version+".zip")
	if _, err := ReadModemPackageName(filepath.Base(path)); err != nil {
		return "", err
	}
	f, err := os.Create(path)
	if err != nil {
		return "", fmt.Errorf("sim: %w", err)
	}
	zw := zip.NewWriter(f)
	files := []struct{ name, body string }{
		{"firmware.update.image.segments.0.hex", ":0400000500000000F7\n:00000001FF\n"},
		{"firmware.update.image.segments.1.hex", ":0400000500000000F7\n:00000001FF\n"},
		{"firmware.update.image.digest.txt", "nrfsim placeholder digest of mfw_" + family + "_" + version + "\n"},
	}
	for _, e := range files {
		w, err := zw.Create(e.name)
		if err == nil {
			_, err = w.Write([]byte(e.body))
		}
		if err != nil {
			f.Close()
			return "", fmt.Errorf("sim: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return "", fmt.Errorf("sim: %w", err)
	}
	return path, f.Close()
}

// ReadModemPackageName parses a package file name.
func ReadModemPackageName(name string) (ModemPackage, error) {
	m := simModemPackageName.FindStringSubmatch(name)
	if m == nil {
		return ModemPackage{}, fmt.Errorf("sim: %q is not a modem firmware package name (mfw_nrf9160_<version>.zip or mfw_nrf91x1_<version>.zip)", name)
	}
	return ModemPackage{Family: m[1], Version: m[2]}, nil
}

// profileFamily is the package family a profile's firmware belongs to.
func profileFamily(p Profile) string {
	if strings.HasPrefix(p.Name, "mfw_nrf91x1_") {
		return "nrf91x1"
	}
	return "nrf9160"
}

// profileForRevision finds the profile of a modem firmware revision: the profile of exactly that
// version, else of its major.minor series (1.3.6 → mfw_nrf9160_1.3.x); Revision is set to it.
func profileForRevision(rev string) (Profile, error) {
	rest, ok := strings.CutPrefix(rev, "mfw_")
	family, version, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 {
		return Profile{}, fmt.Errorf("sim: modem firmware %q", rev)
	}
	if p, err := LookupProfile(rev); err == nil {
		return p, nil
	}
	parts := strings.SplitN(version, ".", 3)
	if len(parts) == 3 {
		if p, err := LookupProfile("mfw_" + family + "_" + parts[0] + "." + parts[1] + ".x"); err == nil {
			p.Revision = rev
			return p, nil
		}
	}
	return Profile{}, fmt.Errorf("sim: no profile models modem firmware %s (known: %s)", rev, strings.Join(ProfileNames(), ", "))
}

// ProgramModem programs a modem firmware package through the debug probe: the board's modem
// then runs that firmware (its profile switches), a broken credential store is healed, and the
// board resets. The credentials stay.
func (b *Board) ProgramModem(ctx context.Context, path string) error {
	pkg, err := ReadModemPackage(path)
	if err != nil {
		return err
	}
	prof, err := profileForRevision(pkg.Revision())
	if err != nil {
		return err
	}
	return b.call(ctx, func() error {
		if !b.powered {
			return errUnplugged
		}
		if have := profileFamily(b.prof); have != pkg.Family {
			return fmt.Errorf("sim: the package is for %s, this board's modem is %s (%s)", pkg.Family, have, b.prof.Model)
		}
		b.nvm.modemRevision = pkg.Revision()
		b.nvm.brokenStorage = false
		if err := b.nvm.save(); err != nil {
			return err
		}
		b.setProfile(prof)
		b.boot(false)
		return nil
	})
}

// setProfile switches the modem firmware the board runs.
func (b *Board) setProfile(p Profile) {
	b.prof = p
	b.modem.prof = p
}

// breakStorage makes the credential store hang every write and delete, until the modem firmware
// is programmed again.
func (b *Board) breakStorage() error {
	b.nvm.brokenStorage = true
	return b.nvm.save()
}
