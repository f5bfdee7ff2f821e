package provision

import (
	"testing"

	"github.com/nrfprov/nrfprov/internal/cmng"
)

// FuzzParse: the manifest parser never panics, and what it accepts has valid slots and hashes
// over exactly the bytes it will send.
func FuzzParse(f *testing.F) {
	f.Add([]byte("version: 1\ncredentials:\n  - {sec_tag: 1, type: PSK_ID, env: ID}\n"))
	f.Add([]byte("version: 1\nline_endings: crlf\ncredentials:\n  - {sec_tag: 2, type: 3, env: PSK}\nprune: [2]\n"))
	f.Add([]byte("version: 2\nbogus: [\n"))
	f.Add([]byte("credentials: {}\n"))
	env := map[string]string{"ID": "device-1", "PSK": "00112233"}
	getenv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse("fuzz.yaml", data, getenv)
		if err != nil {
			return
		}
		for _, c := range m.Credentials {
			if !c.Type.Writable() || len(c.Content) == 0 || c.SHA256 != cmng.SHA256Hex(c.Content) {
				t.Fatalf("accepted %+v", c)
			}
		}
	})
}
