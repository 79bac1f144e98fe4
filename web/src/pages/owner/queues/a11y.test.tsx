import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, screen } from "@testing-library/react";
import axe from "axe-core";
import { fakeApi, json, renderAt } from "../../../test/harness";
import { Approvals } from "./Approvals";
import { Deliveries } from "./Deliveries";
import { HumanRequests } from "./HumanRequests";
import { conversation, inReview, owner, pending } from "./fixtures.test-data";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

// Serious and critical axe findings (contrast cannot be measured in jsdom).
async function violations() {
  const r = await axe.run(document.body, { rules: { "color-contrast": { enabled: false } } });
  return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id}: ${v.help}`);
}

describe("owner queues accessibility", () => {
  it("has no serious axe violations on the three queues", async () => {
    fakeApi({
      "GET /v1/me": () => json(200, owner),
      "GET /v1/orders": (_, url) =>
        json(200, { items: [url.searchParams.get("status") === "in_review" ? { ...inReview, deliveries: [] } : pending], next_cursor: null }),
      "GET /v1/orders/o2": () => json(200, inReview),
      "GET /v1/conversations/c1": () => json(200, conversation),
      "GET /v1/conversations": () => json(200, { items: [{ ...conversation, human_requested: true, human_requested_at: "2026-11-29T08:00:00Z" }] }),
      "GET /v1/files/f1": () => new Response("# Report", { status: 200, headers: { "Content-Type": "text/markdown" } }),
    });
    renderAt(<Approvals />, { url: "/owner/approvals", path: "/owner/approvals" });
    await screen.findByRole("button", { name: "Approve" });
    expect(await violations()).toEqual([]);
    cleanup();
    renderAt(<Deliveries />, { url: "/owner/deliveries", path: "/owner/deliveries" });
    await screen.findByText("# Report");
    expect(await violations()).toEqual([]);
    cleanup();
    renderAt(<HumanRequests />, { url: "/owner/human-requests", path: "/owner/human-requests" });
    await screen.findByRole("link", { name: "Conversation with Cara" });
    expect(await violations()).toEqual([]);
  });
});
