package flash

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
)

// elf32 builds a minimal little-endian ARM ELF executable with one PT_LOAD segment holding data
// at addr (physical = virtual), the way an arm-none-eabi link of a Zephyr image lays out flash.
// With no data the segment is all .bss (Filesz 0).
func elf32(addr uint32, data []byte) []byte {
	const ehsize, phsize = 52, 32
	var b bytes.Buffer
	h := elf.Header32{
		Type: uint16(elf.ET_EXEC), Machine: uint16(elf.EM_ARM), Version: uint32(elf.EV_CURRENT),
		Entry: addr, Phoff: ehsize, Ehsize: ehsize, Phentsize: phsize, Phnum: 1, Shentsize: 40,
	}
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS32)
	h.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	h.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	binary.Write(&b, binary.LittleEndian, h)
	memsz := uint32(len(data))
	if memsz == 0 {
		memsz = 64
	}
	p := elf.Prog32{
		Type: uint32(elf.PT_LOAD), Off: ehsize + phsize, Vaddr: addr, Paddr: addr,
		Filesz: uint32(len(data)), Memsz: memsz, Flags: uint32(elf.PF_R | elf.PF_X), Align: 4,
	}
	binary.Write(&b, binary.LittleEndian, p)
	b.Write(data)
	return b.Bytes()
}
