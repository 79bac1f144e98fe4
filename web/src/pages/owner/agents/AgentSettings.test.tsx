import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { fakeApi, json, problem, renderAt } from "../../../test/harness";
import type { Schemas } from "../../../api/client";
import { AgentSettingsPage } from "./AgentSettings";
import { me, ownerAgent } from "./testdata";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const click = (name: string | RegExp) => fireEvent.click(screen.getByRole("button", { name }));
const type = (label: string, value: string, scope: HTMLElement = document.body) =>
  fireEvent.change(within(scope).getByLabelText(label), { target: { value } });

async function open(agent: Schemas["OwnerAgent"], routes: Parameters<typeof fakeApi>[0] = {}) {
  const calls = fakeApi({
    ...me,
    "GET /v1/me/agents": () => json(200, { items: [agent] }),
    "GET /v1/agents/ag1/versions": () => json(200, { items: [{ version: 1, created_at: "2026-02-01T10:00:00Z", settings: { name: agent.name, tiers: agent.tiers } }] }),
    "GET /v1/agents/ag1/webhook": () => problem(404, "not-found", "webhook not found"),
    ...routes,
  });
  renderAt(<AgentSettingsPage />, { url: "/owner/agents/ag1", path: "/owner/agents/:id" });
  await screen.findByRole("heading", { level: 1, name: "Settings for @logo-maker" });
  return calls;
}

const edit = () => screen.getByRole("region", { name: "Edit settings" });

describe("AgentSettings", { timeout: 20_000 }, () => {
  it("sends only the settings that changed, and nothing when nothing changed", async () => {
    const agent = ownerAgent();
    const calls = await open(agent, {
      "PATCH /v1/agents/ag1": async (req) => {
        const body = await req.json();
        return json(200, { ...agent, ...body, settings_version: 2 });
      },
    });
    click("Save changes");
    expect(await within(edit()).findByText(/Nothing has changed/)).toBeTruthy();
    expect(calls.filter((c) => c.method === "PATCH")).toHaveLength(0);

    type("Name", "Logo Maker Pro", edit());
    type("Price (points)", "80", within(edit()).getByRole("group", { name: "Tier 1" }));
    click("Save changes");
    expect(await within(edit()).findByText(/Saved as settings version 2/)).toBeTruthy();
    const patch = calls.find((c) => c.method === "PATCH")!;
    expect(patch.path).toBe("/v1/agents/ag1");
    expect(JSON.parse(patch.body)).toEqual({
      name: "Logo Maker Pro",
      tiers: [{ name: "Basic", price: 80, delivery_days: 2, revisions: 1, description: "One logo" }],
    });
    // Versions are fetched again after a save.
    await waitFor(() => expect(calls.filter((c) => c.path === "/v1/agents/ag1/versions")).toHaveLength(2));
  });

  it("sends the bands when switching to automatic, and only the mode when switching back", async () => {
    const agent = ownerAgent({ accept_mode: "auto", auto_bands: { min_price: 0, max_price: 100, categories: [], max_revisions: 2, max_active_orders: 3 } });
    const calls = await open(agent, { "PATCH /v1/agents/ag1": () => json(200, { ...agent, accept_mode: "manual", auto_bands: undefined, settings_version: 2 }) });
    fireEvent.click(within(edit()).getByRole("radio", { name: /Manual/ }));
    click("Save changes");
    await waitFor(() => expect(calls.filter((c) => c.method === "PATCH")).toHaveLength(1));
    expect(JSON.parse(calls.find((c) => c.method === "PATCH")!.body)).toEqual({ accept_mode: "manual" });
  });

  it("shows the API's problems beside the fields they name", async () => {
    await open(ownerAgent(), {
      "PATCH /v1/agents/ag1": () =>
        problem(400, "validation", "the request has invalid fields", [
          { field: "tiers.0.price", detail: "number must be at least 1" },
          { field: "skills[1]", detail: "must be at most 40 characters" },
        ]),
    });
    type("Price (points)", "0", within(edit()).getByRole("group", { name: "Tier 1" }));
    click("Save changes");
    const price = within(within(edit()).getByRole("group", { name: "Tier 1" })).getByLabelText("Price (points)");
    await waitFor(() => expect(price.getAttribute("aria-invalid")).toBe("true"));
    expect(document.getElementById(price.getAttribute("aria-describedby")!.split(" ").pop()!)?.textContent).toBe("number must be at least 1");
    expect(within(edit()).getByLabelText("Skills").getAttribute("aria-invalid")).toBe("true");
    expect(within(edit()).getByText("Skill 2: must be at most 40 characters")).toBeTruthy();
    expect(within(edit()).getByRole("alert").textContent).toMatch(/Nothing was saved/);
  });

  it("publishes a draft and pauses an active agent", async () => {
    const agent = ownerAgent();
    const calls = await open(agent, {
      "POST /v1/agents/ag1/publish": () => json(200, { ...agent, status: "active" }),
      "POST /v1/agents/ag1/pause": () => json(200, { ...agent, status: "paused" }),
    });
    const status = screen.getByRole("region", { name: "Status" });
    expect(within(status).queryByRole("button", { name: "Pause" })).toBeNull();
    fireEvent.click(within(status).getByRole("button", { name: "Publish" }));
    await within(status).findByRole("button", { name: "Pause" });
    expect(within(status).getByText(/On the market/)).toBeTruthy();
    expect(within(status).getByRole("link", { name: "View public profile" }).getAttribute("href")).toBe("/agents/logo-maker");
    fireEvent.click(within(status).getByRole("button", { name: "Pause" }));
    await within(status).findByRole("button", { name: "Publish" });
    expect(within(status).getByText(/Paused: off the market/)).toBeTruthy();
    expect(calls.filter((c) => c.method === "POST").map((c) => c.path)).toEqual(["/v1/agents/ag1/publish", "/v1/agents/ag1/pause"]);
  });

  it("shows why publishing was refused", async () => {
    await open(ownerAgent({ status: "paused" }), { "POST /v1/agents/ag1/publish": () => problem(409, "agent-suspended", "the agent is suspended") });
    click("Publish");
    expect((await screen.findByRole("alert")).textContent).toBe("the agent is suspended");
  });

  it("rotates the API key only after confirming, and shows the new key once", async () => {
    const writeText = vi.fn(async () => {});
    vi.stubGlobal("navigator", { ...navigator, clipboard: { writeText } });
    const calls = await open(ownerAgent(), { "POST /v1/agents/ag1/key": () => json(200, { api_key: "hpr_agent_NEWKEY", key_prefix: "hpr_agent_cd34" }) });
    const key = screen.getByRole("region", { name: "API key" });
    expect(within(key).getByText("hpr_agent_ab12")).toBeTruthy();
    click("Rotate API key");
    expect(within(key).getByText(/stops working at once/)).toBeTruthy();
    click("Cancel");
    expect(calls.filter((c) => c.path === "/v1/agents/ag1/key")).toHaveLength(0);
    click("Rotate API key");
    click("Yes, rotate the key");
    expect(await within(key).findByText("hpr_agent_NEWKEY")).toBeTruthy();
    expect(calls.filter((c) => c.method === "POST" && c.path === "/v1/agents/ag1/key")).toHaveLength(1);
    expect(within(key).getByText("hpr_agent_cd34")).toBeTruthy();
    fireEvent.click(within(key).getByRole("button", { name: "Copy key" }));
    await waitFor(() => expect(writeText).toHaveBeenCalledWith("hpr_agent_NEWKEY"));
    fireEvent.click(within(key).getByRole("button", { name: "I have saved it" }));
    expect(within(key).queryByText("hpr_agent_NEWKEY")).toBeNull();
  });

  it("links the skill package, or says it is being prepared", async () => {
    await open(ownerAgent({ package_version: 3 }));
    expect(screen.getByRole("link", { name: "Download skill package" }).getAttribute("href")).toBe("/v1/agents/ag1/skill-package");
    cleanup();
    await open(ownerAgent({ package_version: 0 }));
    expect(screen.queryByRole("link", { name: "Download skill package" })).toBeNull();
    expect(screen.getByRole("button", { name: "Check again" })).toBeTruthy();
  });

  it("lists the settings versions", async () => {
    await open(ownerAgent());
    const versions = screen.getByRole("region", { name: "Versions" });
    expect(await within(versions).findByText("Version 1")).toBeTruthy();
    expect(within(versions).getByText(/\(live\)/)).toBeTruthy();
  });

  it("uploads an avatar with the image's own content type", async () => {
    const agent = ownerAgent();
    const calls = await open(agent, { "PUT /v1/agents/ag1/avatar": () => json(200, { ...agent, avatar_url: "/v1/agents/ag1/avatar" }) });
    const file = new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], "me.png", { type: "image/png" });
    fireEvent.change(screen.getByLabelText("Avatar image"), { target: { files: [file] } });
    click("Upload avatar");
    expect(await screen.findByText("The new avatar is saved.")).toBeTruthy();
    const put = calls.find((c) => c.method === "PUT")!;
    expect(put.req.headers.get("Content-Type")).toBe("image/png");
    expect(new Uint8Array(await put.req.arrayBuffer())).toEqual(new Uint8Array([0x89, 0x50, 0x4e, 0x47]));
    expect(screen.getByRole("img", { name: "Avatar of @logo-maker" })).toBeTruthy();
  });

  it("shows an avatar refusal beside the file input", async () => {
    await open(ownerAgent(), { "PUT /v1/agents/ag1/avatar": () => problem(415, "unsupported-media", "only PNG, JPEG or WebP") });
    fireEvent.change(screen.getByLabelText("Avatar image"), { target: { files: [new File(["GIF89a"], "a.gif", { type: "image/gif" })] } });
    click("Upload avatar");
    await screen.findByText("only PNG, JPEG or WebP");
    const input = screen.getByLabelText("Avatar image");
    expect(input.getAttribute("aria-invalid")).toBe("true");
    expect(input.getAttribute("aria-describedby")).toContain("oa-avatar-error");
  });

  it("asks support to lift a suspension", async () => {
    let first = true;
    const calls = await open(ownerAgent({ status: "suspended" }), {
      "POST /v1/agents/ag1/reinstatement-requests": () => {
        if (first) {
          first = false;
          return problem(400, "validation", "message: is required", [{ field: "message", detail: "is required" }]);
        }
        return json(201, { id: "r1", agent_id: "ag1", agent_handle: "logo-maker", owner_id: "u1", message: "Fixed", status: "open", created_at: "2026-03-01T10:00:00Z" });
      },
    });
    expect(screen.getByRole("heading", { name: "This agent is suspended" })).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Publish" })).toBeNull();
    click("Request reinstatement");
    await waitFor(() => expect(screen.getByLabelText("Message to support").getAttribute("aria-invalid")).toBe("true"));
    expect(screen.getByText("is required")).toBeTruthy();
    type("Message to support", "Fixed the deadline handling.");
    click("Request reinstatement");
    expect(await screen.findByText(/Your request was sent/)).toBeTruthy();
    expect(JSON.parse(calls.filter((c) => c.path === "/v1/agents/ag1/reinstatement-requests")[1].body)).toEqual({ message: "Fixed the deadline handling." });
  });

  it("says when the agent is not the owner's", async () => {
    fakeApi({ ...me, "GET /v1/me/agents": () => json(200, { items: [] }) });
    renderAt(<AgentSettingsPage />, { url: "/owner/agents/zz", path: "/owner/agents/:id" });
    expect(await screen.findByRole("heading", { level: 1, name: "Agent not found" })).toBeTruthy();
  });
});

describe("the webhook", { timeout: 20_000 }, () => {
  const hook = { agent_id: "ag1", url: "https://hooks.example.com/h", enabled: true, consecutive_failures: 0, created_at: "2026-03-01T10:00:00Z", updated_at: "2026-03-01T10:00:00Z" };

  it("registers a webhook, shows its secret once, and shows a refused URL beside the field", async () => {
    let tries = 0;
    const calls = await open(ownerAgent(), {
      "PUT /v1/agents/ag1/webhook": () =>
        tries++ === 0 ? problem(400, "validation", "url: must be https", [{ field: "url", detail: "must be https" }]) : json(201, { webhook: hook, secret: "whsec_ONCE" }),
      "GET /v1/agents/ag1/webhook/deliveries": () => json(200, { items: [] }),
    });
    const section = screen.getByRole("region", { name: "Webhook" });
    expect(await within(section).findByText(/No webhook/)).toBeTruthy();
    type("Webhook URL", "http://hooks.example.com/h", section);
    click("Save webhook");
    await waitFor(() => expect(within(section).getByLabelText("Webhook URL").getAttribute("aria-invalid")).toBe("true"));
    expect(within(section).getByText("must be https")).toBeTruthy();
    type("Webhook URL", "https://hooks.example.com/h", section);
    click("Save webhook");
    expect(await within(section).findByText("whsec_ONCE")).toBeTruthy();
    expect(JSON.parse(calls.filter((c) => c.method === "PUT")[1].body)).toEqual({ url: "https://hooks.example.com/h" });
    expect(within(section).getByRole("button", { name: "Copy secret" })).toBeTruthy();
    expect(await within(section).findByText(/No deliveries yet/)).toBeTruthy();
  });

  it("lists deliveries, rotates the secret and deletes after confirming", async () => {
    const calls = await open(ownerAgent(), {
      "GET /v1/agents/ag1/webhook": () => json(200, { ...hook, consecutive_failures: 2, failing_since: "2026-03-02T10:00:00Z" }),
      "GET /v1/agents/ag1/webhook/deliveries": () =>
        json(200, {
          items: [{ id: "d1", event_id: "41", event_type: "message.created", state: "pending", attempts: 2, last_status: 500, last_error: "server error", created_at: "2026-03-02T10:00:00Z" }],
        }),
      "POST /v1/agents/ag1/webhook/secret": () => json(200, { webhook: { ...hook, previous_secret_expires_at: "2026-03-03T10:00:00Z" }, secret: "whsec_NEW" }),
      "DELETE /v1/agents/ag1/webhook": () => new Response(null, { status: 204 }),
    });
    const section = screen.getByRole("region", { name: "Webhook" });
    const table = await within(section).findByRole("table");
    expect(within(table).getByText("message.created")).toBeTruthy();
    expect(within(table).getByText("HTTP 500: server error")).toBeTruthy();
    expect(within(section).getByText(/failing since/)).toBeTruthy();
    click("Rotate secret");
    expect(await within(section).findByText("whsec_NEW")).toBeTruthy();
    expect(within(section).getByText(/Still signs beside the new one/)).toBeTruthy();
    click("Delete webhook");
    expect(calls.filter((c) => c.method === "DELETE")).toHaveLength(0);
    click("Yes, delete the webhook");
    expect(await within(section).findByText(/No webhook/)).toBeTruthy();
    expect(calls.filter((c) => c.method === "DELETE").map((c) => c.path)).toEqual(["/v1/agents/ag1/webhook"]);
  });
});
