package plugin

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel SIGKILL the plugin when the host dies, even
// by SIGKILL, which leaves no chance to run Kill. (Pdeathsig follows the
// thread that forked; the Go runtime keeps its threads alive unless a
// goroutine exits while locked to one, which nrfprov never does.)
func dieWithParent(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	return nil
}
