package plugin

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

func TestHCLoggerWritesThroughLogrus(t *testing.T) {
	logger, hook := logtest.NewNullLogger()
	logger.SetLevel(logrus.InfoLevel)
	hl := NewHCLogger(logrus.NewEntry(logger).WithField("transport", "serial"))

	hl.Debug("dropped below the host's level")
	hl.Named("nrfprov").Named("stdio").With("pid", 42).Warn("plugin said", "port", "/dev/ttyACM0",
		"err", errors.New("boom"), "fmt", hclog.Fmt("%d%%", 50), "odd")
	if len(hook.AllEntries()) != 1 {
		t.Fatalf("%d entries, want 1 (debug dropped)", len(hook.AllEntries()))
	}
	e := hook.LastEntry()
	want := logrus.Fields{"transport": "serial", "logger": "nrfprov.stdio", "pid": 42, "port": "/dev/ttyACM0",
		"err": "boom", "fmt": "50%", "EXTRA_VALUE_AT_END": "odd"}
	if e.Level != logrus.WarnLevel || e.Message != "plugin said" {
		t.Fatalf("entry %v %q", e.Level, e.Message)
	}
	for k, v := range want {
		if e.Data[k] != v {
			t.Errorf("field %s = %#v, want %#v", k, e.Data[k], v)
		}
	}
	if hl.GetLevel() != hclog.Info || hl.IsDebug() || !hl.IsWarn() {
		t.Errorf("level reporting: %v", hl.GetLevel())
	}
	hl.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Error}).Print("from the log package")
	if e := hook.LastEntry(); e.Level != logrus.ErrorLevel || e.Message != "from the log package" {
		t.Errorf("standard logger entry: %v %q", e.Level, e.Message)
	}
}

func TestHCLogJSONFormatter(t *testing.T) {
	at := time.Date(2026, 11, 28, 23, 0, 0, 123456000, time.UTC)
	e := &logrus.Entry{Logger: logrus.New(), Level: logrus.WarnLevel, Message: "port gone", Time: at,
		Data: logrus.Fields{"port": "/dev/ttyACM0", "error": errors.New("EIO")}}
	line, err := HCLogJSONFormatter{}.Format(e)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(line), "}\n") || strings.Count(string(line), "\n") != 1 {
		t.Fatalf("not one JSON line: %q", line)
	}
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatal(err)
	}
	// The keys and the timestamp layout go-plugin's host parser expects.
	want := map[string]any{"@level": "warn", "@message": "port gone", "@timestamp": "2026-11-28T23:00:00.123456Z",
		"port": "/dev/ttyACM0", "error": "EIO"}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %#v, want %#v", k, m[k], v)
		}
	}
	if hclog.LevelFromString(m["@level"].(string)) != hclog.Warn {
		t.Errorf("hclog does not read level %q as warn", m["@level"])
	}
}
