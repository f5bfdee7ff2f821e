package main

// linkBaud is the line speed to ask the transport for. A tcp link's speed belongs to the remote
// end (a serial-to-network bridge, nrfsim --listen), and the tcp transport refuses one, so the
// default --baud is not sent there; a --baud given on the command line (or a manifest's
// board.baud) still is, and device.Open refuses it for a transport without the baud capability.
func (a *app) linkBaud() int {
	if a.bf.transport == "tcp" && !a.flagSet("baud") && !a.bf.baudSet {
		return 0
	}
	return a.bf.baud
}
