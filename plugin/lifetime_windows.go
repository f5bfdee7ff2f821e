package plugin

import (
	"fmt"
	"os/exec"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Windows has no Pdeathsig. Instead the host puts itself, before its first plugin starts, in a
// Job Object that kills every process in it when its last handle closes. Only the host holds
// that handle, and Windows closes it when the host ends however it ends (TerminateProcess
// included), so plugins started afterwards, which inherit the job, die with the host. Nested
// jobs (Windows 8 and later) let this work when the host already runs inside a job, as under
// a CI runner or a terminal that uses one.

var (
	jobOnce sync.Once
	jobErr  error
)

// dieWithParent makes the plugin die with the host: see above. The command needs no change.
// An error (a job that forbids nesting, say) leaves plugins to Host.Close and go-plugin's
// CleanupClients on a normal exit; it is reported, once, for the host's log.
func dieWithParent(*exec.Cmd) error {
	jobOnce.Do(func() { jobErr = joinKillOnCloseJob() })
	return jobErr
}

func joinKillOnCloseJob() error {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return fmt.Errorf("plugin: create job object: %w", err)
	}
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{}
	info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		windows.CloseHandle(job)
		return fmt.Errorf("plugin: job object kill-on-close: %w", err)
	}
	if err := windows.AssignProcessToJobObject(job, windows.CurrentProcess()); err != nil {
		windows.CloseHandle(job)
		return fmt.Errorf("plugin: join job object: %w", err)
	}
	// The handle stays open for the life of the process: closing it would kill us.
	return nil
}
