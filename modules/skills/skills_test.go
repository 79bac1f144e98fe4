package skills

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	heepr "github.com/heepr/heepr"
	"github.com/heepr/heepr/modules/kernel"
)

// sampleSpec has four agent operations (one through the path's parameters,
// one allowing cookies too), one inheriting the cookie/token default, and
// one public.
const sampleSpec = `openapi: 3.0.3
info: {title: sample, version: "1"}
security:
  - sessionCookie: []
  - personalToken: []
paths:
  /v1/agent/me:
    get:
      operationId: getAgentSelf
      summary: Who am I
      description: Answers the agent's identity.
      security: [{agentKey: []}]
      responses:
        '200':
          description: The agent.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/AgentSelf'}
        '401': {description: No key.}
        default: {description: Error.}
  /v1/agent/events:
    get:
      operationId: pollAgentEvents
      summary: Poll events
      description: A key looks like hpr_agent_0123456789abcdefABCDEF0123456789abcd, never print it.
      security: [{agentKey: []}]
      parameters:
        - {name: cursor, in: query, schema: {type: string}}
        - {name: wait, in: query, description: Seconds to wait., schema: {type: integer, maximum: 30}}
      responses:
        '200': {description: Events.}
  /v1/agent/events/ack:
    post:
      operationId: ackAgentEvents
      summary: Acknowledge events
      security: [{agentKey: []}]
      x-heepr-idempotent: true
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [up_to]
              properties:
                up_to: {type: string, description: The last handled event id.}
                note: {type: string, readOnly: true}
      responses:
        '204': {description: Acknowledged.}
  /v1/conversations/{id}/messages:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
    post:
      operationId: postMessage
      summary: Post a message
      security: [{agentKey: []}, {sessionCookie: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [body]
              properties:
                body: {type: string}
                kind: {type: string, enum: [text, note]}
      responses:
        '201': {description: The message.}
        '404': {description: No such conversation.}
  /v1/me/agents:
    get:
      operationId: listMyAgents
      summary: My agents
      responses:
        '200': {description: Mine.}
  /v1/health:
    get:
      operationId: publicHealth
      security: []
      responses:
        '200': {description: OK.}
components:
  securitySchemes:
    sessionCookie: {type: apiKey, in: cookie, name: heepr_session}
    personalToken: {type: http, scheme: bearer}
    agentKey: {type: http, scheme: bearer, description: 'An agent key (hpr_agent_...).'}
  schemas:
    AgentSelf:
      type: object
      required: [id, handle]
      properties:
        id: {type: string}
        handle: {type: string}
        settings_version: {type: integer}
        polling_interval_seconds: {type: integer}
`

var renderedAt = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.UTC)

func input() Input {
	return Input{
		AgentID: "01J0AGENT", Handle: "copy-smith-2", Name: "Copy Smith", Specialty: "Landing pages that convert",
		Description: "I write landing pages.\n\nShort, clear, tested.",
		Categories:  []string{"writing"}, Skills: []string{"copywriting", "seo"}, Plugins: []string{"web-search"},
		Tiers: []Tier{
			{Name: "Basic", Price: 500, DeliveryDays: 2, Revisions: 1, Description: "One page | one draft"},
			{Name: "Pro", Price: 1500, DeliveryDays: 5, Revisions: 3, Description: "Three pages"},
		},
		PollingIntervalSeconds: 60, AcceptMode: "manual", SettingsVersion: 3, PackageVersion: 4,
		BaseURL: "https://heepr.example/", RenderedAt: renderedAt,
	}
}

func render(t *testing.T, in Input, spec string) Package {
	t.Helper()
	pkg, err := Render(in, []byte(spec))
	require.NoError(t, err)
	return pkg
}

func file(t *testing.T, pkg Package, name string) string {
	t.Helper()
	b, ok := pkg.File(name)
	require.True(t, ok, "package has %s", name)
	return string(b)
}

// frontMatter is SKILL.md split into its front matter lines and its body.
func frontMatter(t *testing.T, skill string) (fm, body string) {
	t.Helper()
	rest, ok := strings.CutPrefix(skill, "---\n")
	require.True(t, ok, "SKILL.md starts with front matter")
	fm, body, ok = strings.Cut(rest, "\n---\n")
	require.True(t, ok, "front matter is closed")
	return fm + "\n", body
}

// parseFrontMatter is a strict parser of the shape the renderer promises:
// top-level "key: <double-quoted scalar>" lines and a "metadata:" block of
// two-space indented "key: <double-quoted scalar>" lines, nothing else.
func parseFrontMatter(t *testing.T, fm string) (map[string]string, map[string]string) {
	t.Helper()
	top, meta := map[string]string{}, map[string]string{}
	line := regexp.MustCompile(`^( {2})?([a-z_-]+):(?: (".*"))?$`)
	inMeta := false
	for _, l := range strings.Split(strings.TrimSuffix(fm, "\n"), "\n") {
		m := line.FindStringSubmatch(l)
		require.NotNil(t, m, "front matter line %q", l)
		switch {
		case m[1] == "" && m[2] == "metadata" && m[3] == "":
			inMeta = true
		case m[3] == "":
			t.Fatalf("key %q has no value", m[2])
		default:
			var v string
			require.NoError(t, json.Unmarshal([]byte(m[3]), &v), "value of %s is a quoted string", m[2])
			if m[1] != "" {
				require.True(t, inMeta, "indented key %q outside metadata", m[2])
				require.NotContains(t, meta, m[2])
				meta[m[2]] = v
			} else {
				inMeta = false
				require.NotContains(t, top, m[2])
				top[m[2]] = v
			}
		}
	}
	return top, meta
}

// yamlFrontMatter reads the front matter with a real YAML parser, the one
// kin-openapi uses (no new module needed): as an x- extension of a stub spec.
func yamlFrontMatter(t *testing.T, fm string) map[string]any {
	t.Helper()
	var doc strings.Builder
	doc.WriteString("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\nx-front:\n")
	for _, l := range strings.Split(strings.TrimSuffix(fm, "\n"), "\n") {
		doc.WriteString("  " + l + "\n")
	}
	d, err := openapi3.NewLoader().LoadFromData([]byte(doc.String()))
	require.NoError(t, err)
	out, ok := d.Extensions["x-front"].(map[string]any)
	require.True(t, ok, "front matter is a YAML mapping, got %T", d.Extensions["x-front"])
	return out
}

func checkFrontMatter(t *testing.T, pkg Package, in Input) {
	t.Helper()
	fm, _ := frontMatter(t, file(t, pkg, SkillFile))
	top, meta := parseFrontMatter(t, fm)
	for k := range top {
		require.Contains(t, []string{"name", "description", "license", "compatibility", "allowed-tools"}, k, "a spec field")
	}
	name := top["name"]
	require.Regexp(t, `^[a-z0-9]+(-[a-z0-9]+)*$`, name)
	require.True(t, len(name) >= 1 && len(name) <= 64)
	require.Equal(t, pkg.Folder, name, "name equals the folder")
	desc := top["description"]
	require.NotEmpty(t, desc)
	require.True(t, utf8.ValidString(desc))
	require.LessOrEqual(t, len(desc), 1024, "bytes")
	require.LessOrEqual(t, utf8.RuneCountInString(desc), 1024, "characters")
	require.Contains(t, desc, "Use this skill when", "says when")
	require.LessOrEqual(t, utf8.RuneCountInString(top["compatibility"]), 500)
	require.Equal(t, map[string]string{
		"agent_id": in.AgentID, "handle": in.Handle, "settings_version": "3", "package_version": "4",
		"base_url": "https://heepr.example", "polling_interval_seconds": "60",
	}, meta)

	y := yamlFrontMatter(t, fm)
	require.Equal(t, name, y["name"])
	require.Equal(t, desc, y["description"])
	ym, ok := y["metadata"].(map[string]any)
	require.True(t, ok)
	require.Len(t, ym, len(meta))
	for k, v := range ym {
		require.IsType(t, "", v, "metadata %s is a string", k)
		require.Equal(t, meta[k], v)
	}
}

func TestFrontMatter(t *testing.T) {
	t.Parallel()
	t.Run("plain", func(t *testing.T) {
		t.Parallel()
		in := input()
		checkFrontMatter(t, render(t, in, sampleSpec), in)
	})
	t.Run("long text", func(t *testing.T) {
		t.Parallel()
		in := input()
		in.Description = strings.Repeat("déjà vu 🚀 ", 500)[:5000]
		in.Name = strings.Repeat("名", 5000)
		in.Specialty = strings.Repeat("🚀", 5000)
		pkg := render(t, in, sampleSpec)
		checkFrontMatter(t, pkg, in)
		fm, _ := frontMatter(t, file(t, pkg, SkillFile))
		top, _ := parseFrontMatter(t, fm)
		require.Contains(t, top["description"], "…")
	})
	t.Run("handle that YAML would read as a number", func(t *testing.T) {
		t.Parallel()
		in := input()
		in.Handle = "1234"
		pkg := render(t, in, sampleSpec)
		fm, _ := frontMatter(t, file(t, pkg, SkillFile))
		require.Equal(t, "1234", yamlFrontMatter(t, fm)["name"])
	})
}

func TestSkillBody(t *testing.T) {
	t.Parallel()
	for name, desc := range map[string]string{
		"short":          "I write landing pages.",
		"5000 newlines":  strings.Repeat("\n", 5000),
		"2500 lines":     strings.Repeat("x\n", 2500),
		"markup and tab": "<script>alert(1)</script>\t| --- |\n---\n# heading",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			in := input()
			in.Description = desc
			pkg := render(t, in, sampleSpec)
			_, body := frontMatter(t, file(t, pkg, SkillFile))
			require.Less(t, strings.Count(body, "\n"), 500)
			for _, f := range []string{RulesFile, APIFile, HeartbeatFile, ManifestFile} {
				require.Contains(t, body, "]("+f+")", "links %s", f)
			}
			require.Contains(t, body, "Copy Smith")
			require.Contains(t, body, "Landing pages that convert")
			require.Contains(t, body, "One page \\| one draft", "table cells escaped")
			require.NotContains(t, body, "<script>")
		})
	}
}

// unzip reads the package's zip back: names and bodies in zip order.
func unzip(t *testing.T, z []byte) []File {
	t.Helper()
	r, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	require.NoError(t, err)
	var out []File
	for _, f := range r.File {
		rc, err := f.Open()
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		require.True(t, f.Modified.Equal(renderedAt.Truncate(time.Second)), "entry time is RenderedAt")
		out = append(out, File{Name: f.Name, Body: b})
	}
	return out
}

func TestZipAndHashes(t *testing.T) {
	t.Parallel()
	in := input()
	pkg := render(t, in, sampleSpec)
	sum := sha256.Sum256(pkg.Zip)
	require.Equal(t, hex.EncodeToString(sum[:]), pkg.SHA256)

	entries := unzip(t, pkg.Zip)
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name
		require.Equal(t, pkg.Files[i].Name, strings.TrimPrefix(e.Name, in.Handle+"/"))
		require.Equal(t, pkg.Files[i].Body, e.Body)
	}
	require.Equal(t, []string{"copy-smith-2/SKILL.md", "copy-smith-2/RULES.md", "copy-smith-2/API.md",
		"copy-smith-2/HEARTBEAT_EVENTS.md", "copy-smith-2/skill.json"}, names)

	var m Manifest
	manifest := entries[len(entries)-1]
	require.Equal(t, in.Handle+"/skill.json", manifest.Name)
	dec := json.NewDecoder(bytes.NewReader(manifest.Body))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&m))
	require.Len(t, m.Files, len(entries)-1, "a hash for every other file")
	for _, e := range entries[:len(entries)-1] {
		sum := sha256.Sum256(e.Body)
		require.Equal(t, hex.EncodeToString(sum[:]), m.Files[strings.TrimPrefix(e.Name, in.Handle+"/")], e.Name)
	}

	require.Equal(t, in.AgentID, m.AgentID)
	require.Equal(t, in.Handle, m.Handle)
	require.Equal(t, in.Name, m.Name)
	require.Equal(t, "https://heepr.example/v1", m.APIBaseURL)
	require.Equal(t, 60, m.PollingIntervalSeconds)
	require.Equal(t, 3, m.SettingsVersion)
	require.Equal(t, 4, m.PackageVersion)
	require.Equal(t, EventTypes, m.EventTypes)
	require.Equal(t, Endpoint{Method: http.MethodGet, Path: "/v1/agent/me", URL: "https://heepr.example/v1/agent/me"}, m.Endpoints["getAgentSelf"])
	require.Equal(t, Endpoint{Method: http.MethodPost, Path: "/v1/conversations/{id}/messages",
		URL: "https://heepr.example/v1/conversations/{id}/messages"}, m.Endpoints["postMessage"])
	require.Len(t, m.Endpoints, 4)
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	in := input()
	a := render(t, in, sampleSpec)
	b := render(t, in, sampleSpec)
	require.Equal(t, a.Zip, b.Zip)
	require.Equal(t, a.SHA256, b.SHA256)

	// The same instant in another zone, with other nanoseconds, is the same package.
	same := input()
	same.RenderedAt = renderedAt.Truncate(time.Second).In(time.FixedZone("x", 5*3600+1800))
	require.Equal(t, a.SHA256, render(t, same, sampleSpec).SHA256)

	doc, err := ParseSpec([]byte(sampleSpec))
	require.NoError(t, err)
	c, err := RenderSpec(in, doc)
	require.NoError(t, err)
	require.Equal(t, a.Zip, c.Zip, "Render and RenderSpec agree")

	settings := input()
	settings.SettingsVersion++
	pkgVer := input()
	pkgVer.PackageVersion++
	later := input()
	later.RenderedAt = renderedAt.Add(time.Hour)
	seen := map[string]string{a.SHA256: "base"}
	for name, in := range map[string]Input{"settings version": settings, "package version": pkgVer, "render time": later} {
		h := render(t, in, sampleSpec).SHA256
		require.NotContains(t, seen, h, "%s changes the hash", name)
		seen[h] = name
	}
}

// agentOps lists operationIds whose effective security names agentKey,
// read straight from the document (independently of the renderer).
func agentOps(t *testing.T, doc *openapi3.T) (agent, other []string) {
	t.Helper()
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			reqs := doc.Security
			if op.Security != nil {
				reqs = *op.Security
			}
			if slices.ContainsFunc(reqs, func(r openapi3.SecurityRequirement) bool { _, ok := r["agentKey"]; return ok }) {
				agent = append(agent, op.OperationID)
			} else {
				other = append(other, op.OperationID)
			}
		}
	}
	return agent, other
}

func checkAPI(t *testing.T, spec []byte) (api string, agent []string) {
	t.Helper()
	pkg, err := Render(input(), spec)
	require.NoError(t, err)
	api = file(t, pkg, APIFile)
	doc, err := ParseSpec(spec)
	require.NoError(t, err)
	agent, other := agentOps(t, doc)
	for _, id := range agent {
		require.Contains(t, api, "### "+id+"\n", "agent operation %s documented", id)
	}
	for _, id := range other {
		require.NotContains(t, api, "### "+id+"\n", "non-agent operation %s left out", id)
		require.NotContains(t, api, "[`"+id+"`]", "non-agent operation %s left out", id)
	}
	require.Contains(t, api, "Authorization: Bearer $HEEPR_AGENT_KEY")
	require.Contains(t, api, "https://heepr.example")
	require.Contains(t, api, "application/problem+json")
	require.Contains(t, api, "Idempotency-Key")
	return api, agent
}

func TestAPISample(t *testing.T) {
	t.Parallel()
	api, agent := checkAPI(t, []byte(sampleSpec))
	require.ElementsMatch(t, []string{"getAgentSelf", "pollAgentEvents", "ackAgentEvents", "postMessage"}, agent)
	for _, want := range []string{
		"`GET /v1/agent/me`",
		"`POST /v1/conversations/{id}/messages`",
		"| `id` | path | yes | string |", // a path-level parameter
		"| `wait` | query | no | integer | Seconds to wait. |",
		"| `up_to` | yes | string | The last handled event id. |", // body field
		"| `kind` | no | string, one of: text, note |",
		"Response (`application/json`): AgentSelf",
		"| `settings_version` | no | integer |",
		"Success: **201** (The message.)",
		"Success: **204**",
		"- 404: No such conversation.",
		"`POST /v1/agent/events/ack` · *idempotent",
		"curl -sS -H \"Authorization: Bearer $HEEPR_AGENT_KEY\" https://heepr.example/v1/agent/me",
	} {
		require.Contains(t, api, want)
	}
	for _, gone := range []string{"listMyAgents", "/v1/me/agents", "publicHealth", "/v1/health"} {
		require.NotContains(t, api, gone)
	}
	require.NotContains(t, api, "`note`", "read-only fields are not request fields")
	require.NotContains(t, api, "declares no operation")
}

func TestAPIRealSpec(t *testing.T) {
	t.Parallel()
	api, agent := checkAPI(t, heepr.OpenAPI)
	if len(agent) == 0 {
		require.Contains(t, api, "declares no operation for agent")
	}
}

func TestNoSecrets(t *testing.T) {
	t.Parallel()
	key := kernel.NewToken(kernel.AgentKeyPrefix)
	pat := kernel.NewToken(kernel.PersonalTokenPrefix)
	in := input()
	in.Description = "my key is " + key + " and " + pat
	in.Specialty = key
	in.Skills = append(in.Skills, key)
	in.Tiers[0].Description = key
	keyish := regexp.MustCompile(`hpr_(agent|pat)_[0-9A-Za-z]`)
	for _, spec := range [][]byte{[]byte(sampleSpec), heepr.OpenAPI} {
		pkg, err := Render(in, spec)
		require.NoError(t, err)
		for _, f := range unzip(t, pkg.Zip) {
			require.NotRegexp(t, keyish, string(f.Body), "%s holds something shaped like a key", f.Name)
			require.NotContains(t, string(f.Body), key[len(kernel.AgentKeyPrefix):])
		}
		checkFrontMatter(t, pkg, in)
	}
}

func TestHeartbeat(t *testing.T) {
	t.Parallel()
	pkg := render(t, input(), sampleSpec)
	hb := file(t, pkg, HeartbeatFile)
	require.Len(t, eventDocs, len(EventTypes), "no documented type is missing from EventTypes")
	for _, e := range EventTypes {
		require.Contains(t, hb, "### `"+e+"`\n", "%s documented", e)
		require.NotEmpty(t, eventDocs[e].what, e)
		require.NotEmpty(t, eventDocs[e].do, e)
	}
	for _, want := range []string{"every **60 seconds**", "`wait`", "up to 30 seconds", "poll_after_seconds",
		"ackAgentEvents", "`up_to`", "redelivered", "When to tell your human owner", "HEARTBEAT_OK"} {
		require.Contains(t, hb, want)
	}
	for _, e := range []string{"order.created", "order.approved", "order.cancelled", "message.created", "quote.accepted",
		"quote.declined", "delivery.rejected", "delivery.released", "revision.requested", "order.completed",
		"order.disputed", "agent.suspended", "agent.reinstated", "settings.changed", "human.requested"} {
		require.Contains(t, EventTypes, e)
	}
}

func TestRules(t *testing.T) {
	t.Parallel()
	rules := file(t, render(t, input(), sampleSpec), RulesFile)
	for _, want := range []string{"scope", "outside heepr", "did not do", "private", "deadline",
		"revision", "human", "malware", "plagiar", "personal data", "deceptive", "API key"} {
		require.Contains(t, strings.ToLower(rules), strings.ToLower(want))
	}
}

func TestInvalidInput(t *testing.T) {
	t.Parallel()
	cases := map[string]func(*Input){
		"empty handle":      func(in *Input) { in.Handle = "" },
		"leading hyphen":    func(in *Input) { in.Handle = "-abc" },
		"trailing hyphen":   func(in *Input) { in.Handle = "abc-" },
		"double hyphen":     func(in *Input) { in.Handle = "a--b" },
		"upper case":        func(in *Input) { in.Handle = "Abc" },
		"65 chars":          func(in *Input) { in.Handle = strings.Repeat("a", 65) },
		"no agent id":       func(in *Input) { in.AgentID = " " },
		"no name":           func(in *Input) { in.Name = "" },
		"no cadence":        func(in *Input) { in.PollingIntervalSeconds = 0 },
		"no settings ver":   func(in *Input) { in.SettingsVersion = 0 },
		"no package ver":    func(in *Input) { in.PackageVersion = 0 },
		"relative base":     func(in *Input) { in.BaseURL = "/heepr" },
		"credentials":       func(in *Input) { in.BaseURL = "https://u:p@heepr.example" },
		"no render time":    func(in *Input) { in.RenderedAt = time.Time{} },
		"ftp base":          func(in *Input) { in.BaseURL = "ftp://heepr.example" },
		"query in base url": func(in *Input) { in.BaseURL = "https://heepr.example/?k=v" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			in := input()
			mutate(&in)
			_, err := Render(in, []byte(sampleSpec))
			require.ErrorIs(t, err, kernel.ErrInvalid)
		})
	}
	t.Run("64-char handle is fine", func(t *testing.T) {
		t.Parallel()
		in := input()
		in.Handle = strings.Repeat("a", 63) + "b"
		checkFrontMatter(t, render(t, in, sampleSpec), in)
	})
	t.Run("bad spec", func(t *testing.T) {
		t.Parallel()
		_, err := Render(input(), []byte("openapi: ["))
		require.Error(t, err)
	})
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	require.Equal(t, "abc", truncate("abc", 3))
	for _, s := range []string{strings.Repeat("é", 100), strings.Repeat("🚀", 100), strings.Repeat("a名🚀", 50)} {
		for max := 3; max < 40; max++ {
			got := truncate(s, max)
			require.True(t, utf8.ValidString(got), "%q cut to %d", s, max)
			require.LessOrEqual(t, len(got), max)
			require.True(t, strings.HasSuffix(got, "…"))
		}
	}
}
