package at

import "testing"

// FuzzSplitter: any byte stream splits into lines without panicking, and no complete line holds
// a line break outside quotes.
func FuzzSplitter(f *testing.F) {
	for _, seed := range []string{
		"OK\r\n",
		"%CMNG: 1,0,\"AB\",\"-----BEGIN\r\nxx\r\n\"\r\nOK\r\n",
		"AT\rOK\r\n\r\nmosh:~$ ",
		"\"\"\"\r\n\x00\xff",
		"+CME ERROR: 513\r\n+CEREG: 2\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Splitter
		for _, line := range s.Feed(data) {
			if line == "" {
				t.Fatal("an empty line was returned")
			}
			inQuote := false
			for _, c := range []byte(line) {
				if c == '"' {
					inQuote = !inQuote
				}
				if !inQuote && (c == '\r' || c == '\n') {
					t.Fatalf("line %q has a line break outside quotes", line)
				}
			}
		}
	})
}

// FuzzParseFinal: the final-result parser never panics, and what it accepts is one of the four
// kinds.
func FuzzParseFinal(f *testing.F) {
	for _, seed := range []string{"OK", "ERROR", "+CME ERROR: 518", "+CMS ERROR:500", "+CME ERROR: x", "%CMNG: 1"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		fin, ok := ParseFinal(line)
		if ok && (fin.Kind < FinalOK || fin.Kind > FinalCMS) {
			t.Fatalf("ParseFinal(%q) = %+v", line, fin)
		}
		_ = IsURC(line, CommandName(line))
	})
}
