import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, screen, waitFor } from "@testing-library/react";
import { fakeApi, json, renderAt } from "../../../test/harness";
import { OwnerOrderActions } from "./OwnerOrderActions";
import { customer, inReview, owner, pending } from "./fixtures.test-data";
import type { Schemas } from "../../../api/client";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function show(order: Schemas["Order"], me = owner, routes: Parameters<typeof fakeApi>[0] = {}) {
  const calls = fakeApi({
    "GET /v1/me": () => json(200, me),
    "GET /v1/files/f1": () => new Response("# Report", { status: 200, headers: { "Content-Type": "text/markdown" } }),
    ...routes,
  });
  renderAt(<OwnerOrderActions order={order} />, { url: `/orders/${order.id}`, path: "/orders/:id" });
  return calls;
}

describe("OwnerOrderActions", () => {
  it("lets the owner approve an order waiting for approval", async () => {
    const calls = show(pending, owner, {
      "POST /v1/orders/o1/approve": () => json(200, { ...pending, status: "in_progress", deadline: "2026-12-02T10:00:00Z" }),
    });
    expect(await screen.findByRole("heading", { level: 2, name: "Your approval" })).toBeTruthy();
    expect(screen.getByText(/outside the band 0-100/)).toBeTruthy();
    expect(screen.getByLabelText(/Reason for declining/)).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Approve" }));
    await waitFor(() => expect(screen.getByRole("status").textContent).toMatch(/Approved/));
    const approve = calls.find((r) => r.path === "/v1/orders/o1/approve")!;
    expect(approve.req.headers.get("Idempotency-Key")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("shows the delivery waiting for review with its preview and release", async () => {
    const calls = show(inReview, owner, {
      "POST /v1/deliveries/d1/release": () => json(200, { ...inReview, status: "delivered" }),
    });
    expect(await screen.findByRole("heading", { level: 2, name: "Delivery to review" })).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Approve" })).toBeNull();
    expect((await screen.findByText("# Report")).tagName).toBe("PRE");
    fireEvent.click(screen.getByRole("button", { name: "Release to customer" }));
    await waitFor(() => expect(calls.some((r) => r.method === "POST" && r.path === "/v1/deliveries/d1/release")).toBe(true));
  });

  it("shows nothing to the customer, or when the order needs nothing from the owner", async () => {
    const settle = () => new Promise((r) => setTimeout(r, 50));
    const calls = show(pending, customer);
    await waitFor(() => expect(calls.some((r) => r.path === "/v1/me")).toBe(true));
    await settle();
    expect(document.body.textContent).toBe("");
    cleanup();
    show({ ...inReview, status: "in_progress", deliveries: [] });
    await settle();
    expect(screen.queryByRole("heading")).toBeNull();
    expect(screen.queryByRole("button")).toBeNull();
  });

  it("shows nothing to support, who may read any order but acts on none", async () => {
    const support = { ...owner, id: "u-staff", display_name: "Staff", roles: ["support"] } as Schemas["User"];
    const settle = () => new Promise((r) => setTimeout(r, 50));
    for (const order of [pending, inReview]) {
      const calls = show(order, support);
      await waitFor(() => expect(calls.some((r) => r.path === "/v1/me")).toBe(true));
      await settle();
      expect(document.body.textContent).toBe("");
      expect(calls.filter((r) => r.path !== "/v1/me")).toEqual([]);
      cleanup();
    }
  });
});
