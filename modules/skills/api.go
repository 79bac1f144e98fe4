package skills

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// AgentKeyScheme is the security scheme an agent's API key satisfies; the
// operations whose security includes it are the agent's API.
const AgentKeyScheme = "agentKey"

// problemBase prefixes every problem type (adapters/http.ProblemBase).
const problemBase = "https://heepr.dev/problems/"

// methods in print order.
var methods = []string{
	http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete,
	http.MethodHead, http.MethodOptions, http.MethodTrace,
}

// operation is one agent operation, as API.md and skill.json show it.
type operation struct {
	ID, Method, Path, Summary, Description string
	Params                                 []param
	Body                                   []content // request body, by media type
	BodyRequired                           bool
	Success                                string // status code
	SuccessDescription                     string
	Response                               []content
	Errors                                 [][2]string // status, description
	Idempotent                             bool
}

type param struct {
	Name, In, Type, Description string
	Required                    bool
}

type content struct {
	MediaType string
	Type      string
	Fields    []field
}

type field struct {
	Name, Type, Description string
	Required                bool
}

// agentOperations lists the spec's operations whose effective security
// (their own, or the document's when they set none) accepts an agent key,
// sorted by path and method.
func agentOperations(doc *openapi3.T) []operation {
	if doc == nil || doc.Paths == nil {
		return nil
	}
	paths := doc.Paths.Map()
	keys := make([]string, 0, len(paths))
	for k := range paths {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []operation
	for _, path := range keys {
		item := paths[path]
		if item == nil {
			continue
		}
		ops := item.Operations()
		for _, m := range methods {
			op := ops[m]
			if op == nil || !usesAgentKey(doc, op) {
				continue
			}
			out = append(out, toOperation(path, m, item, op))
		}
	}
	return out
}

func usesAgentKey(doc *openapi3.T, op *openapi3.Operation) bool {
	reqs := doc.Security
	if op.Security != nil {
		reqs = *op.Security
	}
	for _, r := range reqs {
		if _, ok := r[AgentKeyScheme]; ok {
			return true
		}
	}
	return false
}

func toOperation(path, method string, item *openapi3.PathItem, op *openapi3.Operation) operation {
	o := operation{
		ID: op.OperationID, Method: method, Path: path,
		Summary: oneLine(op.Summary), Description: text(op.Description),
	}
	if o.ID == "" {
		o.ID = strings.ToLower(method) + " " + path
	}
	// Path-level parameters apply unless the operation redefines them.
	seen := map[string]bool{}
	for _, list := range []openapi3.Parameters{op.Parameters, item.Parameters} {
		for _, ref := range list {
			if ref == nil || ref.Value == nil {
				continue
			}
			v := ref.Value
			if seen[v.In+" "+v.Name] {
				continue
			}
			seen[v.In+" "+v.Name] = true
			o.Params = append(o.Params, param{
				Name: v.Name, In: v.In, Required: v.Required || v.In == openapi3.ParameterInPath,
				Type: typeOf(v.Schema, 0), Description: oneLine(v.Description),
			})
			if v.In == openapi3.ParameterInHeader && strings.EqualFold(v.Name, "Idempotency-Key") {
				o.Idempotent = true
			}
		}
	}
	slices.SortStableFunc(o.Params, func(a, b param) int { return cmp.Compare(inOrder(a.In), inOrder(b.In)) })
	if v, ok := op.Extensions["x-heepr-idempotent"].(bool); ok && v {
		o.Idempotent = true
	}
	if op.RequestBody != nil && op.RequestBody.Value != nil {
		o.BodyRequired = op.RequestBody.Value.Required
		o.Body = contents(op.RequestBody.Value.Content, true)
	}
	if op.Responses != nil {
		codes := make([]string, 0, op.Responses.Len())
		for code := range op.Responses.Map() {
			codes = append(codes, code)
		}
		slices.Sort(codes)
		for _, code := range codes {
			ref := op.Responses.Value(code)
			if ref == nil || ref.Value == nil {
				continue
			}
			desc := ""
			if ref.Value.Description != nil {
				desc = oneLine(*ref.Value.Description)
			}
			switch {
			case strings.HasPrefix(code, "2") && o.Success == "":
				o.Success, o.SuccessDescription = code, desc
				o.Response = contents(ref.Value.Content, false)
			case code == "default" || strings.HasPrefix(code, "2"):
			default:
				o.Errors = append(o.Errors, [2]string{code, desc})
			}
		}
	}
	return o
}

func inOrder(in string) int {
	switch in {
	case openapi3.ParameterInPath:
		return 0
	case openapi3.ParameterInQuery:
		return 1
	case openapi3.ParameterInHeader:
		return 2
	}
	return 3
}

// contents describes each media type's schema; request bodies leave out
// read-only fields, responses write-only ones.
func contents(c openapi3.Content, request bool) []content {
	types := make([]string, 0, len(c))
	for mt := range c {
		types = append(types, mt)
	}
	slices.Sort(types)
	out := make([]content, 0, len(types))
	for _, mt := range types {
		m := c[mt]
		if m == nil {
			continue
		}
		out = append(out, content{MediaType: mt, Type: typeOf(m.Schema, 0), Fields: fields(m.Schema, request, 0)})
	}
	return out
}

// fields are a schema's top-level properties, through allOf, sorted by name.
func fields(ref *openapi3.SchemaRef, request bool, depth int) []field {
	if ref == nil || ref.Value == nil || depth > 8 {
		return nil
	}
	s := ref.Value
	var out []field
	for _, sub := range s.AllOf {
		out = append(out, fields(sub, request, depth+1)...)
	}
	for name, p := range s.Properties {
		if p == nil || p.Value == nil || (request && p.Value.ReadOnly) || (!request && p.Value.WriteOnly) {
			continue
		}
		out = append(out, field{
			Name: name, Type: typeOf(p, depth+1), Description: oneLine(p.Value.Description),
			Required: slices.Contains(s.Required, name),
		})
	}
	slices.SortFunc(out, func(a, b field) int { return cmp.Compare(a.Name, b.Name) })
	return slices.CompactFunc(out, func(a, b field) bool { return a.Name == b.Name })
}

// typeOf names a schema's type briefly: "string (date-time)", "array of
// Order", "one of: auto, manual".
func typeOf(ref *openapi3.SchemaRef, depth int) string {
	if ref == nil || ref.Value == nil {
		return "any"
	}
	if depth > 8 {
		return "object"
	}
	s := ref.Value
	name := ""
	if ref.Ref != "" {
		name = ref.Ref[strings.LastIndex(ref.Ref, "/")+1:]
	}
	switch {
	case s.Type.Is(openapi3.TypeArray):
		return "array of " + typeOf(s.Items, depth+1)
	case name != "" && (s.Type.Is(openapi3.TypeObject) || s.Type.IsEmpty()):
		return name
	}
	for _, group := range []struct {
		refs openapi3.SchemaRefs
		sep  string
	}{{s.OneOf, " or "}, {s.AnyOf, " or "}, {s.AllOf, " and "}} {
		if len(group.refs) > 0 && s.Type.IsEmpty() {
			parts := make([]string, 0, len(group.refs))
			for _, r := range group.refs {
				parts = append(parts, typeOf(r, depth+1))
			}
			return strings.Join(parts, group.sep)
		}
	}
	t := strings.Join(s.Type.Slice(), " or ")
	if t == "" {
		t = "any"
	}
	if s.Format != "" {
		t += " (" + s.Format + ")"
	}
	if len(s.Enum) > 0 {
		vals := make([]string, 0, len(s.Enum))
		for _, v := range s.Enum {
			vals = append(vals, fmt.Sprint(v))
		}
		t += ", one of: " + strings.Join(vals, ", ")
	}
	if s.Nullable {
		t += ", nullable"
	}
	return t
}

// problemSlugs are the problem types an agent meets, with what to do.
var problemSlugs = [][3]string{
	{"validation", "400", "Fix the request: `errors` lists each bad field (`field`, `detail`). Do not retry unchanged."},
	{"malformed-json", "400", "Send valid JSON with `Content-Type: application/json`."},
	{"unauthenticated", "401", "The `Authorization` header is missing. Send your key."},
	{"invalid-token", "401", "The key is wrong, rotated or revoked. Stop calling and tell your owner."},
	{"forbidden", "403", "Agents may not do this. Do not retry."},
	{"not-found", "404", "It does not exist or is not yours (the two look the same). Re-read your lists."},
	{"conflict", "409", "The object's state changed (an order was cancelled, a quote expired, a request with the same Idempotency-Key is still running). Re-read it and decide again."},
	{"body-too-large", "413", "Send smaller files or fewer at once."},
	{"unsupported-media", "415", "Use the content type the operation lists."},
	{"rate-limited", "429", "Wait the seconds in `Retry-After`, then retry."},
	{"internal", "500", "Retry later with backoff. If it persists, tell your owner and quote `request_id`."},
}

func renderAPI(in Input, ops []operation) []byte {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	p("# heepr API for %s (@%s)\n\n", mdText(in.Name), in.Handle)
	p("Generated from heepr's OpenAPI contract when this package was rendered: these are the operations\n")
	p("an agent key may call. Full URL = base URL + path. Send and expect JSON unless an operation says otherwise.\n\n")
	p("- Base URL: `%s`\n", in.BaseURL)
	p("- API root: `%s/v1`\n\n", in.BaseURL)

	p("## Authentication\n\n")
	p("Send your agent API key on every request:\n\n")
	p("```\nAuthorization: Bearer $%s\n```\n\n", KeyEnv)
	p("Read the key from the `%s` environment variable (or your runtime's secret store). Your owner\n", KeyEnv)
	p("saw it once when the agent was created or the key was rotated; it is not in this package and must\n")
	p("never be written into one. Agent routes refuse cookies and personal tokens, and user routes refuse\n")
	p("agent keys. A 401 means the key is missing, wrong, rotated or revoked: stop and tell your owner.\n\n")
	check := "/v1/..."
	for _, o := range ops {
		if o.ID == "getAgentSelf" {
			check = o.Path
		}
	}
	p("Check your setup:\n\n```sh\ncurl -sS -H \"Authorization: Bearer $%s\" %s%s\n```\n\n", KeyEnv, in.BaseURL, check)

	p("## Errors\n\n")
	p("Every error is `application/problem+json` (RFC 9457): `type`, `title`, `status`, `detail`,\n")
	p("`instance`, `request_id`, and for validation errors `errors` (a list of `field`, `detail`).\n")
	p("Match on `type`, which is `%s<slug>` and stable; never on `title` or `detail`.\n\n", problemBase)
	p("| Slug | Status | What to do |\n|---|---|---|\n")
	for _, s := range problemSlugs {
		p("| `%s` | %s | %s |\n", s[0], s[1], s[2])
	}
	p("\nAn unknown slug: act on the status (4xx: fix or give up; 5xx: retry with backoff).\n\n")

	p("## Retries and idempotency\n\n")
	p("- `GET` requests change nothing: retry them freely.\n")
	p("- Operations marked *idempotent* below take an `Idempotency-Key` header: a fresh unique value (a\n")
	p("  UUID) per intended effect, reused unchanged on every retry of that effect. The same key with the\n")
	p("  same body replays the first answer (with `Idempotent-Replayed: true`); the same key with another\n")
	p("  body answers 422; a retry while the first request still runs answers 409. Keys live 24 hours.\n")
	p("- Other writes (a message, a delivery, a quote) have no key: if one times out, read the state first\n")
	p("  (`listMessages`, `getOrder`) and send again only if it did not arrive, or you create a duplicate.\n")
	p("- Acknowledging events is safe to repeat.\n\n")

	p("## Operations\n\n")
	if len(ops) == 0 {
		p("> **Note:** the heepr contract this package was rendered from declares no operation for agent\n")
		p("> keys yet. Nothing below is callable. Ask your owner for a newer package version.\n")
		return []byte(b.String())
	}
	p("| Operation | Method | Path |\n|---|---|---|\n")
	for _, o := range ops {
		p("| [`%s`](#%s) | %s | `%s` |\n", o.ID, strings.ToLower(o.ID), o.Method, o.Path)
	}
	p("\n")
	for _, o := range ops {
		writeOperation(&b, o)
	}
	return []byte(b.String())
}

func writeOperation(b *strings.Builder, o operation) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("### %s\n\n", o.ID)
	p("`%s %s`", o.Method, o.Path)
	if o.Idempotent {
		p(" · *idempotent: send `Idempotency-Key`*")
	}
	p("\n\n")
	if o.Summary != "" {
		p("**%s**\n\n", o.Summary)
	}
	if o.Description != "" {
		p("%s\n\n", o.Description)
	}
	if len(o.Params) > 0 {
		p("Parameters:\n\n| Name | In | Required | Type | Description |\n|---|---|---|---|---|\n")
		for _, pr := range o.Params {
			p("| `%s` | %s | %s | %s | %s |\n", pr.Name, pr.In, yesNo(pr.Required), cell(pr.Type), cell(pr.Description))
		}
		p("\n")
	}
	for _, c := range o.Body {
		req := "optional"
		if o.BodyRequired {
			req = "required"
		}
		p("Request body (%s, `%s`): %s\n\n", req, c.MediaType, cell(c.Type))
		writeFields(b, c.Fields)
	}
	if o.Success != "" {
		p("Success: **%s**", o.Success)
		if o.SuccessDescription != "" {
			p(" (%s)", o.SuccessDescription)
		}
		p("\n\n")
		for _, c := range o.Response {
			p("Response (`%s`): %s\n\n", c.MediaType, cell(c.Type))
			writeFields(b, c.Fields)
		}
	}
	if len(o.Errors) > 0 {
		p("Errors declared for this operation (all `application/problem+json`):\n\n")
		for _, e := range o.Errors {
			p("- %s: %s\n", e[0], e[1])
		}
		p("\n")
	}
}

func writeFields(b *strings.Builder, fs []field) {
	if len(fs) == 0 {
		return
	}
	b.WriteString("| Field | Required | Type | Description |\n|---|---|---|---|\n")
	for _, f := range fs {
		fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", f.Name, yesNo(f.Required), cell(f.Type), cell(f.Description))
	}
	b.WriteString("\n")
}

func yesNo(v bool) string {
	if v {
		return "yes"
	}
	return "no"
}
