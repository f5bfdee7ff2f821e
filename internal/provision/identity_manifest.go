package provision

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/nrfprov/nrfprov/internal/cmng"
	"github.com/nrfprov/nrfprov/internal/identity"
)

// Defaults of the identity section, as nrfcloud-utils' device_credentials_installer has them.
const (
	defaultIdentityDays = 10 * 365
	defaultFWTypes      = "APP|MODEM"
	defaultOnboarding   = "onboard.csv"
	defaultIdentityDir  = "identity"
)

// identity reads the identity: section:
//
//	identity:
//	  sec_tag: 16842753
//	  device_id: imei            # or uuid (the default, as nrfcloud-utils)
//	  device_id_prefix: nrf-
//	  client_cert:
//	    sign_with: {ca: ca.pem, ca_key: ca.key}
//	    days: 3650
//	    subject: "O=Example"
//	  root_ca: AmazonRootCA1.pem # written as the sec_tag's ROOT_CA_CERT (optional)
//	  out: identity              # records and issued certificates
//	  onboarding: onboard.csv    # "" writes none
//	  tags: "lab|bench"
//	  fw_types: "APP|MODEM"
//	  sub_type: ""
func (p *manifestParser) identity(n *yaml.Node, m *Manifest) {
	if n.Kind != yaml.MappingNode {
		p.addf(n.Line, "identity must be a mapping (sec_tag:, client_cert:, …), not %s", yamlShow(n))
		return
	}
	before := len(p.problems)
	f := p.fields(n, "identity", "sec_tag", "device_id", "device_id_prefix", "client_cert", "root_ca", "out", "onboarding",
		"tags", "fw_types", "sub_type")
	s := &identity.Spec{Days: defaultIdentityDays, IDSource: identity.FromUUID, FWTypes: defaultFWTypes,
		Dir: filepath.Join(p.dir, defaultIdentityDir), Onboarding: filepath.Join(p.dir, defaultOnboarding)}
	tagOK := false
	if v, ok := f["sec_tag"]; !ok {
		p.addf(n.Line, "identity.sec_tag is missing: add `sec_tag: <0–%d>` (nrfcloud-utils uses 16842753)", cmng.MaxUserTag)
	} else if t, ok := p.tag(v.value, "identity.sec_tag", false); ok {
		s.SecTag, tagOK = t, true
	}
	str := func(name string, dst *string) bool {
		v, ok := f[name]
		if !ok {
			return false
		}
		if v.value.Kind != yaml.ScalarNode || v.value.Tag == "!!null" || v.value.Tag == "!!map" {
			p.addf(v.value.Line, "identity.%s must be a string, not %s", name, yamlShow(v.value))
			return false
		}
		*dst = v.value.Value
		return true
	}
	var src string
	if str("device_id", &src) {
		switch identity.DeviceIDSource(strings.ToLower(src)) {
		case identity.FromIMEI, identity.FromUUID:
			s.IDSource = identity.DeviceIDSource(strings.ToLower(src))
		default:
			p.addf(f["device_id"].value.Line, "identity.device_id %q: use imei or uuid", src)
		}
	}
	if str("device_id_prefix", &s.Prefix) && strings.ContainsAny(s.Prefix, "\",=\\\r\n\x00 ") {
		p.addf(f["device_id_prefix"].value.Line, "identity.device_id_prefix %q has a character a certificate CN sent through AT cannot carry (quote, comma, '=', backslash, space, control)", s.Prefix)
	}
	if len(s.Prefix)+36 > 64 { // a UUID is 36 characters, an IMEI 15
		p.addf(n.Line, "identity.device_id_prefix is too long: a device ID is at most 64 characters (nRF Cloud)")
	}
	str("tags", &s.Tags)
	str("fw_types", &s.FWTypes)
	str("sub_type", &s.SubType)
	var out string
	if str("out", &out) {
		s.Dir = p.resolve(out)
	}
	var onb string
	if v, ok := f["onboarding"]; ok && v.value.Tag == "!!null" {
		s.Onboarding = ""
	} else if str("onboarding", &onb) {
		s.Onboarding = ""
		if onb != "" {
			s.Onboarding = p.resolve(onb)
		}
	}
	if v, ok := f["client_cert"]; !ok {
		p.addf(n.Line, "identity.client_cert is missing: add `client_cert: {sign_with: {ca: ca.pem, ca_key: ca.key}}`")
	} else {
		p.clientCert(v.value, s)
	}
	if v, ok := f["root_ca"]; ok && tagOK {
		p.identityRootCA(v.value, s, m)
	}
	if len(p.problems) != before || !tagOK {
		return
	}
	for _, c := range m.Credentials {
		if c.SecTag == s.SecTag && (c.Type == cmng.ClientCert || c.Type == cmng.ClientKey) {
			p.addf(c.Pos.Line, "sec_tag %d type %s is also the identity's (line %d): the identity makes its key and certificate; remove this credential or use another sec_tag",
				c.SecTag, c.Type, n.Line)
		}
	}
	if slices.Contains(m.Prune, s.SecTag) {
		p.addf(n.Line, "sec_tag %d is both pruned and the identity's: prune would delete the key the modem generated; remove it from prune", s.SecTag)
	}
	m.Identity = s
}

func (p *manifestParser) resolve(path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(p.dir, path)
}

func (p *manifestParser) clientCert(n *yaml.Node, s *identity.Spec) {
	if n.Kind != yaml.MappingNode {
		p.addf(n.Line, "identity.client_cert must be a mapping (sign_with:, days:, subject:), not %s", yamlShow(n))
		return
	}
	f := p.fields(n, "identity.client_cert", "sign_with", "days", "subject")
	if v, ok := f["days"]; ok {
		if d, ok := yamlInt(v.value); ok && d > 0 && d <= 100*365 {
			s.Days = int(d)
		} else {
			p.addf(v.value.Line, "identity.client_cert.days must be a number of days 1–36500, not %s", yamlShow(v.value))
		}
	}
	if v, ok := f["subject"]; ok {
		if v.value.Kind != yaml.ScalarNode || v.value.Tag == "!!null" {
			p.addf(v.value.Line, "identity.client_cert.subject must be a string like \"O=Example,OU=Lab\", not %s", yamlShow(v.value))
		} else if name, err := identity.ParseSubject(v.value.Value); err != nil {
			p.addf(v.value.Line, "identity.client_cert.subject: %v", err)
		} else {
			s.Subject = name
		}
	}
	v, ok := f["sign_with"]
	if !ok {
		p.addf(n.Line, "identity.client_cert.sign_with is missing: add `sign_with: {ca: ca.pem, ca_key: ca.key}`")
		return
	}
	if v.value.Kind != yaml.MappingNode {
		p.addf(v.value.Line, "identity.client_cert.sign_with must be a mapping {ca: ca.pem, ca_key: ca.key}, not %s", yamlShow(v.value))
		return
	}
	sw := p.fields(v.value, "identity.client_cert.sign_with", "ca", "ca_key")
	caF, ok1 := sw["ca"]
	keyF, ok2 := sw["ca_key"]
	if !ok1 {
		p.addf(v.value.Line, "identity.client_cert.sign_with.ca is missing: the CA certificate (PEM) that signs the device certificates")
	}
	if !ok2 {
		p.addf(v.value.Line, "identity.client_cert.sign_with.ca_key is missing: the CA's private key (PEM file; it is read, used to sign, and never shown)")
	}
	if !ok1 || !ok2 {
		return
	}
	caData, caPath := p.identityFile(caF.value, "identity.client_cert.sign_with.ca")
	keyData, keyPath := p.identityFile(keyF.value, "identity.client_cert.sign_with.ca_key")
	if caData == nil || keyData == nil {
		return
	}
	ca, err := identity.ParseCA(caData)
	if err != nil {
		p.addf(caF.value.Line, "CA certificate %s: %v", caPath, err)
		return
	}
	key, err := identity.ParseCAKey(keyData, ca)
	if err != nil {
		// err never carries key material (identity.ParseCAKey's contract).
		p.addf(keyF.value.Line, "CA key %s: %v", keyPath, err)
		return
	}
	s.CA, s.CAPEM, s.CAKey, s.CAKeySrc = ca, caData, key, "file "+keyPath
}

// identityFile reads a file named in the identity section (relative to the manifest's
// directory). Its content is never quoted in a problem.
func (p *manifestParser) identityFile(v *yaml.Node, what string) ([]byte, string) {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" || v.Value == "" {
		p.addf(v.Line, "%s must be a path, not %s", what, yamlShow(v))
		return nil, ""
	}
	path := p.resolve(v.Value)
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		p.addf(v.Line, "%s: file %s does not exist (relative paths are relative to the manifest's directory %s)", what, path, p.dir)
		return nil, path
	case err != nil:
		p.addf(v.Line, "%s: file %s cannot be read (%v)", what, path, pathErrCause(err))
		return nil, path
	case len(data) > maxCredentialFile:
		p.addf(v.Line, "%s: file %s is %d bytes: name a PEM file", what, path, len(data))
		return nil, path
	}
	return data, path
}

// identityRootCA adds the identity's root CA as an ordinary credential of the manifest (type
// ROOT_CA_CERT in the identity's sec_tag), so it is planned, written and verified like any other.
func (p *manifestParser) identityRootCA(v *yaml.Node, s *identity.Spec, m *Manifest) {
	for _, c := range m.Credentials {
		if c.SecTag == s.SecTag && c.Type == cmng.RootCACert {
			p.addf(v.Line, "identity.root_ca and the credential at %s both give sec_tag %d's ROOT_CA_CERT: keep one", c.Pos, s.SecTag)
			return
		}
	}
	c := Credential{SecTag: s.SecTag, Type: cmng.RootCACert, Pos: p.pos(v.Line), LineEndings: m.LineEndings, identity: true}
	raw := p.readFile(v, &c)
	if raw == nil {
		return
	}
	before := len(p.problems)
	c.Content = c.LineEndings.Normalize(raw)
	c.SHA256 = cmng.SHA256Hex(c.Content)
	p.checkContent(v.Line, &c, m, true)
	if len(p.problems) == before {
		m.Credentials = append(m.Credentials, c)
	}
}

// IdentityOnly returns the manifest reduced to its identity: the identity's own root CA and
// nothing else (no other credentials, no prune). Nil when the manifest has no identity.
func (m *Manifest) IdentityOnly() *Manifest {
	if m.Identity == nil {
		return nil
	}
	out := *m
	out.Credentials, out.Prune = nil, nil
	for _, c := range m.Credentials {
		if c.identity {
			out.Credentials = append(out.Credentials, c)
		}
	}
	return &out
}
