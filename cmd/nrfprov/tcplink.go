package main

// linkBaud is the line speed to ask the transport for. A tcp link's speed belongs to the remote
// end (a serial-to-network bridge, nrfsim --listen), and the tcp transport refuses one, so the
// default --baud is not sent there; a --baud given on the command line still is, and the
// transport says why it refuses.
func (a *app) linkBaud() int {
	if a.bf.transport == "tcp" && !a.flagSet("baud") {
		return 0
	}
	return a.bf.baud
}
