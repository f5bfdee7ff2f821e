package provision

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/nrfprov/nrfprov/internal/at"
	"github.com/nrfprov/nrfprov/internal/cmng"
	"github.com/nrfprov/nrfprov/internal/identity"
)

// ManifestVersion is the only manifest version this nrfprov reads.
const ManifestVersion = 1

// LineEndings says how credential text is normalised before it is sent; the SHA-256 is over the
// result.
type LineEndings string

// The line-ending modes of a manifest or a credential.
const (
	// LineEndingsAsIs sends the bytes exactly as they are in the file or variable.
	LineEndingsAsIs LineEndings = "as-is"
	// LineEndingsLF turns CR LF and lone CR into LF.
	LineEndingsLF LineEndings = "lf"
	// LineEndingsCRLF turns every LF and lone CR into CR LF, without doubling an existing CR LF.
	LineEndingsCRLF LineEndings = "crlf"
)

// parseLineEndings reads a line_endings value (case-insensitive).
func parseLineEndings(s string) (LineEndings, bool) {
	switch le := LineEndings(strings.ToLower(strings.TrimSpace(s))); le {
	case LineEndingsAsIs, LineEndingsLF, LineEndingsCRLF:
		return le, true
	}
	return "", false
}

// Normalize returns content with its line breaks converted as le says; as-is (and "") returns
// an unchanged copy.
func (le LineEndings) Normalize(content []byte) []byte {
	switch le {
	case LineEndingsLF, LineEndingsCRLF:
	default:
		return bytes.Clone(content)
	}
	out := make([]byte, 0, len(content)+len(content)/32)
	for i := 0; i < len(content); i++ {
		c := content[i]
		if c != '\r' && c != '\n' {
			out = append(out, c)
			continue
		}
		if c == '\r' && i+1 < len(content) && content[i+1] == '\n' {
			i++ // CR LF is one line break
		}
		if le == LineEndingsCRLF {
			out = append(out, '\r')
		}
		out = append(out, '\n')
	}
	return out
}

// Pos is a place in a manifest.
type Pos struct {
	File string
	Line int
}

// String returns "file:line", or just the file when the line is not known.
func (p Pos) String() string {
	if p.Line <= 0 {
		return p.File
	}
	return p.File + ":" + strconv.Itoa(p.Line)
}

// BoardDefaults are the manifest's defaults for the board; the CLI uses them where its flags are
// absent. They are not validated here beyond their YAML types (transports are plugins).
type BoardDefaults struct {
	Transport string `yaml:"transport"`
	Port      string `yaml:"port"`
	Board     string `yaml:"board"`
	Baud      int    `yaml:"baud"`
	RTSCTS    *bool  `yaml:"rtscts"`
	Term      string `yaml:"term"`
	Dialect   string `yaml:"dialect"`
}

// Credential is one credential a manifest wants on the modem.
type Credential struct {
	SecTag      uint32
	Type        cmng.Type
	File        string      // resolved path (relative paths are relative to the manifest's directory), or ""
	Env         string      // environment variable name, or ""
	LineEndings LineEndings // effective (credential's own, else the manifest's, else as-is)
	Content     []byte      // the exact bytes that will be sent, after line-ending normalisation
	SHA256      string      // uppercase hex SHA-256 of Content
	Pos         Pos         // where the credential is declared
	identity    bool        // the identity section's root_ca
}

// isSecret reports whether the credential's content must never be shown: secret types (keys,
// PSKs) and anything read from the environment.
func (c *Credential) isSecret() bool { return c.Type.Secret() || c.Env != "" }

// source names where the content comes from, for messages: "file <path>" or "env <NAME>".
func (c *Credential) source() string {
	if c.Env != "" {
		return "env " + c.Env
	}
	return "file " + c.File
}

// Manifest is a validated provisioning manifest.
type Manifest struct {
	Path          string
	Version       int
	LineEndings   LineEndings
	AllowReserved bool
	Board         BoardDefaults
	Credentials   []Credential
	Prune         []uint32
	// Identity is the device identity the manifest asks for (identity:), or nil.
	Identity *identity.Spec
}

// ErrManifest is matched by every *ManifestError.
var ErrManifest = errors.New("provision: invalid manifest")

// Problem is one thing wrong in a manifest.
type Problem struct {
	Pos Pos
	Msg string
}

func (p Problem) String() string { return p.Pos.String() + ": " + p.Msg }

// ManifestError carries every problem found in a manifest, in line order. Its messages never
// yamlShow credential content.
type ManifestError struct {
	Path     string
	Problems []Problem
}

// Error returns one line per problem: "file:line: msg".
func (e *ManifestError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	if len(lines) == 0 {
		return ErrManifest.Error() + ": " + e.Path
	}
	return strings.Join(lines, "\n")
}

// Is makes every ManifestError match ErrManifest.
func (e *ManifestError) Is(target error) bool { return target == ErrManifest }

// Load reads and validates a manifest. getenv looks up `env:` credentials (os.LookupEnv in the
// CLI; nil means os.LookupEnv). A manifest that cannot be read is a wrapped fs error, not a
// *ManifestError; an invalid one is a *ManifestError with every problem.
func Load(path string, getenv func(string) (string, bool)) (*Manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("provision: read manifest: %w", err)
	}
	return Parse(path, data, getenv)
}

// Parse is Load on bytes already read (path is used for positions and to resolve relative
// files).
func Parse(path string, data []byte, getenv func(string) (string, bool)) (*Manifest, error) {
	if getenv == nil {
		getenv = os.LookupEnv
	}
	p := &manifestParser{path: path, dir: filepath.Dir(path), getenv: getenv}
	m := p.parse(data)
	if len(p.problems) > 0 {
		sort.SliceStable(p.problems, func(i, j int) bool { return p.problems[i].Pos.Line < p.problems[j].Pos.Line })
		return nil, &ManifestError{Path: path, Problems: p.problems}
	}
	return m, nil
}

// manifestTypes names the types a manifest may hold, for messages.
func manifestTypes() string {
	var s []string
	for t := cmng.RootCACert; t.Writable(); t++ {
		s = append(s, fmt.Sprintf("%s (%d)", t, int(t)))
	}
	return strings.Join(s, ", ")
}

type manifestParser struct {
	path     string
	dir      string
	getenv   func(string) (string, bool)
	problems []Problem
}

func (p *manifestParser) addf(line int, format string, args ...any) {
	p.problems = append(p.problems, Problem{Pos: p.pos(line), Msg: fmt.Sprintf(format, args...)})
}

func (p *manifestParser) pos(line int) Pos { return Pos{File: p.path, Line: line} }

// yamlErrLine picks the line out of a yaml syntax error ("yaml: line 3: …").
var yamlErrLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (p *manifestParser) parse(data []byte) *Manifest {
	m := &Manifest{Path: p.path, LineEndings: LineEndingsAsIs}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.addf(1, "the manifest is empty: start it with `version: %d` and list credentials:", ManifestVersion)
			return nil
		}
		line, msg := yamlSyntaxError(err)
		p.addf(line, "not valid YAML: %s", msg)
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.addf(extra.Line, "a second YAML document: a manifest is one document; remove the `---` and what follows or merge it")
	} else if !errors.Is(err, io.EOF) {
		p.addf(0, "not valid YAML after the first document: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	root = yamlDeref(root)
	if root.Kind != yaml.MappingNode {
		if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
			p.addf(root.Line, "the manifest is empty: start it with `version: %d` and list credentials:", ManifestVersion)
		} else {
			p.addf(root.Line, "the manifest must be a mapping (version:, credentials:, …), not a %s", yamlKind(root))
		}
		return nil
	}
	fields := p.fields(root, "the manifest", "version", "line_endings", "allow_reserved", "board", "credentials", "prune", "identity")

	if v, ok := fields["version"]; !ok {
		p.addf(root.Line, "version is missing: add `version: %d` at the top", ManifestVersion)
	} else if n, ok := yamlInt(v.value); !ok || n != ManifestVersion {
		p.addf(v.value.Line, "unsupported version %s: this nrfprov reads `version: %d`", yamlShow(v.value), ManifestVersion)
	} else {
		m.Version = ManifestVersion
	}
	if v, ok := fields["line_endings"]; ok {
		if le, ok := p.lineEndings(v.value); ok {
			m.LineEndings = le
		}
	}
	if v, ok := fields["allow_reserved"]; ok {
		if b, ok := yamlBool(v.value); ok {
			m.AllowReserved = b
		} else {
			p.addf(v.value.Line, "allow_reserved must be true or false, not %s", yamlShow(v.value))
		}
	}
	if v, ok := fields["board"]; ok {
		p.board(v.value, &m.Board)
	}
	if v, ok := fields["credentials"]; ok {
		m.Credentials = p.credentials(v.value, m)
	}
	if v, ok := fields["prune"]; ok {
		m.Prune = p.prune(v.value, m.AllowReserved)
	}
	if v, ok := fields["identity"]; ok {
		p.identity(v.value, m)
	}
	return m
}

// yamlParserProblems are the problems yaml's parser (not its scanner) reports. For them
// go.yaml.in/yaml/v3 prints the 0-based line of the enclosing block (or of the problem when the
// block starts on the first line), and no line at all for 0; its scanner prints 1-based lines.
var yamlParserProblems = []string{
	"did not find expected ',' or ']'", "did not find expected ',' or '}'", "did not find expected '-' indicator",
	"did not find expected <document start>", "did not find expected <stream-start>", "did not find expected key",
	"did not find expected node content", "found duplicate %TAG directive", "found duplicate %YAML directive",
	"found incompatible YAML document", "found undefined tag handle",
}

// yamlSyntaxError turns a yaml syntax error into a 1-based line and a message.
func yamlSyntaxError(err error) (int, string) {
	msg := err.Error()
	line := 0
	if sub := yamlErrLine.FindStringSubmatch(msg); sub != nil {
		line, _ = strconv.Atoi(sub[1])
		msg = sub[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	if slices.Contains(yamlParserProblems, msg) {
		return line + 1, msg + " (check the indentation and punctuation from this line on)"
	}
	return line, msg
}

type manifestField struct {
	key   *yaml.Node
	value *yaml.Node
}

// fields checks a mapping's keys against the known ones and returns their values by name;
// unknown and repeated keys are problems.
func (p *manifestParser) fields(n *yaml.Node, what string, known ...string) map[string]manifestField {
	out := make(map[string]manifestField)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], yamlDeref(n.Content[i+1])
		name := k.Value
		if k.Kind != yaml.ScalarNode {
			p.addf(k.Line, "%s has a key that is not a plain name: use one of %s", what, strings.Join(known, ", "))
			continue
		}
		if !slices.Contains(known, name) {
			p.addf(k.Line, "unknown field %q in %s: the fields are %s%s", name, what, strings.Join(known, ", "), suggestField(name, known))
			continue
		}
		if prev, dup := out[name]; dup {
			p.addf(k.Line, "%s is given twice in %s (also at line %d): keep one", name, what, prev.key.Line)
			continue
		}
		out[name] = manifestField{key: k, value: v}
	}
	return out
}

func (p *manifestParser) lineEndings(n *yaml.Node) (LineEndings, bool) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		if le, ok := parseLineEndings(n.Value); ok {
			return le, true
		}
	}
	p.addf(n.Line, "unknown line_endings %s: use lf, crlf or as-is", yamlShow(n))
	return "", false
}

func (p *manifestParser) board(n *yaml.Node, b *BoardDefaults) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.MappingNode {
		p.addf(n.Line, "board must be a mapping (transport:, port:, baud:, …), not a %s", yamlKind(n))
		return
	}
	f := p.fields(n, "board", "transport", "port", "board", "baud", "rtscts", "term", "dialect")
	str := func(name string, dst *string) {
		v, ok := f[name]
		if !ok {
			return
		}
		if v.value.Kind != yaml.ScalarNode || v.value.Tag == "!!null" || v.value.Tag == "!!map" {
			p.addf(v.value.Line, "board.%s must be a string, not %s", name, yamlShow(v.value))
			return
		}
		*dst = v.value.Value
	}
	str("transport", &b.Transport)
	str("port", &b.Port)
	str("board", &b.Board)
	str("term", &b.Term)
	str("dialect", &b.Dialect)
	if v, ok := f["baud"]; ok {
		if n, ok := yamlInt(v.value); ok && n > 0 && n <= 1<<31-1 {
			b.Baud = int(n)
		} else {
			p.addf(v.value.Line, "board.baud must be a positive number of bits per second (e.g. 115200), not %s", yamlShow(v.value))
		}
	}
	if v, ok := f["rtscts"]; ok {
		if x, ok := yamlBool(v.value); ok {
			b.RTSCTS = &x
		} else {
			p.addf(v.value.Line, "board.rtscts must be true or false, not %s", yamlShow(v.value))
		}
	}
}

// tag reads a sec_tag value. what names it in messages ("sec_tag", "prune entry").
func (p *manifestParser) tag(n *yaml.Node, what string, allowReserved bool) (uint32, bool) {
	v, ok := yamlInt(n)
	switch {
	case !ok:
		p.addf(n.Line, "%s must be a number 0–%d, not %s", what, cmng.MaxUserTag, yamlShow(n))
	case v < 0 || v > 1<<32-1:
		p.addf(n.Line, "%s %s is out of range: use 0–%d", what, n.Value, cmng.MaxUserTag)
	case v > int64(cmng.MaxUserTag) && !allowReserved:
		p.addf(n.Line, "%s %d is above %d, in the range reserved for the modem: use 0–%d (or set allow_reserved: true if you really mean it)",
			what, v, cmng.MaxUserTag, cmng.MaxUserTag)
	default:
		return uint32(v), true
	}
	return 0, false
}

func (p *manifestParser) prune(n *yaml.Node, allowReserved bool) []uint32 {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.addf(n.Line, "prune must be a list of sec_tags (e.g. prune: [16842753]), not %s", yamlShow(n))
		return nil
	}
	var out []uint32
	seen := make(map[uint32]int)
	for _, item := range n.Content {
		item = yamlDeref(item)
		t, ok := p.tag(item, "prune entry", allowReserved)
		if !ok {
			continue
		}
		if line, dup := seen[t]; dup {
			p.addf(item.Line, "sec_tag %d is listed twice in prune (also at line %d): remove one", t, line)
			continue
		}
		seen[t] = item.Line
		out = append(out, t)
	}
	return out
}

type manifestKey struct {
	tag uint32
	typ cmng.Type
}

func (p *manifestParser) credentials(n *yaml.Node, m *Manifest) []Credential {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.addf(n.Line, "credentials must be a list of entries (- sec_tag: …), not %s", yamlShow(n))
		return nil
	}
	var out []Credential
	seen := make(map[manifestKey]int)
	for _, item := range n.Content {
		item = yamlDeref(item)
		c, ok := p.credential(item, m)
		if !ok {
			continue
		}
		k := manifestKey{c.SecTag, c.Type}
		if line, dup := seen[k]; dup {
			p.addf(item.Line, "sec_tag %d type %s is declared twice (here and at %s): keep one",
				c.SecTag, c.Type, p.pos(line))
			continue
		}
		seen[k] = item.Line
		out = append(out, c)
	}
	return out
}

// credential reads and validates one entry; ok is false when anything about it is wrong (the
// problems are recorded).
func (p *manifestParser) credential(n *yaml.Node, m *Manifest) (Credential, bool) {
	c := Credential{Pos: p.pos(n.Line), LineEndings: m.LineEndings}
	if n.Kind != yaml.MappingNode {
		p.addf(n.Line, "a credential must be a mapping with sec_tag, type and file or env, not %s", yamlShow(n))
		return c, false
	}
	before := len(p.problems)
	f := p.fields(n, "a credential", "sec_tag", "type", "file", "env", "line_endings")

	tagOK, typeOK := false, false
	if v, ok := f["sec_tag"]; !ok {
		p.addf(n.Line, "sec_tag is missing: add `sec_tag: <0–%d>` to this credential", cmng.MaxUserTag)
	} else if t, ok := p.tag(v.value, "sec_tag", m.AllowReserved); ok {
		c.SecTag, tagOK = t, true
	}
	if v, ok := f["type"]; !ok {
		p.addf(n.Line, "type is missing: add `type:` with one of %s", manifestTypes())
	} else if v.value.Kind != yaml.ScalarNode || v.value.Tag == "!!null" {
		p.addf(v.value.Line, "type must be a name or a number: use one of %s", manifestTypes())
	} else if t, err := cmng.ParseType(v.value.Value); err != nil {
		p.addf(v.value.Line, "unknown credential type %s: use one of %s", yamlShow(v.value), manifestTypes())
	} else if !t.Writable() {
		p.addf(v.value.Line, "type %s (%d) is not written with %%CMNG (it belongs to the modem or to %%KEYGEN/%%XPMNG): use one of %s",
			t, int(t), manifestTypes())
	} else {
		c.Type, typeOK = t, true
	}
	if v, ok := f["line_endings"]; ok {
		if le, ok := p.lineEndings(v.value); ok {
			c.LineEndings = le
		}
	}

	fileF, hasFile := f["file"]
	envF, hasEnv := f["env"]
	var raw []byte
	var srcLine int
	switch {
	case hasFile && hasEnv:
		p.addf(envF.key.Line, "both file and env are given (file at line %d): keep exactly one", fileF.key.Line)
	case !hasFile && !hasEnv:
		p.addf(n.Line, "neither file nor env is given: add `file: <path>` or `env: <VARIABLE>`")
	case hasFile:
		srcLine = fileF.value.Line
		raw = p.readFile(fileF.value, &c)
	default:
		srcLine = envF.value.Line
		raw = p.readEnv(envF.value, &c, typeOK)
	}
	if raw == nil || !typeOK {
		return c, false
	}
	c.Content = c.LineEndings.Normalize(raw)
	c.SHA256 = cmng.SHA256Hex(c.Content)
	p.checkContent(srcLine, &c, m, tagOK)
	return c, len(p.problems) == before && tagOK
}

// maxCredentialFile is the size above which a credential file is not read at all: the modem's
// line limit (cmng.LineLimitSLM and below) makes anything near it unwritable anyway.
const maxCredentialFile = 1 << 20

func (p *manifestParser) readFile(v *yaml.Node, c *Credential) []byte {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" || v.Value == "" {
		p.addf(v.Line, "file must be a path to the credential (relative to the manifest's directory), not %s", yamlShow(v))
		return nil
	}
	path := v.Value
	if !filepath.IsAbs(path) {
		path = filepath.Join(p.dir, path)
	}
	c.File = path
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		p.addf(v.Line, "file %s does not exist: check the path (relative paths are relative to the manifest's directory %s)", path, p.dir)
		return nil
	case err != nil:
		p.addf(v.Line, "file %s: %v", path, pathErrCause(err))
		return nil
	case st.IsDir():
		p.addf(v.Line, "file %s is a directory: name the credential file inside it", path)
		return nil
	case st.Mode().IsRegular() && st.Size() > maxCredentialFile:
		p.addf(v.Line, "file %s is %d bytes, far over what one %%CMNG write carries (about 4 KB): name the credential itself, not an archive or bundle",
			path, st.Size())
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		p.addf(v.Line, "file %s cannot be read (%v): check its permissions", path, pathErrCause(err))
		return nil
	}
	return data
}

func (p *manifestParser) readEnv(v *yaml.Node, c *Credential, typeOK bool) []byte {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" || v.Value == "" {
		p.addf(v.Line, "env must be the name of an environment variable holding the credential, not %s", yamlShow(v))
		return nil
	}
	name := v.Value
	c.Env = name
	val, ok := p.getenv(name)
	what := "the credential"
	if typeOK {
		what = "the " + c.Type.String()
	}
	switch {
	case !ok:
		p.addf(v.Line, "environment variable %s is not set: export it with %s's content", name, what)
		return nil
	case val == "":
		p.addf(v.Line, "environment variable %s is empty: export it with %s's content", name, what)
		return nil
	}
	return []byte(val)
}

// ContentProblems checks content for a credential of type typ, the same for a manifest and for
// `nrfprov write`: certificates must be PEM certificates without a private key, a client key a
// PEM private key, a PSK hexadecimal text with two digits per byte. src names the content in the
// messages ("file ca.pem", "env DEVICE_KEY"); they show byte offsets, never content.
func ContentProblems(typ cmng.Type, content []byte, src string) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	switch typ {
	case cmng.RootCACert, cmng.ClientCert:
		labels := pemLabels(content)
		certs, keys := 0, 0
		for _, l := range labels {
			if strings.HasSuffix(l, "CERTIFICATE") {
				certs++
			}
			if strings.HasSuffix(l, "PRIVATE KEY") {
				keys++
			}
		}
		switch {
		case len(labels) == 0:
			add("%s is not PEM: a %s must hold at least one -----BEGIN CERTIFICATE----- … -----END CERTIFICATE----- block "+
				"(convert DER with `openssl x509 -inform DER -in cert.der -out cert.pem`)", src, typ)
		case keys > 0:
			add("%s holds a private key: a %s is not secret (the modem lists it and may read it back); "+
				"put the key in its own file as a CLIENT_KEY (type 2)", src, typ)
		case certs == 0:
			add("%s has no CERTIFICATE block (found %s): a %s must hold at least one -----BEGIN CERTIFICATE----- block",
				src, strings.Join(labels, ", "), typ)
		}
	case cmng.ClientKey:
		keys := 0
		for _, l := range pemLabels(content) {
			if strings.HasSuffix(l, "PRIVATE KEY") {
				keys++
			}
		}
		if keys == 0 {
			add("%s is not a PEM private key: a CLIENT_KEY must hold a -----BEGIN … PRIVATE KEY----- block "+
				"(PRIVATE KEY, EC PRIVATE KEY, RSA PRIVATE KEY or ENCRYPTED PRIVATE KEY; convert DER with `openssl pkey -inform DER -in key.der -out key.pem`)", src)
		}
	case cmng.PSK:
		// The modem takes a PSK as hexadecimal text, two characters per octet (§1.3).
		for i, b := range content {
			if !isHexDigit(b) {
				fix := "write the PSK as hexadecimal digits only"
				if b == '\n' || b == '\r' || b == ' ' || b == '\t' {
					fix = "remove the whitespace (a trailing newline counts: write the file with printf '%s', not echo)"
				}
				add("%s: a PSK must be hexadecimal text, but the byte at offset %d is not a hex digit: %s", src, i, fix)
				return out
			}
		}
		if len(content)%2 != 0 {
			add("%s: a PSK must be hexadecimal text with two digits per byte, but it has an odd number of digits (%d): check that no digit is missing",
				src, len(content))
		}
	}
	return out
}

// checkContent checks the normalised content of a credential: PEM where PEM is required, and
// cmng.Preflight for the raw dialect with the default line limit. Messages refer to the content
// by its source and byte offsets only.
// Preflight needs a valid sec_tag (its digits count in the command's length); without one
// (tagOK false) only the PEM checks run.
func (p *manifestParser) checkContent(line int, c *Credential, m *Manifest, tagOK bool) {
	src := c.source()
	problems := ContentProblems(c.Type, c.Content, src)
	for _, msg := range problems {
		p.addf(line, "%s", msg)
	}
	if c.Type == cmng.PSK && len(problems) > 0 {
		return
	}
	if !tagOK {
		return
	}
	// Preflight shows the value of a bad byte for non-secret types only; content from the
	// environment is secret whatever its type, so it is checked as a secret type. Types 0–4 are
	// one digit each, so the command's length does not change.
	typ := c.Type
	if c.isSecret() && !typ.Secret() {
		typ = cmng.PSK
	}
	err := cmng.Preflight(uint64(c.SecTag), typ, c.Content, at.Raw, cmng.Options{AllowReserved: m.AllowReserved})
	var pe *cmng.PreflightError
	switch {
	case err == nil:
	case errors.As(err, &pe):
		reason := pe.Reason
		if c.isSecret() {
			reason = byteValue.ReplaceAllString(reason, "")
		}
		p.addf(line, "%s (as sent, line endings %s): %s: %s", src, c.LineEndings, reason, pe.Fix)
	default:
		p.addf(line, "%s: refused before sending", src)
	}
}

// byteValue is a byte's value in a preflight reason ("BS/DEL byte 0x7F at …"); it is cut from the
// reasons about secret content, which name a byte offset only.
var byteValue = regexp.MustCompile(` ?0x[0-9A-Fa-f]{2}\b`)

func isHexDigit(b byte) bool {
	return '0' <= b && b <= '9' || 'a' <= b && b <= 'f' || 'A' <= b && b <= 'F'
}

// pemLabels returns the labels of the complete PEM blocks in data: a line
// "-----BEGIN <label>-----" followed later by a line "-----END <label>-----" (lines end in LF,
// CR LF or CR).
func pemLabels(data []byte) []string {
	var labels []string
	open := ""
	for line := range bytes.Lines(LineEndingsLF.Normalize(data)) { // a lone CR breaks a line too
		l := string(bytes.TrimSpace(line))
		if rest, ok := strings.CutPrefix(l, "-----BEGIN "); ok {
			if label, ok := strings.CutSuffix(rest, "-----"); ok {
				open = label
			}
			continue
		}
		if rest, ok := strings.CutPrefix(l, "-----END "); ok && open != "" {
			if label, ok := strings.CutSuffix(rest, "-----"); ok && label == open {
				labels = append(labels, label)
			}
			open = ""
		}
	}
	return labels
}

// yamlDeref follows an alias to the node it names.
func yamlDeref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// yamlInt reads an integer scalar (decimal, 0x…, 0o…); ok is false for anything else,
// including quoted numbers.
func yamlInt(n *yaml.Node) (int64, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		return 0, false
	}
	var v int64
	if err := n.Decode(&v); err == nil {
		return v, true
	}
	var u uint64
	if err := n.Decode(&u); err == nil && u <= 1<<63-1 {
		return int64(u), true
	}
	return 1 << 62, true // too big for anything; reported as out of range
}

func yamlBool(n *yaml.Node) (bool, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		return false, false
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		return false, false
	}
	return b, true
}

// show describes a manifest value for a message. Manifest values are not credentials (those are
// in files or the environment), so they may be quoted; long ones are cut.
func yamlShow(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return "a " + yamlKind(n)
	}
	if n.Tag == "!!null" {
		return "an empty value"
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:40] + "…"
	}
	return strconv.Quote(v)
}

func yamlKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "single value"
	}
	return "YAML node"
}

// suggestField proposes a known name for a misspelt or miscased key ("sectag" → sec_tag).
func suggestField(name string, known []string) string {
	norm := func(s string) string {
		return strings.ReplaceAll(strings.ReplaceAll(strings.ToLower(s), "-", ""), "_", "")
	}
	for _, k := range known {
		if norm(k) == norm(name) {
			return fmt.Sprintf(" (did you mean %s?)", k)
		}
	}
	return ""
}

// pathErrCause drops the path from an *fs.PathError (the message names the file already).
func pathErrCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
