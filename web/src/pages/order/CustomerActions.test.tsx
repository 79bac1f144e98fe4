import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { fakeApi, json, problem, renderAt } from "../../test/harness";
import type { Schemas } from "../../api/client";
import { OrderPage } from "./OrderPage";
import { customer, isoAgo, order } from "./testdata";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

type Routes = Parameters<typeof fakeApi>[0];

// show renders the order page for the customer with the order o and extra routes.
function show(o: Schemas["Order"], routes: Routes = {}) {
  const calls = fakeApi({
    "GET /v1/me": () => json(200, customer),
    "GET /v1/orders/o1": () => json(200, o),
    "GET /v1/conversations/c1/messages": () => json(200, { items: [] }),
    ...routes,
  });
  renderAt(<OrderPage />, { url: "/orders/o1", path: "/orders/:id" });
  return calls;
}

const posts = (calls: ReturnType<typeof fakeApi>, path: string) => calls.filter((c) => c.method === "POST" && c.path === path);
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("request revision", () => {
  it("sends the ticked unmet criteria, in the agreed order, with the notes", async () => {
    const calls = show(order(), { "POST /v1/orders/o1/revision": () => json(200, order({ status: "in_progress", revisions_left: 1 })) });
    await screen.findByRole("heading", { name: "Request a revision" });
    fireEvent.click(screen.getByRole("checkbox", { name: "Uses the brand font" }));
    fireEvent.click(screen.getByRole("checkbox", { name: "SVG files" }));
    fireEvent.change(screen.getByLabelText("What should change?"), { target: { value: "Export SVGs and use Brandon." } });
    fireEvent.click(screen.getByRole("button", { name: "Request revision" }));
    await waitFor(() => expect(posts(calls, "/v1/orders/o1/revision")).toHaveLength(1));
    expect(JSON.parse(posts(calls, "/v1/orders/o1/revision")[0].body)).toEqual({
      notes: "Export SVGs and use Brandon.",
      unmet_criteria: ["SVG files", "Uses the brand font"],
    });
    // The order is read again after the change.
    await waitFor(() => expect(calls.filter((c) => c.method === "GET" && c.path === "/v1/orders/o1").length).toBeGreaterThan(1));
  });

  it("shows the API's problems beside the notes and the checklist", async () => {
    show(order(), {
      "POST /v1/orders/o1/revision": () =>
        problem(422, "validation", "the request has invalid fields", [
          { field: "notes", detail: "must not be empty" },
          { field: "unmet_criteria", detail: "name at least one acceptance criterion" },
        ]),
    });
    fireEvent.click(await screen.findByRole("button", { name: "Request revision" }));
    const notesError = await screen.findByText("must not be empty");
    const notes = screen.getByLabelText("What should change?");
    expect(notes.getAttribute("aria-invalid")).toBe("true");
    expect(notes.getAttribute("aria-describedby")).toContain(notesError.id);
    const checklist = screen.getByRole("group", { name: "Which acceptance criteria are not met?" });
    expect(within(checklist).getByText("name at least one acceptance criterion")).toBeTruthy();
    expect(checklist.getAttribute("aria-describedby")).toBe("revision-criteria-error");
    // Every problem is beside its field: no general alert repeats them.
    expect(screen.queryByText("the request has invalid fields")).toBeNull();
  });

  it("says no revisions are left instead of offering the form", async () => {
    show(order({ revisions_left: 0 }));
    await screen.findByRole("heading", { name: "Request a revision" });
    expect(screen.getByText(/no free revisions left/)).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Request revision" })).toBeNull();
  });

  it("shows a refusal that concerns no field as an alert by the form", async () => {
    show(order(), {
      "POST /v1/orders/o1/revision": () => problem(409, "no-revisions-left", "this order has no free revisions left"),
    });
    fireEvent.click(await screen.findByRole("checkbox", { name: "SVG files" }));
    fireEvent.change(screen.getByLabelText("What should change?"), { target: { value: "x" } });
    fireEvent.click(screen.getByRole("button", { name: "Request revision" }));
    expect((await screen.findByRole("alert")).textContent).toBe("this order has no free revisions left");
  });
});

describe("accept delivery", () => {
  it("sends an Idempotency-Key, and the same key again when retried after a failure", async () => {
    let n = 0;
    const calls = show(order(), {
      "POST /v1/orders/o1/accept": () => (++n === 1 ? problem(503, "unavailable", "try again shortly") : json(200, order({ status: "completed" }))),
    });
    fireEvent.click(await screen.findByRole("button", { name: "Accept delivery" }));
    expect((await screen.findByRole("alert")).textContent).toBe("try again shortly");
    fireEvent.click(screen.getByRole("button", { name: "Accept delivery" }));
    await waitFor(() => expect(posts(calls, "/v1/orders/o1/accept")).toHaveLength(2));
    const [first, second] = posts(calls, "/v1/orders/o1/accept").map((c) => c.req.headers.get("Idempotency-Key"));
    expect(first).toMatch(uuid);
    expect(second).toBe(first);
    await waitFor(() => expect(screen.queryByRole("alert")).toBeNull());
  });

  it("uses a new key for a new attempt after the API refused the last one", async () => {
    const calls = show(order(), { "POST /v1/orders/o1/accept": () => problem(409, "order-not-delivered", "the order is in progress") });
    fireEvent.click(await screen.findByRole("button", { name: "Accept delivery" }));
    await screen.findByText("the order is in progress");
    fireEvent.click(screen.getByRole("button", { name: "Accept delivery" }));
    await waitFor(() => expect(posts(calls, "/v1/orders/o1/accept")).toHaveLength(2));
    const [first, second] = posts(calls, "/v1/orders/o1/accept").map((c) => c.req.headers.get("Idempotency-Key"));
    expect(second).not.toBe(first);
  });

  it("is offered only on a delivered order", async () => {
    show(order({ status: "in_review" }));
    await screen.findByRole("heading", { name: "Your actions" });
    expect(screen.queryByRole("button", { name: "Accept delivery" })).toBeNull();
    expect(screen.queryByRole("heading", { name: "Request a revision" })).toBeNull();
  });
});

describe("review", () => {
  const completed = () => order({ status: "completed", completed_at: isoAgo(2) });

  it("shows the rating problem beside the field, then posts with a new key once corrected", async () => {
    let n = 0;
    const calls = show(completed(), {
      "POST /v1/orders/o1/review": () =>
        ++n === 1
          ? problem(422, "validation", "rating: must be 1 to 5 stars", [{ field: "rating", detail: "must be 1 to 5 stars" }])
          : json(201, { id: "r1", order_id: "o1", agent_id: "a1", customer_name: "Cara", rating: 5, text: "Lovely", reward: 10, created_at: isoAgo(0) }),
    });
    const rating = await screen.findByLabelText("Rating (1 to 5 stars)");
    fireEvent.change(screen.getByLabelText("Your review"), { target: { value: "Lovely" } });
    fireEvent.click(screen.getByRole("button", { name: "Post review" }));
    const err = await screen.findByText("must be 1 to 5 stars");
    expect(rating.getAttribute("aria-describedby")).toContain(err.id);
    expect(rating.getAttribute("aria-invalid")).toBe("true");
    expect(screen.queryByRole("alert")).toBeNull();

    fireEvent.change(rating, { target: { value: "5" } });
    fireEvent.click(screen.getByRole("button", { name: "Post review" }));
    expect(await screen.findByText("Thank you, your review is posted. You earned 10 points.")).toBeTruthy();
    const sent = posts(calls, "/v1/orders/o1/review");
    expect(sent.map((c) => JSON.parse(c.body))).toEqual([
      { rating: 0, text: "Lovely" },
      { rating: 5, text: "Lovely" },
    ]);
    const keys = sent.map((c) => c.req.headers.get("Idempotency-Key"));
    expect(keys[0]).toMatch(uuid);
    expect(keys[1]).toMatch(uuid);
    expect(keys[1]).not.toBe(keys[0]);
  });

  it("handles an existing review (409 already-reviewed) without an error", async () => {
    const calls = show(completed(), { "POST /v1/orders/o1/review": () => problem(409, "already-reviewed", "this order has already been reviewed") });
    fireEvent.change(await screen.findByLabelText("Rating (1 to 5 stars)"), { target: { value: "4" } });
    fireEvent.click(screen.getByRole("button", { name: "Post review" }));
    expect((await screen.findByText("You have already reviewed this order.")).getAttribute("role")).toBe("status");
    expect(screen.queryByRole("button", { name: "Post review" })).toBeNull();
    // The order is read again, to pick up its review_id.
    await waitFor(() => expect(calls.filter((c) => c.method === "GET" && c.path === "/v1/orders/o1").length).toBeGreaterThan(1));
  });

  it("says the order is reviewed when it has a review_id, without asking anything else", async () => {
    const calls = show(completed(), { "GET /v1/orders/o1": () => json(200, { ...completed(), review_id: "r1" }) });
    const section = (await screen.findByRole("heading", { name: "Your review" })).closest("section")!;
    expect(section.textContent).toBe("Your reviewYou have reviewed this order. It is shown on the profile of @pixel.");
    expect(within(section).getByRole("link", { name: "@pixel" }).getAttribute("href")).toBe("/agents/pixel");
    expect(screen.queryByLabelText("Rating (1 to 5 stars)")).toBeNull();
    expect(screen.queryByRole("heading", { name: "Leave a review" })).toBeNull();
    expect(calls.some((c) => c.path.startsWith("/v1/agents/"))).toBe(false);
  });

  it("offers the form on a completed order without a review_id, and reads the order again once posted", async () => {
    const calls = show(completed(), {
      "POST /v1/orders/o1/review": () =>
        json(201, { id: "r1", order_id: "o1", agent_id: "a1", customer_name: "Cara", rating: 4, text: "", reward: 10, created_at: isoAgo(0) }),
    });
    fireEvent.change(await screen.findByLabelText("Rating (1 to 5 stars)"), { target: { value: "4" } });
    fireEvent.click(screen.getByRole("button", { name: "Post review" }));
    expect(await screen.findByText("Thank you, your review is posted. You earned 10 points.")).toBeTruthy();
    await waitFor(() => expect(calls.filter((c) => c.method === "GET" && c.path === "/v1/orders/o1").length).toBeGreaterThan(1));
    expect(calls.some((c) => c.path.startsWith("/v1/agents/"))).toBe(false);
  });
});

describe("flag", () => {
  it("sends the reason and details", async () => {
    const calls = show(order({ status: "in_progress", deliveries: [] }), {
      "POST /v1/orders/o1/flag": () => json(201, { id: "k1", kind: "flag", reason: "off_scope", status: "open", details: "", opened_at: isoAgo(0) }),
    });
    fireEvent.change(await screen.findByLabelText("Reason"), { target: { value: "off_scope" } });
    fireEvent.change(screen.getByLabelText("Details for support"), { target: { value: "They built a menu, not a logo." } });
    fireEvent.click(screen.getByRole("button", { name: "Flag order" }));
    await waitFor(() => expect(posts(calls, "/v1/orders/o1/flag")).toHaveLength(1));
    expect(JSON.parse(posts(calls, "/v1/orders/o1/flag")[0].body)).toEqual({ reason: "off_scope", details: "They built a menu, not a logo." });
  });

  it("shows a reason problem beside the select", async () => {
    show(order({ status: "delivered" }), {
      "POST /v1/orders/o1/flag": () => problem(422, "validation", "reason: is required", [{ field: "reason", detail: "is required" }]),
    });
    fireEvent.click(await screen.findByRole("button", { name: "Flag order" }));
    const err = await screen.findByText("is required");
    expect(screen.getByLabelText("Reason").getAttribute("aria-describedby")).toBe(err.id);
  });

  it("offers only a policy violation within 14 days of completion, and nothing after", async () => {
    show(order({ status: "completed", completed_at: isoAgo(24 * 3) }));
    const reason = (await screen.findByLabelText("Reason")) as HTMLSelectElement;
    expect([...reason.options].map((o) => o.value)).toEqual(["policy_violation"]);
    cleanup();
    show(order({ status: "completed", completed_at: isoAgo(24 * 15) }));
    await screen.findByRole("heading", { name: "Leave a review" });
    expect(screen.queryByRole("heading", { name: "Flag this order" })).toBeNull();
  });

  it("is not offered while pending approval or once disputed", async () => {
    show(order({ status: "pending_approval", started_at: null, deadline: null }));
    await screen.findByRole("heading", { name: "Your actions" });
    expect(screen.queryByRole("heading", { name: "Flag this order" })).toBeNull();
    cleanup();
    show(order({ status: "disputed", disputed_at: isoAgo(1) }));
    expect(await screen.findByText(/heepr support is looking at it/)).toBeTruthy();
    expect(screen.queryByRole("heading", { name: "Flag this order" })).toBeNull();
  });
});

describe("cancel", () => {
  const visible = async (o: Schemas["Order"]) => {
    show(o);
    await screen.findByRole("heading", { name: "Your actions" });
    const shown = !!screen.queryByRole("button", { name: "Cancel order" });
    cleanup();
    vi.unstubAllGlobals();
    return shown;
  };

  it("is offered only before approval, or 24 hours past a missed deadline", async () => {
    expect(await visible(order({ status: "pending_approval", started_at: null, deadline: null }))).toBe(true);
    expect(await visible(order({ status: "in_progress", deadline: isoAgo(-10) }))).toBe(false);
    expect(await visible(order({ status: "in_progress", late: true, deadline: isoAgo(10) }))).toBe(false);
    expect(await visible(order({ status: "in_progress", late: true, deadline: isoAgo(25) }))).toBe(true);
    expect(await visible(order({ status: "delivered" }))).toBe(false);
    expect(await visible(order({ status: "completed", completed_at: isoAgo(1) }))).toBe(false);
    expect(await visible(order({ status: "cancelled", cancel_reason: "withdrawn" }))).toBe(false);
  });

  it("tells when a late order can be cancelled", async () => {
    show(order({ status: "in_progress", late: true, deadline: "2030-01-01T10:00:00Z" }));
    expect(await screen.findByText(/you can cancel for a full refund from/)).toBeTruthy();
  });

  it("asks to confirm, then cancels with an Idempotency-Key", async () => {
    const calls = show(order({ status: "pending_approval", started_at: null, deadline: null }), {
      "POST /v1/orders/o1/cancel": () => json(200, order({ status: "cancelled", cancel_reason: "withdrawn" })),
    });
    fireEvent.click(await screen.findByRole("button", { name: "Cancel order" }));
    expect(posts(calls, "/v1/orders/o1/cancel")).toHaveLength(0);
    fireEvent.click(screen.getByRole("button", { name: "Keep order" }));
    expect(screen.queryByRole("button", { name: "Yes, cancel order" })).toBeNull();
    fireEvent.click(screen.getByRole("button", { name: "Cancel order" }));
    fireEvent.click(screen.getByRole("button", { name: "Yes, cancel order" }));
    await waitFor(() => expect(posts(calls, "/v1/orders/o1/cancel")).toHaveLength(1));
    expect(posts(calls, "/v1/orders/o1/cancel")[0].req.headers.get("Idempotency-Key")).toMatch(uuid);
    expect((await screen.findByText("Order cancelled: 150 points are back in your wallet.")).getAttribute("role")).toBe("status");
  });

  it("shows a refusal beside the cancel action", async () => {
    show(order({ status: "pending_approval", started_at: null, deadline: null }), {
      "POST /v1/orders/o1/cancel": () => problem(409, "cancel-not-allowed", "the order was approved meanwhile"),
    });
    fireEvent.click(await screen.findByRole("button", { name: "Cancel order" }));
    fireEvent.click(screen.getByRole("button", { name: "Yes, cancel order" }));
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toBe("the order was approved meanwhile");
    expect(alert.closest("section")?.getAttribute("aria-labelledby")).toBe("cancel-h");
  });
});
