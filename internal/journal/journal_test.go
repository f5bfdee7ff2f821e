package journal

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestSaveGetClear(t *testing.T) {
	j := Open(filepath.Join(t.TempDir(), "state"))
	const imei = "352656100367872"
	if !j.Empty() {
		t.Fatal("a journal that does not exist yet is not empty")
	}
	if e, err := j.Get(imei); e != nil || err != nil {
		t.Fatalf("Get before Save: %+v, %v", e, err)
	}
	if err := j.Save(imei, 1); err != nil {
		t.Fatal(err)
	}
	// A later change (the board now in nrfprov's mode) keeps the mode the board was found in.
	if err := j.Save(imei, 0); err != nil {
		t.Fatal(err)
	}
	e, err := j.Get(imei)
	if err != nil || e == nil || e.CFUN != 1 || e.IMEI != imei || e.Since.IsZero() {
		t.Fatalf("Get: %+v, %v", e, err)
	}
	if j.Empty() {
		t.Fatal("Empty with an entry")
	}
	if err := j.Save("352656100367880", 21); err != nil {
		t.Fatal(err)
	}
	if err := j.Clear(imei); err != nil {
		t.Fatal(err)
	}
	if e, err := j.Get(imei); e != nil || err != nil {
		t.Fatalf("Get after Clear: %+v, %v", e, err)
	}
	if e, err := j.Get("352656100367880"); err != nil || e == nil || e.CFUN != 21 {
		t.Fatalf("the other board's entry: %+v, %v", e, err)
	}
	if err := j.Clear(imei); err != nil {
		t.Fatalf("Clear twice: %v", err)
	}
	left, _ := filepath.Glob(filepath.Join(j.Dir(), "*"))
	if len(left) != 1 {
		t.Fatalf("files left: %v (temporary files must not stay)", left)
	}
}

func TestRefusesBadIMEIAndDamage(t *testing.T) {
	j := Open(t.TempDir())
	for _, bad := range []string{"", "../../etc/x", "35265610036787a"} {
		if err := j.Save(bad, 1); err == nil {
			t.Errorf("Save(%q): no error", bad)
		}
	}
	const imei = "352656100367872"
	if err := os.WriteFile(filepath.Join(j.Dir(), "cfun-"+imei+".json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Get(imei); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("damaged entry: %v", err)
	}
}

func TestDefaultDir(t *testing.T) {
	t.Setenv(EnvDir, "/x/state")
	if d, err := DefaultDir(); err != nil || d != "/x/state" {
		t.Fatalf("%s set: %q, %v", EnvDir, d, err)
	}
	t.Setenv(EnvDir, "")
	if runtime.GOOS != "linux" {
		return
	}
	t.Setenv("XDG_STATE_HOME", "/xdg")
	if d, err := DefaultDir(); err != nil || d != "/xdg/nrfprov" {
		t.Fatalf("XDG_STATE_HOME: %q, %v", d, err)
	}
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "/home/u")
	if d, err := DefaultDir(); err != nil || d != "/home/u/.local/state/nrfprov" {
		t.Fatalf("default: %q, %v", d, err)
	}
}
