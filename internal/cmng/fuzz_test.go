package cmng

import (
	"strings"
	"testing"
)

// FuzzParseList: the %CMNG list parser never panics; what it accepts is in range and the hash
// kind agrees with the hash.
func FuzzParseList(f *testing.F) {
	for _, seed := range []string{
		"%CMNG: 16842753,0,\"2C43952EE9E000FF2ACC4E2ED0897C0A72AD5FA72C3D934E81741CBD54F05BD1\"",
		"%CMNG: 64738,1,\"0101010101010101010101010101010101010101010101010101010101010101\"",
		"%CMNG: 12345678, 0, \"978C\"",
		"%CMNG: 4294967294,6",
		"",
		"%CMNG: 99999999999,0,\"\"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		entries, err := ParseList(strings.Split(text, "\n"))
		if err != nil {
			return
		}
		for _, e := range entries {
			if int(e.Type) < 0 || int(e.Type) > int(MaxType) {
				t.Fatalf("type %d out of range from %q", e.Type, text)
			}
			if (e.SHA256 == "") != (e.Hash == HashAbsent) {
				t.Fatalf("hash %q with kind %q from %q", e.SHA256, e.Hash, text)
			}
		}
	})
}

// FuzzParseRead: the read-back parser never panics.
func FuzzParseRead(f *testing.F) {
	f.Add("%CMNG: 1,0,\"AB\",\"-----BEGIN\r\nx\r\n\"")
	f.Add("%CMNG: 1,0,\"AB\",\"unterminated")
	f.Fuzz(func(t *testing.T, text string) {
		_, _, _ = ParseRead(strings.Split(text, "\r\n"))
	})
}
