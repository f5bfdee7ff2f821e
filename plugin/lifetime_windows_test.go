package plugin

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/windows"
)

// The test binary doubles as the host and the plugin of TestPluginDiesWithHost: a "host"
// joins the job as Host.Start does (or not, for the control), starts a "plugin" that would
// run for minutes, prints its pid and waits to be killed.
func TestMain(m *testing.M) {
	switch os.Getenv("NRFPROV_LIFETIME_ROLE") {
	case "host", "host-nojob":
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "NRFPROV_LIFETIME_ROLE=plugin")
		if os.Getenv("NRFPROV_LIFETIME_ROLE") == "host" {
			if err := dieWithParent(cmd); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
		}
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Println(cmd.Process.Pid)
		_ = cmd.Wait()
		os.Exit(0)
	case "plugin":
		time.Sleep(5 * time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startHost runs a host in role and returns it and a handle on its plugin.
func startHost(t *testing.T, role string) (*exec.Cmd, windows.Handle) {
	t.Helper()
	host := exec.Command(os.Args[0])
	host.Env = append(os.Environ(), "NRFPROV_LIFETIME_ROLE="+role)
	host.Stderr = os.Stderr
	out, err := host.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = host.Process.Kill(); _ = host.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("host %s: no plugin pid: %v", role, err)
	}
	pid, err := strconv.Atoi(line[:len(line)-1])
	if err != nil {
		t.Fatalf("host %s printed %q", role, line)
	}
	h, err := windows.OpenProcess(windows.SYNCHRONIZE|windows.PROCESS_TERMINATE, false, uint32(pid))
	if err != nil {
		t.Fatalf("open plugin %d: %v", pid, err)
	}
	t.Cleanup(func() { _ = windows.TerminateProcess(h, 1); _ = windows.CloseHandle(h) })
	return host, h
}

// A plugin dies when its host is killed (TerminateProcess: no chance to clean up), and
// without the job it would not: the control shows the test can fail.
func TestPluginDiesWithHost(t *testing.T) {
	host, plugin := startHost(t, "host")
	if err := host.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = host.Wait()
	if ev, err := windows.WaitForSingleObject(plugin, 30_000); ev != windows.WAIT_OBJECT_0 {
		t.Fatalf("plugin still running 30 s after its host was killed (wait %#x, %v)", ev, err)
	}

	host, plugin = startHost(t, "host-nojob")
	if err := host.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = host.Wait()
	if ev, _ := windows.WaitForSingleObject(plugin, 1_000); ev != uint32(windows.WAIT_TIMEOUT) {
		t.Fatalf("control: without the job the plugin ended with its host too (wait %#x): the test proves nothing here", ev)
	}
}
