package sim

import (
	"reflect"
	"strings"
	"testing"
)

// feedAll runs input through a receive machine and returns the lines it sends and the echo.
func feedAll(r lineRX, input string) (lines []string, echo string) {
	for i := 0; i < len(input); i++ {
		l, send, e := r.feed(input[i])
		echo += string(e)
		if send {
			lines = append(lines, string(l))
		}
	}
	return lines, echo
}

func TestATHostRX(t *testing.T) {
	cases := []struct {
		name  string
		term  Termination
		limit int
		in    string
		want  []string
		quote bool // still inside quotes at the end
	}{
		{name: "cr ends", term: TermCR, in: "AT\rAT+CGSN\r", want: []string{"AT", "AT+CGSN"}},
		{name: "lf stored in cr mode", term: TermCR, in: "AT\r\nAT\r", want: []string{"AT", "\nAT"}},
		{name: "crlf keeps the cr", term: TermCRLF, in: "AT\r\n", want: []string{"AT\r"}},
		{name: "crlf needs the pair", term: TermCRLF, in: "A\nT\r\n", want: []string{"A\nT\r"}},
		{name: "lf mode", term: TermLF, in: "AT\r\n", want: []string{"AT\r"}},
		{name: "nul mode", term: TermNUL, in: "AT\r\n\x00", want: []string{"AT\r\n"}},
		{name: "nul ignored elsewhere", term: TermCR, in: "A\x00T\r", want: []string{"AT"}},
		{name: "terminators inside quotes are data", term: TermCR, in: "AT%CMNG=0,1,0,\"a\rb\nc\"\r", want: []string{"AT%CMNG=0,1,0,\"a\rb\nc\""}},
		{name: "unbalanced quote never ends", term: TermCR, in: "AT\"x\rAT\r", want: nil, quote: true},
		{name: "bs and del edit", term: TermCR, in: "ATX\x08\r" + "ATY\x7f\r", want: []string{"AT", "AT"}},
		{name: "bs on empty line", term: TermCR, in: "\x08\x08AT\r", want: []string{"AT"}},
		{name: "deleting a quote keeps the quote state", term: TermCR, in: "AT\"\x7f\rx\"\r", want: []string{"AT\rx\""}},
		{name: "whitespace-only lines dropped", term: TermCR, in: " \t\r\r\n\rAT\r", want: []string{"AT"}},
		{name: "overflow outside quotes cuts", term: TermCR, limit: 4, in: "AT+CGSN\r", want: []string{"AT+C"}},
		{name: "overflow inside quotes hangs", term: TermCR, limit: 6, in: "AT=\"abcdef\"\rAT\r", want: nil, quote: true},
		{name: "quote exactly at the limit", term: TermCR, limit: 6, in: "AT=\"a\"\rAT\r", want: []string{"AT=\"a\"", "AT"}},
		{name: "stored nul cuts the c string", term: TermCR, in: "AT\"a\x00b\"\r", want: []string{"AT\"a"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			limit := c.limit
			if limit == 0 {
				limit = 4095
			}
			r := &atHostRX{term: c.term, limit: limit}
			got, echo := feedAll(r, c.in)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("lines %q, want %q", got, c.want)
			}
			if echo != "" {
				t.Errorf("at_host echoed %q", echo)
			}
			if r.inQuote != c.quote {
				t.Errorf("inside quotes = %v, want %v", r.inQuote, c.quote)
			}
		})
	}
}

func TestATHostRXOverflowMessageAndEcho(t *testing.T) {
	r := &atHostRX{term: TermCR, limit: 3, echo: true, overflowMsg: true}
	lines, echo := feedAll(r, "ATXY\r")
	if !reflect.DeepEqual(lines, []string{"ATX"}) {
		t.Fatalf("lines %q", lines)
	}
	if want := "ATXBuffer overflow, dropping 'Y'\r\n\r\n"; echo != want {
		t.Fatalf("echo %q, want %q", echo, want)
	}
}

func TestSLMRX(t *testing.T) {
	r := &slmRX{term: TermCRLF, limit: 8}
	lines, _ := feedAll(r, "AT+CGSN\r\nAT\"a\r\nb\"\r\n"+"AT%CMNG=0,1,0,\"xxxxxxxx\"\r\nAT\r\n")
	want := []string{"AT+CGSN", "AT\"a\r\nb\"", slmOverflowLine, "AT"}
	if !reflect.DeepEqual(lines, want) {
		t.Fatalf("lines %q, want %q", lines, want)
	}
}

func TestShellRX(t *testing.T) {
	r := &shellRX{limit: 10}
	lines, echo := feedAll(r, "at AT\r\nat\x7fT\"x\rmore-than-ten-bytes\n")
	want := []string{"at AT", "aT\"x", "more-than-"}
	if !reflect.DeepEqual(lines, want) {
		t.Fatalf("lines %q, want %q", lines, want)
	}
	if !strings.HasPrefix(echo, "at AT\r\nat\b \bT") {
		t.Fatalf("echo %q", echo)
	}
}

func TestShellArgv(t *testing.T) {
	cases := map[string][]string{
		`at AT+CGSN`:                          {"at", "AT+CGSN"},
		`at AT+COPS=1,2,\"24407\"`:            {"at", `AT+COPS=1,2,"24407"`},
		`at 'AT%CMNG=0,1,0,"a\nb"'`:           {"at", `AT%CMNG=0,1,0,"a\nb"`},
		`at "AT%CMNG=0,1,0,\"x\""`:            {"at", `AT%CMNG=0,1,0,"x"`},
		"  at   at_cmd_mode\tstart  ":         {"at", "at_cmd_mode", "start"},
		``:                                    nil,
		`at 'it\'s'`:                          {"at", "it's"},
		`at a\ b`:                             {"at", "a b"},
		`at "AT%CMNG=0,1,0,\"-----\n-----\""`: {"at", "AT%CMNG=0,1,0,\"-----\\n-----\""},
	}
	for in, want := range cases {
		got, err := shellArgv(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("shellArgv(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := shellArgv(`at 'open`); err == nil {
		t.Error("an unterminated quote is accepted")
	}
}

func TestSplitArgs(t *testing.T) {
	got, err := splitArgs(` 16842753, 0 ,"a,b` + "\r\n" + `c","pw"`)
	want := []atArg{{s: "16842753"}, {s: "0"}, {s: "a,b\r\nc", quoted: true}, {s: "pw", quoted: true}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, %v", got, err)
	}
	for _, bad := range []string{`1,"open`, `1,"a"x`, `1,a"b"`} {
		if _, err := splitArgs(bad); err == nil {
			t.Errorf("splitArgs(%q) accepted", bad)
		}
	}
}

func TestIMEIIsLuhnValidAndStable(t *testing.T) {
	seen := map[string]bool{}
	for _, sn := range []string{"000960000001", "000960000002", "001050912345"} {
		imei := imeiFor(sn)
		if len(imei) != 15 || imei != imeiFor(sn) || seen[imei] {
			t.Fatalf("imei %q for %s", imei, sn)
		}
		seen[imei] = true
		// Luhn over all 15 digits sums to a multiple of 10.
		sum := 0
		for i := 0; i < 15; i++ {
			d := int(imei[14-i] - '0')
			if i%2 == 1 {
				d *= 2
				if d > 9 {
					d -= 9
				}
			}
			sum += d
		}
		if sum%10 != 0 {
			t.Fatalf("imei %s fails the Luhn check", imei)
		}
	}
	// A known IMEI from Nordic's examples checks out with the same digit function.
	if d := luhnCheckDigit([]byte("35265610036787")); d != 2 {
		t.Fatalf("check digit of 35265610036787 = %d, want 2", d)
	}
}
