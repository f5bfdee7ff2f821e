package e2e

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNrfsimRelativeRunDirPorts: the README's tour typed into a shell, with relative paths:
// `nrfsim --boards 8 --run-dir run8`, then
// `NRFPROV_SYSFS_ROOT=run8/sys NRFPROV_DEV_ROOT=run8/dev nrfprov ports` in the same directory
// lists all eight (it used to say "no boards found": the USB tree's links pointed nowhere). After
// SIGTERM the same command lists none: nrfsim leaves no stale tree behind.
func TestNrfsimRelativeRunDirPorts(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sim := exec.CommandContext(ctx, nrfsimBin, "--boards", "8", "--run-dir", "run8", "--ready-delay", "10ms")
	sim.Dir = work
	stdout, err := sim.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var simErr bytes.Buffer
	sim.Stderr = &simErr
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if sim.ProcessState == nil {
			_ = sim.Process.Kill()
			_ = sim.Wait()
		}
	})
	sc := bufio.NewScanner(stdout)
	for i := 0; i < 8; i++ {
		if !sc.Scan() {
			t.Fatalf("nrfsim printed %d board lines; stderr:\n%s", i, simErr.String())
		}
	}

	ports := func() cliResult {
		t.Helper()
		return runNrfprovIn(t, work, []string{"NRFPROV_SYSFS_ROOT=run8/sys", "NRFPROV_DEV_ROOT=run8/dev"}, "", "ports", "--json")
	}
	r := ports()
	var got struct {
		Boards []struct {
			SerialNumber string `json:"serial_number"`
			VCOM0        string `json:"vcom0"`
		} `json:"boards"`
	}
	if r.code != 0 {
		t.Fatalf("ports with a relative run dir: exit %d\n%s", r.code, r.stderr)
	}
	decode(t, r.stdout, "ports", &got)
	if len(got.Boards) != 8 || got.Boards[0].SerialNumber != "000960000001" || got.Boards[7].SerialNumber != "000960000008" {
		t.Fatalf("ports: %+v", got.Boards)
	}
	for _, b := range got.Boards {
		if _, err := os.Stat(filepath.Join(work, b.VCOM0)); err != nil && !filepath.IsAbs(b.VCOM0) {
			t.Fatalf("%s: vcom0 %q does not open from the working directory: %v", b.SerialNumber, b.VCOM0, err)
		}
	}

	if err := sim.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := sim.Wait(); err != nil {
		t.Fatalf("nrfsim after SIGTERM: %v\n%s", err, simErr.String())
	}
	for _, tree := range []string{"sys", "dev"} {
		if _, err := os.Stat(filepath.Join(work, "run8", tree)); !os.IsNotExist(err) {
			t.Fatalf("run8/%s after SIGTERM: %v", tree, err)
		}
	}
	// With the tree gone nrfprov says the sysfs root has no tty class (a real /sys always has
	// one): nothing stale is listed.
	if r := ports(); r.code == 0 || strings.Contains(r.stdout, "000960000001") || !strings.Contains(r.stderr, "run8/sys/class/tty") {
		t.Fatalf("ports after nrfsim stopped: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}
