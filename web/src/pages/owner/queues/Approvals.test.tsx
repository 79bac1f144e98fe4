import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { fakeApi, json, problem, renderAt } from "../../../test/harness";
import { Approvals } from "./Approvals";
import { conversation, customer, owner, pending } from "./fixtures.test-data";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function show(routes: Parameters<typeof fakeApi>[0] = {}) {
  const calls = fakeApi({
    "GET /v1/me": () => json(200, owner),
    "GET /v1/orders": () => json(200, { items: [pending], next_cursor: null }),
    "GET /v1/conversations/c1": () => json(200, conversation),
    ...routes,
  });
  renderAt(<Approvals />, { url: "/owner/approvals", path: "/owner/approvals" });
  return calls;
}

async function card() {
  return within(await screen.findByRole("article", { name: "Quarterly report" }));
}

describe("Approvals", () => {
  it("asks for the owner's pending orders and shows who, what, until when and why", async () => {
    const calls = show();
    expect(await screen.findByRole("heading", { level: 1, name: "Approvals" })).toBeTruthy();
    const c = await card();
    const list = calls.find((r) => r.path === "/v1/orders")!;
    expect(list.url.searchParams.get("as")).toBe("owner");
    expect(list.url.searchParams.get("status")).toBe("pending_approval");
    expect(c.getByRole("link", { name: "Quarterly report" }).getAttribute("href")).toBe("/orders/o1");
    await waitFor(() => expect(c.getByText("Cara")).toBeTruthy());
    expect(c.getByRole("link", { name: "Conversation with Cara" }).getAttribute("href")).toBe("/conversations/c1");
    expect(c.getByText("150 points")).toBeTruthy();
    expect(c.getByText("Approve by").nextElementSibling?.textContent).toMatch(/2026/);
    expect(c.getByText(/150 points is outside the band 0-100/)).toBeTruthy();
    expect(c.getByText(/2 revisions exceed the cap of 1/)).toBeTruthy();
  });

  it("approves with an Idempotency-Key, reused when the owner retries", async () => {
    let attempts = 0;
    const calls = show({
      "POST /v1/orders/o1/approve": () =>
        ++attempts === 1 ? problem(503, "unavailable", "Try again in a moment.") : json(200, { ...pending, status: "in_progress", deadline: "2026-12-02T10:00:00Z" }),
    });
    const c = await card();
    fireEvent.click(c.getByRole("button", { name: "Approve" }));
    expect(await c.findByRole("alert")).toHaveProperty("textContent", "Try again in a moment.");
    fireEvent.click(c.getByRole("button", { name: "Approve" }));
    await waitFor(() => expect(screen.getByRole("status").textContent).toMatch(/Approved “Quarterly report”/));
    const approvals = calls.filter((r) => r.path === "/v1/orders/o1/approve");
    expect(approvals).toHaveLength(2);
    expect(approvals[0].method).toBe("POST");
    const key = approvals[0].req.headers.get("Idempotency-Key");
    expect(key).toMatch(uuid);
    expect(approvals[1].req.headers.get("Idempotency-Key")).toBe(key);
  });

  it("declines with the reason and an Idempotency-Key, and shows the reason's problem beside it", async () => {
    let attempts = 0;
    const calls = show({
      "POST /v1/orders/o1/decline": () =>
        ++attempts === 1
          ? problem(422, "validation", "The request is invalid.", [{ field: "reason", detail: "must be at most 2000 characters" }])
          : json(200, { ...pending, status: "cancelled", cancel_reason: "declined" }),
    });
    const c = await card();
    fireEvent.change(c.getByLabelText(/Reason for declining/), { target: { value: "Too big for us" } });
    fireEvent.click(c.getByRole("button", { name: "Decline" }));
    const field = c.getByLabelText(/Reason for declining/);
    await waitFor(() => expect(field.getAttribute("aria-invalid")).toBe("true"));
    const error = document.getElementById(field.getAttribute("aria-describedby")!.split(" ").pop()!)!;
    expect(error.textContent).toBe("must be at most 2000 characters");
    expect(c.queryByRole("alert")).toBeNull(); // only beside the field
    const first = calls.find((r) => r.path === "/v1/orders/o1/decline")!;
    expect(JSON.parse(first.body)).toEqual({ reason: "Too big for us" });
    expect(first.req.headers.get("Idempotency-Key")).toMatch(uuid);

    // A changed reason is a new intent, so it gets a new key.
    fireEvent.change(field, { target: { value: "Too big" } });
    fireEvent.click(c.getByRole("button", { name: "Decline" }));
    await waitFor(() => expect(screen.getByRole("status").textContent).toMatch(/Declined “Quarterly report”.*150 points back/));
    const second = calls.filter((r) => r.path === "/v1/orders/o1/decline")[1];
    expect(JSON.parse(second.body)).toEqual({ reason: "Too big" });
    expect(second.req.headers.get("Idempotency-Key")).not.toBe(first.req.headers.get("Idempotency-Key"));
  });

  it("says when nothing waits, and pages with Show more", async () => {
    const calls = show({
      "GET /v1/orders": (_, url) =>
        url.searchParams.get("cursor") === "p2"
          ? json(200, { items: [pending], next_cursor: null })
          : json(200, { items: [], next_cursor: "p2" }),
    });
    expect(await screen.findByText("No order is waiting for your approval.")).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Show more" }));
    expect(await screen.findByRole("article", { name: "Quarterly report" })).toBeTruthy();
    expect(calls.filter((r) => r.path === "/v1/orders").map((r) => r.url.searchParams.get("cursor"))).toEqual([null, "p2"]);
    expect(screen.queryByRole("button", { name: "Show more" })).toBeNull();
  });

  it("shows the list's problem", async () => {
    show({ "GET /v1/orders": () => problem(500, "internal", "Something broke on our side.") });
    expect((await screen.findByRole("alert")).textContent).toBe("Something broke on our side.");
  });

  it("is only for owners", async () => {
    const calls = show({ "GET /v1/me": () => json(200, customer) });
    expect(await screen.findByRole("heading", { name: "Not available" })).toBeTruthy();
    expect(calls.some((r) => r.path === "/v1/orders")).toBe(false);
  });
});
