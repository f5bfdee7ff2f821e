package gdb

import (
	"bufio"
	"fmt"
	"io"
)

// maxPacket bounds what ReadPacket accepts, against a runaway stream.
const maxPacket = 1 << 20

// Frame wraps data as a packet: '$', the data with '#', '$', '}' and '*' escaped, '#' and the
// two-hex-digit modulo-256 sum of the data as sent.
func Frame(data []byte) []byte {
	esc := Escape(data)
	out := make([]byte, 0, len(esc)+4)
	out = append(out, '$')
	out = append(out, esc...)
	var sum byte
	for _, b := range esc {
		sum += b
	}
	return append(out, '#', hexDigit(sum>>4), hexDigit(sum&0xf))
}

func hexDigit(v byte) byte { return "0123456789abcdef"[v] }

// Escape escapes the bytes the protocol reserves: '}' followed by the byte XOR 0x20.
func Escape(data []byte) []byte {
	out := make([]byte, 0, len(data))
	for _, b := range data {
		switch b {
		case '#', '$', '}', '*':
			out = append(out, '}', b^0x20)
		default:
			out = append(out, b)
		}
	}
	return out
}

// Unescape reverses Escape and expands run-length encoding ("X*n": X repeated n-29 more times),
// which servers may use in replies.
func Unescape(data []byte) ([]byte, error) {
	out := make([]byte, 0, len(data))
	for i := 0; i < len(data); i++ {
		switch c := data[i]; c {
		case '}':
			if i+1 >= len(data) {
				return nil, fmt.Errorf("%w: escape at the end of a packet", ErrProtocol)
			}
			i++
			out = append(out, data[i]^0x20)
		case '*':
			if len(out) == 0 || i+1 >= len(data) {
				return nil, fmt.Errorf("%w: run-length code without a byte to repeat", ErrProtocol)
			}
			i++
			n := int(data[i]) - 29
			if n < 0 || n > 126 {
				return nil, fmt.Errorf("%w: run length %d", ErrProtocol, n)
			}
			last := out[len(out)-1]
			for ; n > 0; n-- {
				out = append(out, last)
			}
		default:
			out = append(out, c)
		}
	}
	return out, nil
}

// ReadPacket reads up to and including the next packet, skipping acks and noise before its '$'.
// ok reports whether the checksum matched. A notification ('%') is read like a packet.
func ReadPacket(r *bufio.Reader) (data []byte, ok bool, err error) {
	for {
		b, err := r.ReadByte()
		if err != nil {
			return nil, false, readErr(err)
		}
		if b == '$' || b == '%' {
			break
		}
	}
	var raw []byte
	var sum byte
	for {
		b, err := r.ReadByte()
		if err != nil {
			return nil, false, readErr(err)
		}
		if b == '#' {
			break
		}
		if len(raw) >= maxPacket {
			return nil, false, fmt.Errorf("%w: packet longer than %d bytes", ErrProtocol, maxPacket)
		}
		raw = append(raw, b)
		sum += b
	}
	var cs [2]byte
	if _, err := io.ReadFull(r, cs[:]); err != nil {
		return nil, false, readErr(err)
	}
	want, perr := parseHexByte(cs)
	data, uerr := Unescape(raw)
	if uerr != nil {
		return nil, false, uerr
	}
	return data, perr == nil && want == sum, nil
}

func parseHexByte(cs [2]byte) (byte, error) {
	var v byte
	for _, c := range cs {
		v <<= 4
		switch {
		case c >= '0' && c <= '9':
			v |= c - '0'
		case c >= 'a' && c <= 'f':
			v |= c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v |= c - 'A' + 10
		default:
			return 0, fmt.Errorf("%w: checksum %q", ErrProtocol, cs[:])
		}
	}
	return v, nil
}

func readErr(err error) error {
	if err == io.EOF {
		return fmt.Errorf("gdb: the server closed the connection: %w", err)
	}
	return fmt.Errorf("gdb: read: %w", err)
}
