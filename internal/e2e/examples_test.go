package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestVerbExamplesAreDocumented: every verb's --help has an Examples section, and each command
// there is one that the README or docs/ show in a console block, word for word, so
// TestDocExamples runs it: help and docs cannot drift apart.
func TestVerbExamplesAreDocumented(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, doc := range append([]string{filepath.Join(root, "README.md"), filepath.Join(root, "examples", "README.md")}, docs...) {
		cmds, err := consoleCommands(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cmds {
			documented[normalize(c.text)] = true
		}
	}

	verbs := 0
	var walk func(path []string)
	walk = func(path []string) {
		help := ok(t, append([]string{"help"}, path...)...)
		if len(path) > 0 {
			verbs++
			ex := section(help, "Examples:")
			var cmds []string
			for _, l := range ex {
				if c, found := strings.CutPrefix(strings.TrimSpace(l), "$ "); found {
					cmds = append(cmds, c)
				}
			}
			if len(cmds) == 0 {
				t.Errorf("nrfprov %s: no examples in its help", strings.Join(path, " "))
			}
			for _, c := range cmds {
				if !documented[normalize(c)] {
					t.Errorf("nrfprov %s: example %q is in no console block of the README or docs/", strings.Join(path, " "), c)
				}
			}
		}
		for _, l := range section(help, "Available Commands:") {
			name := strings.Fields(l)[0]
			if name != "help" {
				walk(append(append([]string(nil), path...), name))
			}
		}
	}
	walk(nil)
	if verbs < 20 {
		t.Fatalf("walked only %d commands: has the help layout changed?", verbs)
	}
}

// section returns the non-empty lines of a help text's section, up to the next blank line.
func section(help, title string) []string {
	_, rest, found := strings.Cut(help, "\n"+title+"\n")
	if !found {
		return nil
	}
	var lines []string
	for _, l := range strings.Split(rest, "\n") {
		if strings.TrimSpace(l) == "" {
			break
		}
		lines = append(lines, l)
	}
	return lines
}

func normalize(s string) string { return strings.Join(strings.Fields(s), " ") }
