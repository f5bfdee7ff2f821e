package main

import (
	"fmt"
	"io"
)

// version answers `<tool> --version` (nrfjprog also takes -v): nrfjprog "displays the nrfjprog
// and DLL versions" and nrfutil "views the version of nrfutil" (Nordic's command references);
// west prints its own version. The exact wording of each line is [inferred]: nrfprov doctor
// shows the first line as it is and parses none of it. JLinkExe has no such flag.
func version(name string, args []string, stdout io.Writer) (int, bool) {
	if len(args) != 1 || (args[0] != "--version" && !(name == "nrfjprog" && args[0] == "-v")) {
		return 0, false
	}
	switch name {
	case "nrfjprog":
		fmt.Fprintln(stdout, "nrfjprog version: 10.24.2 external (nrfsim stand-in)")
		fmt.Fprintln(stdout, "JLinkARM.dll version: 7.94e")
	case "nrfutil":
		fmt.Fprintln(stdout, "nrfutil 7.13.0 (nrfsim stand-in)")
	case "west":
		fmt.Fprintln(stdout, "West version: v1.2.0 (nrfsim stand-in)")
	default:
		return 0, false
	}
	return 0, true
}
