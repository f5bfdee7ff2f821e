package at

import (
	"reflect"
	"testing"
)

func TestParseFinal(t *testing.T) {
	cases := []struct {
		in   string
		want Final
		ok   bool
	}{
		{"OK", Final{Kind: FinalOK}, true},
		{" OK ", Final{Kind: FinalOK}, true},
		{"ERROR", Final{Kind: FinalError}, true},
		{"+CME ERROR: 518", Final{Kind: FinalCME, Code: 518}, true},
		{"+CME ERROR:513", Final{Kind: FinalCME, Code: 513}, true},
		{"+CMS ERROR: 500", Final{Kind: FinalCMS, Code: 500}, true},
		{"+CME ERROR: x", Final{}, false},
		{"OKAY", Final{}, false},
		{"%CMNG: 1,0,\"OK\"", Final{}, false},
		{"ERROR: AT command failed: -8", Final{}, false},
		{"", Final{}, false},
	}
	for _, c := range cases {
		got, ok := ParseFinal(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseFinal(%q) = %+v, %v; want %+v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestCommandName(t *testing.T) {
	for in, want := range map[string]string{
		"AT%CMNG=1":      "%CMNG",
		"at+cgsn":        "+CGSN",
		"AT+CFUN?":       "+CFUN",
		"AT+CFUN=?":      "+CFUN",
		"AT":             "",
		"ATE0":           "E0",
		"hello":          "",
		" AT%KEYGEN=1,2": "%KEYGEN",
	} {
		if got := CommandName(in); got != want {
			t.Errorf("CommandName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIsURC(t *testing.T) {
	cases := []struct {
		line, cmd string
		want      bool
	}{
		{"+CEREG: 2", "%CMNG", true},
		{"+CEREG: 2,\"1A2B\",\"01234567\",7", "+CEREG", false}, // the answer to AT+CEREG?
		{"%CESQ: 54,2,16,2", "", true},
		{"%XSIM: 1", "+CFUN", true},
		{"%CMNG: 1,0,\"AB\"", "%CMNG", false},
		{"352656100367872", "+CGSN", false},
	}
	for _, c := range cases {
		if got := IsURC(c.line, c.cmd); got != c.want {
			t.Errorf("IsURC(%q, %q) = %v, want %v", c.line, c.cmd, got, c.want)
		}
	}
}

func TestSplitter(t *testing.T) {
	var s Splitter
	var got []string
	for _, chunk := range []string{"%CMNG: 1,0,\"AB\",\"-----BEGIN\r\nxyz", "\n-----END\r\n\"\r", "\nOK\r\n\r\n+CEREG: 1\nAT\rOK", "\r\n"} {
		got = append(got, s.Feed([]byte(chunk))...)
	}
	want := []string{"%CMNG: 1,0,\"AB\",\"-----BEGIN\r\nxyz\n-----END\r\n\"", "OK", "+CEREG: 1", "AT", "OK"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("lines %q\nwant %q", got, want)
	}
	s.Feed([]byte(`%CMNG: 1,0,"AB","-----BEGIN`))
	if p, q := s.Partial(); p != `%CMNG: 1,0,"AB","-----BEGIN` || !q {
		t.Fatalf("partial %q in quotes %v", p, q)
	}
	s.Reset()
	if p, q := s.Partial(); p != "" || q {
		t.Fatalf("after reset: %q %v", p, q)
	}
}

func TestShellLine(t *testing.T) {
	cases := map[string]string{
		"AT+CGSN":                     `at 'AT+CGSN'`,
		"AT%CMNG=0,1,0,\"a\r\nb\nc\"": `at 'AT%CMNG=0,1,0,"a\nb\nc"'`,
		"AT%XYZ=\"it's\"":             `at 'AT%XYZ="it\'s"'`,
	}
	for in, want := range cases {
		if got := ShellLine(in); got != want {
			t.Errorf("ShellLine(%q) = %q, want %q", in, got, want)
		}
	}
	if got := ShellStored("a\nb\r\nc\n"); got != "a\r\nb\r\nc\r\n" {
		t.Errorf("ShellStored = %q", got)
	}
}

func TestTimingDeadline(t *testing.T) {
	tm := Timing{Baud: 115200, Latency: 100e6, WriteLatency: 1e9, Slack: 2}
	// 1152 bytes at 115200 baud take 100 ms; slack 2 makes 200 ms, plus 100 ms latency.
	if got := tm.Deadline(1152, 0, false); got != 300e6 {
		t.Fatalf("deadline %v, want 300ms", got)
	}
	if got := tm.Deadline(1152, 0, true); got != 1300e6 {
		t.Fatalf("write deadline %v, want 1.3s", got)
	}
	if got := (Timing{}).WireTime(11520); got != 1e9 {
		t.Fatalf("default baud wire time %v, want 1s", got)
	}
}

func TestParseNames(t *testing.T) {
	for s, want := range map[string]Terminator{"cr": TermCR, "LF": TermLF, "crlf": TermCRLF, "nul": TermNUL, "NULL": TermNUL} {
		got, ok := ParseTerminator(s)
		if back, _ := ParseTerminator(got.String()); !ok || got != want || back != got {
			t.Errorf("ParseTerminator(%q) = %v, %v", s, got, ok)
		}
	}
	if _, ok := ParseTerminator("semicolon"); ok {
		t.Error("semicolon accepted")
	}
	if TermNUL.Bytes() != "\x00" {
		t.Errorf("NUL terminator bytes %q", TermNUL.Bytes())
	}
	if d, ok := ParseDialect("shell"); !ok || d != Shell {
		t.Error("shell")
	}
	if _, ok := ParseDialect("xml"); ok {
		t.Error("xml accepted")
	}
}

func TestStripPrompts(t *testing.T) {
	for in, want := range map[string]string{
		"mosh:~$ OK":              "OK",
		"mosh:~$ mosh:~$ ERROR":   "ERROR",
		"uart:~# +CME ERROR: 513": "+CME ERROR: 513",
		"OK":                      "OK",
		`%CMNG: 1,0,"a:~$ b"`:     `%CMNG: 1,0,"a:~$ b"`,
		"MIIB:~$x":                "MIIB:~$x",
	} {
		if got := stripPrompts(in); got != want {
			t.Errorf("stripPrompts(%q) = %q, want %q", in, got, want)
		}
	}
}
