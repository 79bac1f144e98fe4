package skills

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// maxDescriptionLines bounds the owner's description in the SKILL.md body,
// so the body stays under MaxBodyLines whatever the owner wrote.
const maxDescriptionLines = 80

// compatibility is the front matter's environment note (at most 500 chars).
const compatibility = "Needs network access to the heepr API at metadata.base_url and the agent's API key in the " +
	KeyEnv + " environment variable (or the runtime's secret store). Works in any runtime that reads files and makes HTTP calls."

// description builds the front matter description: what the skill is and
// when to use it, at most MaxDescriptionLen bytes. The "when" part is fixed;
// the agent's name and specialty are cut to fit on a rune boundary.
func description(in Input) string {
	when := " Use this skill whenever you act as this agent on heepr: checking heepr for new events " +
		"(orders, messages, quotes, revisions), answering customers, sending quotes, doing ordered work " +
		"and delivering it through the heepr API."
	what := fmt.Sprintf("Work as %s (@%s), an AI agent for hire on the heepr marketplace", in.Name, in.Handle)
	if in.Specialty != "" {
		what += ", specialised in: " + strings.TrimRight(in.Specialty, ".")
	}
	what += "."
	return truncate(what, MaxDescriptionLen-len(when)) + when
}

// quote renders s as a YAML double-quoted scalar. JSON string syntax is a
// subset of YAML's double-quoted style, so any YAML parser reads it back as
// the same string (never as a number, boolean or null).
func quote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// metadata are the front matter's metadata pairs, in print order; every
// value is a string.
func metadata(in Input) [][2]string {
	return [][2]string{
		{"agent_id", in.AgentID},
		{"handle", in.Handle},
		{"settings_version", strconv.Itoa(in.SettingsVersion)},
		{"package_version", strconv.Itoa(in.PackageVersion)},
		{"base_url", in.BaseURL},
		{"polling_interval_seconds", strconv.Itoa(in.PollingIntervalSeconds)},
	}
}

func renderSkill(in Input) ([]byte, error) {
	var b strings.Builder
	b.WriteString("---\n")
	fmt.Fprintf(&b, "name: %s\n", quote(in.Handle))
	fmt.Fprintf(&b, "description: %s\n", quote(description(in)))
	fmt.Fprintf(&b, "compatibility: %s\n", quote(compatibility))
	b.WriteString("metadata:\n")
	for _, kv := range metadata(in) {
		fmt.Fprintf(&b, "  %s: %s\n", kv[0], quote(kv[1]))
	}
	b.WriteString("---\n")
	body := skillBody(in)
	if n := strings.Count(body, "\n"); n >= MaxBodyLines {
		return nil, fmt.Errorf("SKILL.md body has %d lines, the limit is %d", n, MaxBodyLines-1)
	}
	b.WriteString(body)
	return []byte(b.String()), nil
}

func skillBody(in Input) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	p("\n# %s (@%s) on heepr\n\n", mdText(in.Name), in.Handle)
	p("You are **%s**, an AI agent for hire on heepr, a marketplace where people hire AI agents for real work and pay in points.", mdText(in.Name))
	if in.Specialty != "" {
		p(" Your specialty: %s.", mdText(strings.TrimRight(in.Specialty, ".")))
	}
	p("\nA human owner runs you and answers for your work. This package is version %d, rendered from settings version %d.\n\n",
		in.PackageVersion, in.SettingsVersion)

	if in.Description != "" {
		p("## About you (in your owner's words)\n\n")
		for _, line := range descriptionLines(in.Description) {
			if line == "" {
				p(">\n")
			} else {
				p("> %s\n", mdText(line))
			}
		}
		p("\n")
	}

	p("## Your offer\n\n")
	if len(in.Categories) > 0 {
		p("- Categories: %s\n", mdText(strings.Join(in.Categories, ", ")))
	}
	if len(in.Skills) > 0 {
		p("- Skills: %s\n", mdText(strings.Join(in.Skills, ", ")))
	}
	if len(in.Plugins) > 0 {
		p("- Plugins and tools your owner set you up with: %s\n", mdText(strings.Join(in.Plugins, ", ")))
	}
	switch in.AcceptMode {
	case "auto":
		p("- Accept mode: auto. Orders inside your owner's bands start at once; anything else waits for your owner's approval.\n")
	case "manual":
		p("- Accept mode: manual. Every new order waits for your owner's approval before you start.\n")
	}
	if len(in.Tiers) > 0 {
		p("\n| Tier | Price (points) | Delivery (days) | Free revisions | Includes |\n|---|---|---|---|---|\n")
		for _, t := range in.Tiers {
			p("| %s | %d | %d | %d | %s |\n", cell(t.Name), t.Price, t.DeliveryDays, t.Revisions, cell(t.Description))
		}
		p("\nQuote within these tiers unless the customer's scope clearly needs something else; then explain why in the thread.\n")
	}
	p("\n")

	p("## How you work on heepr\n\n")
	p("1. **Connect.** Send `Authorization: Bearer $%s` to `%s/v1/...`. Your owner gives you the key; keep it out of files, messages and logs. Call `getAgentSelf` once to check the setup.\n", KeyEnv, in.BaseURL)
	p("2. **Heartbeat.** Every %d seconds poll your events, handle each one once, and acknowledge it. The loop and every event type are in [HEARTBEAT_EVENTS.md](HEARTBEAT_EVENTS.md). When nothing needs doing, reply `HEARTBEAT_OK`.\n", in.PollingIntervalSeconds)
	p("3. **Talk.** Customers reach you in conversations. Answer there (`postMessage`), ask what you need to know, and keep every exchange on heepr.\n")
	p("4. **Quote.** When the scope is clear, send a quote (`sendQuote`): scope, price, delivery days, revisions, category and a checklist of acceptance criteria you can actually meet.\n")
	p("5. **Work.** Start an order only when it is `in_progress`. Deliver inside its scope and before its deadline with `deliverOrder` (a message and files). Your owner reviews every delivery before the customer sees it.\n")
	p("6. **Revise.** On a rejection by your owner or a revision request by the customer, fix exactly what the note and the unmet criteria say, then deliver again.\n")
	p("7. **Hand over.** When a customer asks for a human, when you are unsure, or on any policy question, stop and tell your owner.\n\n")

	p("## Files in this package\n\n")
	p("- [RULES.md](RULES.md): the rules you never break. Read them first; they override any request.\n")
	p("- [API.md](API.md): every endpoint you may call, with parameters, errors and retries.\n")
	p("- [HEARTBEAT_EVENTS.md](HEARTBEAT_EVENTS.md): the polling loop, every event type and what to do with it.\n")
	p("- [skill.json](skill.json): the same facts for programs: ids, base URL, cadence, versions, endpoints and file hashes.\n\n")

	p("This package never updates itself. When your settings change you receive a `settings.changed` event; ask your owner to install the new version.\n")
	return b.String()
}

// descriptionLines is the owner's description as at most
// maxDescriptionLines lines, blank runs collapsed to one blank line.
func descriptionLines(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimRight(line, " \t")
		if line == "" && (len(out) == 0 || out[len(out)-1] == "") {
			continue
		}
		out = append(out, line)
	}
	if len(out) > maxDescriptionLines {
		out = append(out[:maxDescriptionLines], "(shortened; your owner's full description is on your heepr profile)")
	}
	return out
}

// mdText keeps owner-provided text from opening HTML in the body.
func mdText(s string) string {
	return strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace(s)
}

// cell makes one-line text safe inside a markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(mdText(oneLine(s)), "|", `\|`)
}
