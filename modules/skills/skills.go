// Package skills renders an agent's skill package: a folder named after the
// agent's handle holding SKILL.md (Agent Skills front matter and body),
// RULES.md, API.md (generated from openapi.yaml), HEARTBEAT_EVENTS.md and
// skill.json, zipped deterministically. Rendering is pure: no database, no
// clock, no secret. Storing versions and running the render as a job live
// elsewhere.
package skills

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/heepr/heepr/modules/kernel"
)

// File names inside the package folder, in the order they are zipped.
const (
	SkillFile     = "SKILL.md"
	RulesFile     = "RULES.md"
	APIFile       = "API.md"
	HeartbeatFile = "HEARTBEAT_EVENTS.md"
	ManifestFile  = "skill.json"
)

// Limits from the Agent Skills specification.
const (
	MaxNameLen        = 64
	MaxDescriptionLen = 1024 // counted in bytes, so it holds for any way of counting characters
	MaxBodyLines      = 500  // the SKILL.md body stays under this
)

// KeyEnv is the environment variable the package tells the agent to read
// its API key from. The key itself is never part of a package.
const KeyEnv = "HEEPR_AGENT_KEY"

// nameRE is the Agent Skills name rule: lowercase letters and digits,
// single hyphens between them.
var nameRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// Tier is one price tier. Its fields match the marketplace's domain.Tier
// field for field, so a caller converts with skills.Tier(t) (this module
// may not import another module's domain package).
type Tier struct {
	Name         string `json:"name"`
	Price        int64  `json:"price"`
	DeliveryDays int    `json:"delivery_days"`
	Revisions    int    `json:"revisions"`
	Description  string `json:"description"`
}

// Input is everything baked into one package version.
type Input struct {
	AgentID     string
	Handle      string
	Name        string
	Specialty   string
	Description string // the owner's description of the agent
	Categories  []string
	Skills      []string
	Plugins     []string
	Tiers       []Tier
	// PollingIntervalSeconds is the agent's cadence.
	PollingIntervalSeconds int
	AcceptMode             string // "auto" or "manual"
	SettingsVersion        int
	PackageVersion         int
	// BaseURL is HEEPR_BASE_URL, the public URL of the heepr server.
	BaseURL string
	// RenderedAt is the modification time of every zip entry.
	RenderedAt time.Time
}

// File is one file of the package, named relative to the package folder.
type File struct {
	Name string
	Body []byte
}

// Package is a rendered skill package.
type Package struct {
	// Folder is the one top-level folder in the zip: the handle.
	Folder string
	// Files in zip order: SKILL.md, RULES.md, API.md, HEARTBEAT_EVENTS.md, skill.json.
	Files []File
	// Zip holds Files under Folder/.
	Zip []byte
	// SHA256 is the hex digest of Zip.
	SHA256 string
}

// File returns the body of the named file.
func (p Package) File(name string) ([]byte, bool) {
	for _, f := range p.Files {
		if f.Name == name {
			return f.Body, true
		}
	}
	return nil, false
}

// ParseSpec loads an OpenAPI document (heepr.OpenAPI) for RenderSpec.
func ParseSpec(spec []byte) (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("load openapi spec: %w", err)
	}
	return doc, nil
}

// Render parses spec and renders the package for in.
func Render(in Input, spec []byte) (Package, error) {
	doc, err := ParseSpec(spec)
	if err != nil {
		return Package{}, err
	}
	return RenderSpec(in, doc)
}

// RenderSpec renders the package for in from a parsed spec, so a caller can
// parse the embedded spec once and render many packages.
func RenderSpec(in Input, doc *openapi3.T) (Package, error) {
	in, err := in.clean()
	if err != nil {
		return Package{}, fmt.Errorf("render skill package: %w", err)
	}
	ops := agentOperations(doc)
	skill, err := renderSkill(in)
	if err != nil {
		return Package{}, fmt.Errorf("render skill package: %w", err)
	}
	files := []File{
		{SkillFile, skill},
		{RulesFile, renderRules(in)},
		{APIFile, renderAPI(in, ops)},
		{HeartbeatFile, renderHeartbeat(in)},
	}
	for i := range files {
		files[i].Body = redact(files[i].Body)
	}
	manifest, err := renderManifest(in, ops, files)
	if err != nil {
		return Package{}, fmt.Errorf("render skill package: %w", err)
	}
	files = append(files, File{ManifestFile, redact(manifest)})
	z, err := zipFiles(in.Handle, in.RenderedAt, files)
	if err != nil {
		return Package{}, fmt.Errorf("render skill package: %w", err)
	}
	sum := sha256.Sum256(z)
	return Package{Folder: in.Handle, Files: files, Zip: z, SHA256: hex.EncodeToString(sum[:])}, nil
}

// clean checks the input and normalises what the files print: valid UTF-8,
// trimmed text, the base URL without a trailing slash, the time in UTC to
// the second.
func (in Input) clean() (Input, error) {
	var f kernel.Fields
	if len(in.Handle) < 1 || len(in.Handle) > MaxNameLen || !nameRE.MatchString(in.Handle) {
		f.Add("handle", fmt.Sprintf("must be 1 to %d of lowercase letters and digits with single hyphens between them", MaxNameLen))
	}
	in.AgentID = text(in.AgentID)
	if in.AgentID == "" {
		f.Add("agent_id", "is required")
	}
	in.Name = oneLine(in.Name)
	if in.Name == "" {
		f.Add("name", "is required")
	}
	in.Specialty = oneLine(in.Specialty)
	in.Description = text(in.Description)
	in.AcceptMode = oneLine(in.AcceptMode)
	if in.PollingIntervalSeconds < 1 {
		f.Add("polling_interval_seconds", "must be at least 1")
	}
	if in.SettingsVersion < 1 {
		f.Add("settings_version", "must be at least 1")
	}
	if in.PackageVersion < 1 {
		f.Add("package_version", "must be at least 1")
	}
	in.BaseURL = strings.TrimRight(strings.TrimSpace(in.BaseURL), "/")
	if u, err := url.Parse(in.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		f.Add("base_url", "must be an absolute http(s) URL without credentials, query or fragment")
	}
	if in.RenderedAt.IsZero() {
		f.Add("rendered_at", "is required")
	}
	in.RenderedAt = in.RenderedAt.UTC().Truncate(time.Second)
	in.Categories = cleanList(in.Categories)
	in.Skills = cleanList(in.Skills)
	in.Plugins = cleanList(in.Plugins)
	tiers := make([]Tier, len(in.Tiers))
	for i, t := range in.Tiers {
		t.Name, t.Description = oneLine(t.Name), oneLine(t.Description)
		tiers[i] = t
	}
	in.Tiers = tiers
	return in, f.Err()
}

// zipFiles writes files under folder/ with fixed order, mode and time, so the
// same input gives the same bytes. Entries are stored, not deflated: the
// files are small and the bytes then do not depend on the compressor.
func zipFiles(folder string, mod time.Time, files []File) ([]byte, error) {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{Name: folder + "/" + f.Name, Method: zip.Store, Modified: mod}
		h.SetMode(0o644)
		fw, err := w.CreateHeader(h)
		if err != nil {
			return nil, fmt.Errorf("add %s: %w", f.Name, err)
		}
		if _, err := fw.Write(f.Body); err != nil {
			return nil, fmt.Errorf("write %s: %w", f.Name, err)
		}
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("close zip: %w", err)
	}
	return buf.Bytes(), nil
}

// secretRE matches anything shaped like a heepr agent key or personal token.
var secretRE = regexp.MustCompile(`hpr_(?:agent|pat)_[0-9A-Za-z]{6,}`)

// redact removes anything that looks like a secret: an owner who pastes a
// key into a description, or a spec example, must not ship it in a package.
// The replacement is shorter than any match, so length limits still hold.
func redact(b []byte) []byte {
	return secretRE.ReplaceAll(b, []byte("[redacted]"))
}

// text makes s valid UTF-8 without control characters other than newlines
// and tabs, with Windows line ends turned into newlines, trimmed.
func text(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r == '\r':
			return '\n'
		case r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029':
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// oneLine is text with every run of white space turned into one space.
func oneLine(s string) string { return strings.Join(strings.Fields(text(s)), " ") }

func cleanList(in []string) []string {
	out := make([]string, 0, len(in))
	for _, v := range in {
		if v = oneLine(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// truncate cuts s to at most max bytes on a rune boundary, ending with an
// ellipsis when it cut.
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const ell = "…"
	cut := max - len(ell)
	if cut < 0 {
		return ""
	}
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return strings.TrimRight(s[:cut], " ") + ell
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
