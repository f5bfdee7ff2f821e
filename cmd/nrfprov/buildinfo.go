package main

import "runtime/debug"

// commit is set at build time with -ldflags "-X main.commit=<git revision>" (scripts/release.sh).
var commit string

// nrfprovCommit is the revision nrfprov was built from: the stamped one, else the one the Go
// toolchain recorded (a build in a git checkout; "+dirty" when it had changes), else "unknown"
// (go install of a module version records none).
func nrfprovCommit() string {
	if commit != "" {
		return commit
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, dirty string
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision":
				rev = s.Value
			case s.Key == "vcs.modified" && s.Value == "true":
				dirty = "+dirty"
			}
		}
		if rev != "" {
			return rev + dirty
		}
	}
	return "unknown"
}
