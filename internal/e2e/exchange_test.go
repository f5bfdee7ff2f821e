package e2e

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nrfprov/nrfprov/internal/sim"
)

var txLine = regexp.MustCompile(`(?m)^wire \S+ tx (".*")$`)

// commandsSent returns the commands nrfprov sent, from its --trace-wire output: each tx chunk
// unquoted, joined, split at the terminator, the quoted content of writes cut off.
func commandsSent(t *testing.T, stderr string) []string {
	t.Helper()
	var sent strings.Builder
	for _, m := range txLine.FindAllStringSubmatch(stderr, -1) {
		s, err := strconv.Unquote(m[1])
		if err != nil {
			t.Fatalf("trace line %q: %v", m[0], err)
		}
		sent.WriteString(s)
	}
	var cmds []string
	for _, c := range strings.Split(sent.String(), "\r") {
		c = strings.TrimSpace(c)
		if i := strings.Index(c, `,"`); i > 0 {
			c = c[:i]
		}
		if i := strings.Index(c, ",<sha256:"); i > 0 { // a secret, traced as its hash
			c = c[:i]
		}
		if c != "" {
			cmds = append(cmds, c)
		}
	}
	return cmds
}

func count(cmds []string, c string) int {
	n := 0
	for _, x := range cmds {
		if x == c {
			n++
		}
	}
	return n
}

// A run says what the manifest needs and no more: one list of its sec_tag before and one after
// the writes (never the whole modem, never one entry at a time), no CFUN round trips on a modem
// that is powered off, and a re-run in sync lists once and writes nothing.
func TestProvisionSendsTheLeastItNeeds(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{SerialNumber: "000960000171"})
	m, _ := credSet(t, 171, "lf", "prune: [171]\n")

	r := runNrfprov(t, "", "--port", b.VCOM0(), "--trace-wire", "provision", "-m", m)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	cmds := commandsSent(t, r.stderr)
	if got := count(cmds, "AT%CMNG=1,171"); got != 2 {
		t.Errorf("listed sec_tag 171 %d times, want 2 (observe, prove): %q", got, cmds)
	}
	if got := count(cmds, "AT%CMNG=0,171,0") + count(cmds, "AT%CMNG=0,171,1") + count(cmds, "AT%CMNG=0,171,2"); got != 3 {
		t.Errorf("%d writes, want 3: %q", got, cmds)
	}
	for _, c := range cmds {
		if c == "AT%CMNG=1" || strings.HasPrefix(c, "AT%CMNG=1,171,") || strings.HasPrefix(c, "AT+CFUN=") {
			t.Errorf("sent %q, which the run does not need: %q", c, cmds)
		}
	}
	if i, j := slices.Index(cmds, "AT%CMNG=1,171"), slices.Index(cmds, "AT+CFUN?"); i < 0 || j < i {
		t.Errorf("the mode must be asked once there is something to write: %q", cmds)
	}
	st, err := b.State(ctxT(t))
	if err != nil || st.CFUN != 0 {
		t.Fatalf("CFUN %d after the run, want 0 as it was: %v", st.CFUN, err)
	}

	r = runNrfprov(t, "", "--port", b.VCOM0(), "--trace-wire", "provision", "-m", m)
	if r.code != 0 {
		t.Fatalf("re-run: exit %d\n%s", r.code, r.stderr)
	}
	cmds = commandsSent(t, r.stderr)
	if count(cmds, "AT%CMNG=1,171") != 1 {
		t.Errorf("re-run: want one list of sec_tag 171: %q", cmds)
	}
	for _, c := range cmds {
		if strings.HasPrefix(c, "AT%CMNG=0") || strings.HasPrefix(c, "AT%CMNG=3") || strings.HasPrefix(c, "AT+CFUN") {
			t.Errorf("re-run sent %q: %q", c, cmds)
		}
	}
}
