import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, screen } from "@testing-library/react";
import axe from "axe-core";
import { fakeApi, json, problem, renderAt } from "../../../test/harness";
import { OwnerDashboardPage } from "./Dashboard";
import { CreateAgentPage } from "./CreateAgent";
import { AgentSettingsPage } from "./AgentSettings";
import { me, ownerAgent } from "./testdata";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

// serious runs axe-core on the page (jsdom cannot judge colour contrast)
// and returns the serious and critical violations, readable.
async function serious(): Promise<string[]> {
  const r = await axe.run(document.body, { resultTypes: ["violations"], rules: { "color-contrast": { enabled: false } } });
  return r.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

describe("accessibility (axe-core)", { timeout: 30_000 }, () => {
  it("the dashboard", async () => {
    fakeApi({
      ...me,
      "GET /v1/me/agents": () => json(200, { items: [ownerAgent(), ownerAgent({ id: "ag2", handle: "b", name: "B", status: "suspended" })] }),
      "GET /v1/wallet": () => json(200, { balance: 10, held: 0 }),
      "GET /v1/wallet/postings": () => json(200, { items: [] }),
    });
    renderAt(<OwnerDashboardPage />, { url: "/owner", path: "/owner" });
    await screen.findByText(/0 points from 0/);
    expect(await serious()).toEqual([]);
  });

  it("every wizard step, with problems shown", async () => {
    fakeApi({
      ...me,
      "POST /v1/agents": () =>
        problem(400, "validation", "the request has invalid fields", [
          { field: "tiers.0.price", detail: "number must be at least 1" },
          { field: "categories", detail: "name at least one category" },
          { field: "auto_bands.max_price", detail: "must be at least min_price" },
        ]),
    });
    renderAt(<CreateAgentPage />, { url: "/owner/agents/new", path: "/owner/agents/new" });
    await screen.findByRole("heading", { name: "Create an agent" });
    expect(await serious()).toEqual([]);
    fireEvent.click(screen.getByRole("button", { name: "Next" }));
    fireEvent.click(screen.getByRole("button", { name: "Add a tier" }));
    fireEvent.change(screen.getAllByLabelText("Price (points)")[0], { target: { value: "0" } });
    fireEvent.change(screen.getAllByLabelText("Price (points)")[1], { target: { value: "5" } });
    expect(await serious()).toEqual([]);
    fireEvent.click(screen.getByRole("button", { name: "Next" }));
    fireEvent.click(screen.getByRole("radio", { name: /Automatic/ }));
    fireEvent.change(screen.getByLabelText("Highest price (points)"), { target: { value: "9" } });
    expect(await serious()).toEqual([]);
    fireEvent.click(screen.getByRole("button", { name: "Next" }));
    expect(await serious()).toEqual([]);
    fireEvent.click(screen.getByRole("button", { name: "Create agent" }));
    await screen.findByText("name at least one category");
    expect(await serious()).toEqual([]);
  });

  it("the created agent with its key", async () => {
    fakeApi({
      ...me,
      "POST /v1/agents": () => json(201, { agent: ownerAgent({ package_version: 0 }), api_key: "hpr_agent_K" }),
      "GET /v1/me/agents": () => json(200, { items: [ownerAgent({ package_version: 0 })] }),
    });
    renderAt(<CreateAgentPage />, { url: "/owner/agents/new", path: "/owner/agents/new" });
    await screen.findByRole("heading", { name: "Create an agent" });
    fireEvent.click(screen.getByRole("button", { name: "Next" }));
    fireEvent.change(screen.getByLabelText("Price (points)"), { target: { value: "5" } });
    fireEvent.click(screen.getByRole("button", { name: "Next" }));
    fireEvent.click(screen.getByRole("button", { name: "Next" }));
    fireEvent.click(screen.getByRole("button", { name: "Create agent" }));
    await screen.findByText("hpr_agent_K");
    expect(await serious()).toEqual([]);
  });

  it("the settings page, suspended, with a webhook, its log and a new key", async () => {
    fakeApi({
      ...me,
      "GET /v1/me/agents": () =>
        json(200, { items: [ownerAgent({ status: "suspended", accept_mode: "auto", avatar_url: "/v1/agents/ag1/avatar", auto_bands: { min_price: 0, max_price: 90, categories: ["design"], max_revisions: 1, max_active_orders: 2 } })] }),
      "GET /v1/agents/ag1/versions": () => json(200, { items: [{ version: 1, created_at: "2026-02-01T10:00:00Z", settings: { name: "Logo Maker" } }] }),
      "GET /v1/agents/ag1/webhook": () =>
        json(200, { agent_id: "ag1", url: "https://h.example.com/x", enabled: false, disabled_reason: "failing", consecutive_failures: 3, created_at: "2026-03-01T10:00:00Z", updated_at: "2026-03-01T10:00:00Z" }),
      "GET /v1/agents/ag1/webhook/deliveries": () =>
        json(200, { items: [{ id: "d1", event_id: "1", event_type: "order.created", state: "failed", attempts: 9, last_status: 502, created_at: "2026-03-01T10:00:00Z" }] }),
      "POST /v1/agents/ag1/key": () => json(200, { api_key: "hpr_agent_NEW", key_prefix: "hpr_agent_ne" }),
      "PATCH /v1/agents/ag1": () => problem(400, "validation", "x", [{ field: "name", detail: "is required" }]),
    });
    renderAt(<AgentSettingsPage />, { url: "/owner/agents/ag1", path: "/owner/agents/:id" });
    await screen.findByText("order.created", undefined, { timeout: 5000 });
    await screen.findByText("Version 1");
    fireEvent.click(screen.getByRole("button", { name: "Rotate API key" }));
    expect(await serious()).toEqual([]);
    fireEvent.click(screen.getByRole("button", { name: "Yes, rotate the key" }));
    await screen.findByText("hpr_agent_NEW");
    fireEvent.change(screen.getAllByLabelText("Name")[0], { target: { value: "" } });
    fireEvent.click(screen.getByRole("button", { name: "Save changes" }));
    await screen.findByText("is required");
    expect(await serious()).toEqual([]);
  });
});
