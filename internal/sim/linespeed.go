package sim

// The host's line speed. A pseudo-terminal carries no real signal, but it keeps the speed the
// host set with tcsetattr; with the "line_speed" fault on, the board compares it with its own
// baud rate, and a mismatch garbles every byte both ways, as a UART sampling at the wrong rate
// does: the receiver sees framing errors and bytes that are not the ones sent.

// garble is what a byte sent at one rate looks like sampled at another: never the byte sent,
// never a line break or a quote (the high bit set), so nothing on either side ever sees a line.
func garble(p []byte) []byte {
	out := make([]byte, len(p))
	for i, c := range p {
		out[i] = (c ^ 0x55) | 0x80
	}
	return out
}

// checkLineSpeed runs on the loop with received bytes: with the fault on it records whether the
// host's speed differs from the board's, and garbles the input if so.
func (b *Board) checkLineSpeed(port *vcom, data []byte) []byte {
	f := &b.faults
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.lineSpeed {
		f.speedMismatch = false
		return data
	}
	host := port.hostSpeed()
	f.speedMismatch = host != 0 && host != b.cfg.Baud
	if f.speedMismatch {
		f.stats.GarbledBytes += uint64(len(data))
		return garble(data)
	}
	return data
}
