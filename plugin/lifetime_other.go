//go:build !linux && !windows

package plugin

import "os/exec"

// dieWithParent has no equivalent of Linux's Pdeathsig here: plugins are
// killed by Host.Close and by go-plugin's CleanupClients on a normal exit.
func dieWithParent(*exec.Cmd) error { return nil }
