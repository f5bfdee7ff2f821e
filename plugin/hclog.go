package plugin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/sirupsen/logrus"
)

// NewHCLogger returns an hclog.Logger that writes through a logrus entry.
// The host gives it to go-plugin, so that go-plugin's own messages and every
// line a plugin logs on stderr land in the host's logrus log, with the
// plugin's fields and at the plugin's level. hclog names become a "logger"
// field; arguments become fields.
func NewHCLogger(entry *logrus.Entry) hclog.Logger {
	return &hcLogger{entry: entry}
}

type hcLogger struct {
	entry *logrus.Entry
	name  string
	args  []any
}

func (l *hcLogger) Log(level hclog.Level, msg string, args ...any) {
	lvl, ok := toLogrusLevel(level)
	if !ok || !l.entry.Logger.IsLevelEnabled(lvl) {
		return
	}
	e := l.entry
	if l.name != "" {
		e = e.WithField("logger", l.name)
	}
	if fs := fields(append(append([]any{}, l.args...), args...)); len(fs) > 0 {
		e = e.WithFields(fs)
	}
	e.Log(lvl, msg)
}

func toLogrusLevel(level hclog.Level) (logrus.Level, bool) {
	switch level {
	case hclog.Trace:
		return logrus.TraceLevel, true
	case hclog.Debug, hclog.NoLevel:
		return logrus.DebugLevel, true
	case hclog.Info:
		return logrus.InfoLevel, true
	case hclog.Warn:
		return logrus.WarnLevel, true
	case hclog.Error:
		return logrus.ErrorLevel, true
	default: // Off
		return 0, false
	}
}

// fields turns hclog's alternating key/value arguments into logrus fields.
func fields(args []any) logrus.Fields {
	if len(args) == 0 {
		return nil
	}
	fs := make(logrus.Fields, len(args)/2+1)
	for i := 0; i < len(args); i += 2 {
		if i+1 == len(args) {
			fs["EXTRA_VALUE_AT_END"] = args[i]
			break
		}
		key := fmt.Sprint(args[i])
		switch v := args[i+1].(type) {
		case hclog.Format:
			fs[key] = fmt.Sprintf(fmt.Sprint(v[0]), v[1:]...)
		case error:
			fs[key] = v.Error()
		default:
			fs[key] = v
		}
	}
	return fs
}

func (l *hcLogger) Trace(msg string, args ...any) { l.Log(hclog.Trace, msg, args...) }
func (l *hcLogger) Debug(msg string, args ...any) { l.Log(hclog.Debug, msg, args...) }
func (l *hcLogger) Info(msg string, args ...any)  { l.Log(hclog.Info, msg, args...) }
func (l *hcLogger) Warn(msg string, args ...any)  { l.Log(hclog.Warn, msg, args...) }
func (l *hcLogger) Error(msg string, args ...any) { l.Log(hclog.Error, msg, args...) }

func (l *hcLogger) IsTrace() bool { return l.entry.Logger.IsLevelEnabled(logrus.TraceLevel) }
func (l *hcLogger) IsDebug() bool { return l.entry.Logger.IsLevelEnabled(logrus.DebugLevel) }
func (l *hcLogger) IsInfo() bool  { return l.entry.Logger.IsLevelEnabled(logrus.InfoLevel) }
func (l *hcLogger) IsWarn() bool  { return l.entry.Logger.IsLevelEnabled(logrus.WarnLevel) }
func (l *hcLogger) IsError() bool { return l.entry.Logger.IsLevelEnabled(logrus.ErrorLevel) }

func (l *hcLogger) ImpliedArgs() []any { return l.args }

func (l *hcLogger) With(args ...any) hclog.Logger {
	return &hcLogger{entry: l.entry, name: l.name, args: append(append([]any{}, l.args...), args...)}
}

func (l *hcLogger) Name() string { return l.name }

func (l *hcLogger) Named(name string) hclog.Logger {
	if l.name != "" {
		name = l.name + "." + name
	}
	return &hcLogger{entry: l.entry, name: name, args: l.args}
}

func (l *hcLogger) ResetNamed(name string) hclog.Logger {
	return &hcLogger{entry: l.entry, name: name, args: l.args}
}

// SetLevel does nothing: the level belongs to the host's logrus logger.
func (l *hcLogger) SetLevel(hclog.Level) {}

// GetLevel reports the logrus level, so go-plugin skips parsing plugin lines
// the host would drop.
func (l *hcLogger) GetLevel() hclog.Level {
	switch l.entry.Logger.GetLevel() {
	case logrus.TraceLevel:
		return hclog.Trace
	case logrus.DebugLevel:
		return hclog.Debug
	case logrus.InfoLevel:
		return hclog.Info
	case logrus.WarnLevel:
		return hclog.Warn
	default:
		return hclog.Error
	}
}

func (l *hcLogger) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(l.StandardWriter(opts), "", 0)
}

func (l *hcLogger) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	level := hclog.Info
	if opts != nil && opts.ForceLevel != hclog.NoLevel {
		level = opts.ForceLevel
	}
	return &stdWriter{l: l, level: level}
}

// stdWriter logs each Write as one message.
type stdWriter struct {
	l     *hcLogger
	level hclog.Level
}

func (w *stdWriter) Write(p []byte) (int, error) {
	w.l.Log(w.level, strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// HCLogJSONFormatter formats logrus entries as hclog JSON lines, the format
// go-plugin's host parses from a plugin's stderr: "@level", "@message",
// "@timestamp", then the fields.
type HCLogJSONFormatter struct{}

func (HCLogJSONFormatter) Format(e *logrus.Entry) ([]byte, error) {
	m := make(map[string]any, len(e.Data)+3)
	for k, v := range e.Data {
		if err, ok := v.(error); ok {
			v = err.Error()
		}
		m[k] = v
	}
	level := e.Level.String()
	switch e.Level {
	case logrus.WarnLevel:
		level = "warn"
	case logrus.FatalLevel, logrus.PanicLevel:
		level = "error"
	}
	m["@level"] = level
	m["@message"] = e.Message
	m["@timestamp"] = e.Time.Format("2006-01-02T15:04:05.000000Z07:00")
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(m); err != nil {
		return nil, fmt.Errorf("plugin: format log entry: %w", err)
	}
	return b.Bytes(), nil
}

// DiscardLog is a log entry that goes nowhere, for callers that pass none.
func DiscardLog() *logrus.Entry {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return logrus.NewEntry(l)
}
