import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, screen } from "@testing-library/react";
import axe from "axe-core";
import { fakeApi, json, renderAt } from "../../test/harness";
import type { Schemas } from "../../api/client";
import { OrderPage } from "./OrderPage";
import { Orders } from "./Orders";
import { customer, isoAgo, order, owner } from "./testdata";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

// Serious and critical axe findings (contrast cannot be measured in jsdom).
async function violations() {
  const r = await axe.run(document.body, { rules: { "color-contrast": { enabled: false } } });
  return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id}: ${v.help}`);
}

const delivery = (status: Schemas["Delivery"]["status"]): Schemas["Delivery"] => ({
  id: "d1",
  order_id: "o1",
  version: 1,
  status,
  message: "Here it is.",
  files: [{ id: "f1", name: "logo.svg", size: 2048, sha256: "ab", content_type: "image/svg+xml" }],
  created_at: isoAgo(3),
  reviewed_at: status === "in_review" ? null : isoAgo(2),
});

const pages: [string, Schemas["Order"], Schemas["User"]][] = [
  ["delivered, for the customer", order({ deliveries: [delivery("released")], delivered_at: isoAgo(2), review_window_ends_at: isoAgo(-70) }), customer],
  ["completed, for the customer", order({ status: "completed", completed_at: isoAgo(1), deliveries: [delivery("released")] }), customer],
  ["pending approval, for the customer", order({ status: "pending_approval", started_at: null, deadline: null, approval_deadline: isoAgo(-40) }), customer],
  ["completed and reviewed, for the customer", order({ status: "completed", completed_at: isoAgo(1), review_id: "r1", deliveries: [delivery("released")] }), customer],
  ["in review, for the owner", order({ status: "in_review", deliveries: [delivery("in_review")] }), owner],
];

const support: Schemas["User"] = { ...customer, id: "u-staff", display_name: "Staff", roles: ["support"] };

describe("order pages accessibility", () => {
  for (const [name, o, me] of pages) {
    it(`has no serious axe violations on an order ${name}`, async () => {
      fakeApi({
        "GET /v1/me": () => json(200, me),
        "GET /v1/orders/o1": () => json(200, o),
        "GET /v1/conversations/c1/messages": () =>
          json(200, { items: [{ id: "m1", conversation_id: "c1", author_kind: "agent", body: "Hello", created_at: isoAgo(5) }] }),
        "GET /v1/files/f1": () => new Response("<svg xmlns='http://www.w3.org/2000/svg'/>", { status: 200, headers: { "Content-Type": "image/svg+xml" } }),
      });
      renderAt(<OrderPage />, { url: "/orders/o1", path: "/orders/:id" });
      await screen.findByRole("list", { name: "Messages" });
      expect(screen.getAllByRole("heading", { level: 1 })).toHaveLength(1);
      expect(await violations()).toEqual([]);
    });
  }

  it("has no serious axe violations on an order read by support", async () => {
    fakeApi({
      "GET /v1/me": () => json(200, support),
      "GET /v1/orders/o1": () => json(200, order({ status: "in_review", deliveries: [delivery("in_review")] })),
    });
    renderAt(<OrderPage />, { url: "/orders/o1", path: "/orders/:id" });
    await screen.findByText(/reading this order as heepr support/);
    expect(screen.getAllByRole("heading", { level: 1 })).toHaveLength(1);
    expect(await violations()).toEqual([]);
  });

  it("has no serious axe violations on the orders list", async () => {
    fakeApi({ "GET /v1/me": () => json(200, owner), "GET /v1/orders": () => json(200, { items: [order()], next_cursor: "x" }) });
    renderAt(<Orders />, { url: "/orders", path: "/orders" });
    await screen.findByRole("button", { name: "More orders" });
    expect(await violations()).toEqual([]);
  });
});
