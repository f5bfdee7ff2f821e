package sim

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/marcinbor85/gohex"
)

// imageMarkers are strings a firmware image contains because its code prints them; they tell the
// personality of a hex file the way a person would recognise it from the boot output.
var imageMarkers = []struct {
	marker      string
	personality Personality
}{
	{"The AT host sample started", ATClient},
	{"MOSH version", ModemShell},
	{"Serial LTE Modem", SerialLTEModem},
}

// flashBase is where nRF91 non-secure application images usually start (after TF-M).
const flashBase = 0x00008000

// ReadFirmwareHex reads an Intel HEX file and identifies it: the SHA-256 over its data (address
// and bytes of every segment) and the personality its strings give away. An image without any
// known AT host is an application.
func ReadFirmwareHex(path string) (FirmwareImage, error) {
	f, err := os.Open(path)
	if err != nil {
		return FirmwareImage{}, fmt.Errorf("sim: firmware image: %w", err)
	}
	defer f.Close()
	mem := gohex.NewMemory()
	if err := mem.ParseIntelHex(f); err != nil {
		return FirmwareImage{}, fmt.Errorf("sim: firmware image %s: %w", path, err)
	}
	segs := mem.GetDataSegments()
	if len(segs) == 0 {
		return FirmwareImage{}, fmt.Errorf("sim: firmware image %s: no data records", path)
	}
	h := sha256.New()
	img := FirmwareImage{Personality: Application, ImageName: filepath.Base(path)}
	found := false
	for _, s := range segs {
		var addr [4]byte
		binary.BigEndian.PutUint32(addr[:], s.Address)
		h.Write(addr[:])
		h.Write(s.Data)
		for _, m := range imageMarkers {
			if !found && bytes.Contains(s.Data, []byte(m.marker)) {
				img.Personality = m.personality
				found = true
			}
		}
	}
	img.ImageSHA256 = hex.EncodeToString(h.Sum(nil))
	return img, nil
}

// WriteFirmwareHex writes a small Intel HEX image that identifies as personality p (it holds
// the strings that firmware prints), with tag making images of the same personality differ.
// Tests and stand-in flash tools use it in place of real builds.
func WriteFirmwareHex(w io.Writer, p Personality, tag string) error {
	if _, err := ParsePersonality(string(p)); err != nil {
		return err
	}
	var data bytes.Buffer
	// A vector table's worth of plausible bytes, then the strings.
	data.Write([]byte{0x00, 0x00, 0x04, 0x20, 0x99, 0x82, 0x00, 0x00})
	for _, m := range imageMarkers {
		if m.personality == p {
			data.WriteString(m.marker + "\x00")
		}
	}
	data.WriteString("nrfsim image: " + string(p) + " " + tag + "\x00")
	mem := gohex.NewMemory()
	if err := mem.AddBinary(flashBase, data.Bytes()); err != nil {
		return fmt.Errorf("sim: firmware image: %w", err)
	}
	mem.SetStartAddress(flashBase)
	if err := mem.DumpIntelHex(w, 16); err != nil {
		return fmt.Errorf("sim: firmware image: %w", err)
	}
	return nil
}
