package main

import (
	"strings"

	"github.com/spf13/cobra"
)

// examples are each verb's Examples, by command path. Every "$ " line is a command that the
// README or docs/ show in a console block, which TestDocExamples runs against virtual boards;
// TestVerbExamplesAreDocumented (internal/e2e) fails when a verb has none or one of them is not
// documented word for word, so help and docs cannot drift. Lines starting with "#" explain.
var examples = map[string][]string{
	"nrfprov ports": {"$ nrfprov ports"},
	"nrfprov info": {
		"$ nrfprov --port /dev/ttyACM0 info",
		"# every byte on the link, with its time (keys and PSKs as their SHA-256)",
		"$ nrfprov --port /dev/ttyACM0 --trace-wire info",
	},
	"nrfprov list": {
		"$ nrfprov --port /dev/ttyACM0 list",
		"$ nrfprov --port /dev/ttyACM0 list 42",
	},
	"nrfprov read": {
		"$ nrfprov --port /dev/ttyACM0 read 42 root_ca_cert",
		"$ nrfprov --port /dev/ttyACM0 read 16842753 ROOT_CA_CERT",
	},
	"nrfprov write": {
		"$ nrfprov --port /dev/ttyACM0 write 42 root_ca_cert examples/nrfcloud/ca.pem",
		"$ nrfprov --port /dev/ttyACM0 write 43 psk_id examples/psk/psk-identity.txt --json",
	},
	"nrfprov delete":    {"$ nrfprov --port /dev/ttyACM0 delete 42 root_ca_cert"},
	"nrfprov deleteall": {"$ nrfprov --port /dev/ttyACM0 deleteall --yes"},
	"nrfprov imei":      {"$ nrfprov --port /dev/ttyACM0 imei"},
	"nrfprov attoken":   {"$ nrfprov --port /dev/ttyACM0 attoken --decode"},
	"nrfprov generate": {
		`$ nrfprov --port /dev/ttyACM0 generate 44 --attributes "O=Example,CN=device-1" --out device-1.csr`,
	},
	"nrfprov identity": {
		"$ nrfprov --port /dev/ttyACM0 identity -m identity.yaml --dry-run",
		"$ nrfprov --port /dev/ttyACM0 identity -m identity.yaml",
	},
	"nrfprov modem-firmware": {"$ nrfprov --board 960000001 modem-firmware mfw_nrf9160_1.3.6.zip --runner nrfutil --dry-run"},
	"nrfprov plan":           {"$ nrfprov --port /dev/ttyACM0 plan -m examples/nrfcloud/manifest.yaml"},
	"nrfprov provision": {
		"$ nrfprov --port /dev/ttyACM0 provision -m examples/nrfcloud/manifest.yaml",
		"# every connected board at once, one progress bar each",
		"$ nrfprov provision -m examples/psk/manifest.yaml --all",
		"# the AT client in, the credentials, the application back",
		"$ nrfprov --board 960000001 provision -m examples/nrfcloud/manifest.yaml --flash-at-client at_client.hex --build-dir build",
		"$ nrfprov --transport rtt --port localhost:2331 provision -m examples/nrfcloud/manifest.yaml",
	},
	"nrfprov demo": {"$ nrfprov demo"},
	"nrfprov flash": {
		"$ nrfprov --board 960000001 flash app.hex --runner nrfjprog --dry-run",
		"$ nrfprov --board 960000001 flash app.hex --runner openocd --dry-run",
	},
	"nrfprov reset": {
		"$ nrfprov --board 960000001 reset --runner nrfjprog --kind pin --dry-run",
		"$ nrfprov reset --runner gdb --gdb-address 127.0.0.1:2331 --dry-run",
	},
	"nrfprov transports": {
		"$ nrfprov transports",
		"$ nrfprov transports --json",
	},
	"nrfprov transports lock": {"$ nrfprov transports lock"},
	"nrfprov plugin":          {"$ echo AT | nrfprov plugin connect serial /dev/ttyACM0"},
	"nrfprov plugin connect":  {"$ echo AT | nrfprov plugin connect serial /dev/ttyACM0"},
	"nrfprov version":         {"$ nrfprov version"},
	"nrfprov doctor":          {"$ nrfprov doctor"},
	"nrfprov completion": {
		"$ nrfprov completion bash > nrfprov.bash",
		"$ nrfprov completion zsh > _nrfprov",
	},
	"nrfprov completion bash":       {"$ nrfprov completion bash > nrfprov.bash"},
	"nrfprov completion zsh":        {"$ nrfprov completion zsh > _nrfprov"},
	"nrfprov completion fish":       {"$ nrfprov completion fish > nrfprov.fish"},
	"nrfprov completion powershell": {"$ nrfprov completion powershell > nrfprov.ps1"},
}

// addExamples sets each command's Example from examples, after cobra's own completion command
// has been added so that it gets its examples too.
func addExamples(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if ex, ok := examples[c.CommandPath()]; ok && c.Example == "" {
			c.Example = "  " + strings.Join(ex, "\n  ")
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
