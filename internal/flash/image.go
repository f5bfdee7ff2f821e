package flash

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/marcinbor85/gohex"
)

// Segment is a run of bytes at a load address.
type Segment struct {
	Addr uint32
	Data []byte
}

// Image is a firmware image read from an Intel HEX or ELF file.
type Image struct {
	Path     string
	Format   string // "hex" or "elf"
	Segments []Segment
	Size     int    // data bytes
	SHA256   string // over each segment's address (big endian) and bytes, in address order
}

// LoadImage reads an Intel HEX file (gohex) or an ELF file (its PT_LOAD segments with data, at
// their load addresses). A missing file, a malformed one, or one without data is ErrImage.
func LoadImage(path string) (*Image, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrImage, err)
	}
	img := &Image{Path: path}
	if bytes.HasPrefix(raw, []byte(elf.ELFMAG)) {
		img.Format = "elf"
		img.Segments, err = elfSegments(raw)
	} else {
		img.Format = "hex"
		img.Segments, err = hexSegments(raw)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrImage, path, err)
	}
	if len(img.Segments) == 0 {
		return nil, fmt.Errorf("%w: %s: no data to program", ErrImage, path)
	}
	h := sha256.New()
	for _, s := range img.Segments {
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], s.Addr)
		h.Write(a[:])
		h.Write(s.Data)
		img.Size += len(s.Data)
	}
	img.SHA256 = hex.EncodeToString(h.Sum(nil))
	return img, nil
}

func hexSegments(raw []byte) ([]Segment, error) {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.TrimSpace(raw)[0] != ':' {
		return nil, fmt.Errorf("neither Intel HEX (a line starting with ':') nor ELF")
	}
	mem := gohex.NewMemory()
	if err := mem.ParseIntelHex(bytes.NewReader(raw)); err != nil {
		return nil, fmt.Errorf("intel hex: %w", err)
	}
	var segs []Segment
	for _, s := range mem.GetDataSegments() {
		segs = append(segs, Segment{Addr: s.Address, Data: s.Data})
	}
	return segs, nil
}

func elfSegments(raw []byte) ([]Segment, error) {
	f, err := elf.NewFile(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("elf: %w", err)
	}
	defer f.Close()
	mem := gohex.NewMemory()
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD || p.Filesz == 0 {
			continue
		}
		if p.Paddr+p.Filesz > 1<<32 {
			return nil, fmt.Errorf("elf: segment at 0x%x does not fit 32-bit addresses", p.Paddr)
		}
		data, err := io.ReadAll(io.LimitReader(p.Open(), int64(p.Filesz)))
		if err != nil {
			return nil, fmt.Errorf("elf: segment at 0x%x: %w", p.Paddr, err)
		}
		// The load (physical) address is where the bytes go into flash.
		if err := mem.AddBinary(uint32(p.Paddr), data); err != nil {
			return nil, fmt.Errorf("elf: segment at 0x%x: %w", p.Paddr, err)
		}
	}
	var segs []Segment
	for _, s := range mem.GetDataSegments() {
		segs = append(segs, Segment{Addr: s.Address, Data: s.Data})
	}
	return segs, nil
}

// HexText renders the image as Intel HEX (what tools that take only HEX get for an ELF).
func (img *Image) HexText() (string, error) {
	mem := gohex.NewMemory()
	for _, s := range img.Segments {
		if err := mem.AddBinary(s.Addr, s.Data); err != nil {
			return "", fmt.Errorf("%w: %s: %w", ErrImage, img.Path, err)
		}
	}
	var b strings.Builder
	if err := mem.DumpIntelHex(&b, 16); err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrImage, img.Path, err)
	}
	return b.String(), nil
}

// Describe is a one-line summary for logs and dry runs.
func (img *Image) Describe() string {
	lo, hi := img.Segments[0].Addr, uint32(0)
	for _, s := range img.Segments {
		if end := s.Addr + uint32(len(s.Data)); end > hi {
			hi = end
		}
	}
	return fmt.Sprintf("%s (%s, %d bytes in %d segments, 0x%08x-0x%08x, sha256 %s)",
		filepath.Base(img.Path), img.Format, img.Size, len(img.Segments), lo, hi, img.SHA256[:16])
}
