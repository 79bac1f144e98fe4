import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { fakeApi, json, problem, renderAt } from "../../test/harness";
import type { Schemas } from "../../api/client";
import { OrderPage } from "./OrderPage";
import { Timeline, timeline } from "./Timeline";
import { customer, isoAgo, order, owner } from "./testdata";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const delivery = (over: Partial<Schemas["Delivery"]> = {}): Schemas["Delivery"] => ({
  id: "d1",
  order_id: "o1",
  version: 1,
  status: "released",
  message: "Here are the logos.",
  files: [{ id: "f1", name: "logo.svg", size: 2048, sha256: "ab", content_type: "image/svg+xml" }],
  reviewed_at: "2026-03-04T10:00:00Z",
  created_at: "2026-03-04T09:00:00Z",
  ...over,
});

// history is an order that went through approval, a delivery, a revision,
// a second delivery and completion.
const history = order({
  status: "completed",
  created_at: "2026-03-01T09:00:00Z",
  started_at: "2026-03-01T15:00:00Z",
  deliveries: [
    delivery(),
    delivery({ id: "d2", version: 2, created_at: "2026-03-06T09:00:00Z", reviewed_at: "2026-03-06T11:00:00Z", message: "Fixed." }),
  ],
  revision_requests: [{ number: 1, notes: "Use the brand font.", unmet_criteria: ["Uses the brand font"], requested_at: "2026-03-05T08:00:00Z" }],
  delivered_at: "2026-03-06T11:00:00Z",
  completed_at: "2026-03-07T12:00:00Z",
});

describe("timeline", () => {
  it("lists every step of the order, oldest first", () => {
    expect(timeline(history).map((s) => s.title)).toEqual([
      "Order placed",
      "Approved by the owner; work started",
      "Delivery 1 submitted",
      "Delivery 1 released to the customer",
      "Revision 1 requested",
      "Delivery 2 submitted",
      "Delivery 2 released to the customer",
      "Completed",
    ]);
  });

  it("tells when a delivered order completes by itself, and keeps a release it cannot match", () => {
    const delivered = { ...history, status: "delivered" as const, completed_at: null, review_window_ends_at: "2026-03-09T11:00:00Z" };
    const last = timeline(delivered).at(-1)!;
    expect(last.title).toBe("Delivery 2 released to the customer");
    expect(String(last.detail)).toMatch(/^Completes by itself on /);
    const shifted = timeline({ ...delivered, delivered_at: "2026-03-06T12:00:00Z" });
    expect(shifted.at(-1)?.title).toBe("Delivered");
  });

  it("renders an ordered list with times and the revision's details", () => {
    render(<Timeline order={history} />);
    const items = within(screen.getByRole("list")).getAllByRole("listitem");
    expect(items).toHaveLength(8);
    expect(items[4].textContent).toContain("Revision 1 requested");
    expect(items[4].textContent).toContain("Unmet: Uses the brand font. Notes: Use the brand font.");
    expect(items[0].querySelector("time")?.getAttribute("dateTime")).toBe("2026-03-01T09:00:00Z");
    expect(screen.getByRole("list").tagName).toBe("OL");
  });

  it("shows what an order waits for, lateness, disputes, cancellations and refunds", () => {
    const pending = timeline(order({ status: "pending_approval", started_at: null, deadline: null, approval_deadline: "2026-03-03T09:00:00Z" }));
    expect(pending.at(-1)).toMatchObject({ title: "Waiting for the owner's approval", at: null });

    const late = timeline(order({ status: "disputed", late: true, deadline: isoAgo(30), disputed_at: isoAgo(2) }));
    expect(late.map((s) => s.title)).toEqual(["Order placed", "Work started", "Deadline missed", "Flagged for support"]);

    const cancelled = timeline(order({ status: "cancelled", cancel_reason: "late", deadline: isoAgo(30), late: true }));
    expect(cancelled.at(-1)?.title).toBe("Cancelled by the customer after the missed deadline; the points were refunded");

    const refunded = timeline(order({ status: "refunded", refunded_points: 150 }));
    expect(refunded.at(-1)?.title).toBe("Refunded 150 points by support");
  });
});

function show(o: Schemas["Order"], me: Schemas["User"] | null = customer, routes: Parameters<typeof fakeApi>[0] = {}) {
  const calls = fakeApi({
    "GET /v1/me": () => (me ? json(200, me) : problem(401, "unauthenticated", "sign in")),
    "GET /v1/orders/o1": () => json(200, o),
    "GET /v1/conversations/c1/messages": () =>
      json(200, {
        items: [
          { id: "m1", conversation_id: "c1", author_kind: "customer", body: "Hi!", created_at: "2026-03-01T08:00:00Z" },
          { id: "m2", conversation_id: "c1", author_kind: "agent", body: "On it.", created_at: "2026-03-01T08:05:00Z" },
        ],
      }),
    ...routes,
  });
  renderAt(<OrderPage />, { url: "/orders/o1", path: "/orders/:id" });
  return calls;
}

describe("order page", () => {
  it("shows what was agreed and the facts of the order", async () => {
    show(order({ status: "in_progress", late: true, deadline: "2026-03-04T09:00:00Z" }));
    expect(await screen.findByRole("heading", { level: 1, name: "Logo for a bakery" })).toBeTruthy();
    expect(screen.getByRole("link", { name: "@pixel" }).getAttribute("href")).toBe("/agents/pixel");
    expect(screen.getByText("in progress (late)")).toBeTruthy();
    expect(screen.getByText("Late")).toBeTruthy();
    expect(screen.getByText("150 points")).toBeTruthy();
    expect(screen.getByText("2 of 2")).toBeTruthy();
    expect(screen.getByText(/A round logo/)).toBeTruthy();
    const criteria = screen.getByRole("heading", { name: "Acceptance criteria" }).nextElementSibling as HTMLElement;
    expect(within(criteria).getAllByRole("listitem").map((li) => li.textContent)).toEqual(["SVG files", "Three colour variants", "Uses the brand font"]);
  });

  it("lists the deliveries newest first with download links", async () => {
    show(history);
    await screen.findByRole("heading", { name: "Delivery 2" });
    const headings = screen.getAllByRole("heading", { level: 3 }).map((h) => h.textContent);
    expect(headings.indexOf("Delivery 2")).toBeLessThan(headings.indexOf("Delivery 1"));
    const links = screen.getAllByRole("link", { name: "Download logo.svg" });
    expect(links[0].getAttribute("href")).toBe("/v1/files/f1");
    expect(links[0].getAttribute("download")).toBe("logo.svg");
  });

  it("says when nothing has been delivered yet", async () => {
    show(order({ status: "in_progress" }));
    expect(await screen.findByText(/Nothing delivered yet/)).toBeTruthy();
  });

  it("shows the chat and sends a reply", async () => {
    const calls = show(order(), customer, {
      "POST /v1/conversations/c1/messages": () => json(201, { id: "m3", conversation_id: "c1", author_kind: "customer", body: "Thanks", created_at: isoAgo(0) }),
    });
    const list = await screen.findByRole("list", { name: "Messages" });
    expect(within(list).getAllByRole("listitem").map((li) => li.querySelector(".body")?.textContent)).toEqual(["Hi!", "On it."]);
    expect(list.textContent).toContain("You");
    expect(list.textContent).toContain("Agent @pixel");
    fireEvent.change(screen.getByLabelText("Your message"), { target: { value: "Thanks" } });
    fireEvent.click(screen.getByRole("button", { name: "Send message" }));
    await waitFor(() => expect(calls.some((c) => c.method === "POST" && c.path === "/v1/conversations/c1/messages")).toBe(true));
    expect(JSON.parse(calls.find((c) => c.method === "POST")!.body)).toEqual({ body: "Thanks" });
    await waitFor(() => expect((screen.getByLabelText("Your message") as HTMLTextAreaElement).value).toBe(""));
  });

  it("shows a message problem beside the box", async () => {
    show(order(), customer, {
      "POST /v1/conversations/c1/messages": () => problem(422, "validation", "body: is too short", [{ field: "body", detail: "must not be empty" }]),
    });
    fireEvent.click(await screen.findByRole("button", { name: "Send message" }));
    const err = await screen.findByText("must not be empty");
    expect(screen.getByLabelText("Your message").getAttribute("aria-describedby")).toContain(err.id);
  });

  it("shows the owner no customer actions", async () => {
    show(order(), owner);
    await screen.findByRole("heading", { level: 1, name: "Logo for a bakery" });
    expect(screen.queryByRole("heading", { name: "Your actions" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Accept delivery" })).toBeNull();
    expect(screen.getByRole("heading", { name: "Deliveries" })).toBeTruthy();
  });

  it("shows support the order with no actions, no chat, and downloads only once disputed", async () => {
    const support: Schemas["User"] = { ...customer, id: "u-staff", display_name: "Staff", roles: ["support"] };
    const inReview = order({ status: "in_review", deliveries: [delivery({ status: "in_review", reviewed_at: null })] });
    const calls = show(inReview, support);
    expect(await screen.findByRole("heading", { level: 1, name: "Logo for a bakery" })).toBeTruthy();
    expect(screen.getByText(/reading this order as heepr support/)).toBeTruthy();
    expect(screen.getByRole("link", { name: "Support" }).getAttribute("href")).toBe("/support");
    expect(screen.queryByRole("heading", { name: "Your actions" })).toBeNull();
    expect(screen.queryByRole("heading", { name: "Delivery to review" })).toBeNull();
    expect(screen.queryByRole("heading", { name: "Your approval" })).toBeNull();
    expect(screen.queryByRole("button")).toBeNull();
    expect(screen.queryByRole("textbox")).toBeNull();
    expect(screen.getByRole("heading", { name: "Delivery 1" })).toBeTruthy();
    expect(screen.queryByRole("link", { name: "Download logo.svg" })).toBeNull();
    expect(screen.getByText(/Support opens these files once the order is disputed/)).toBeTruthy();
    expect(calls.some((c) => c.path.includes("/messages") || c.path.startsWith("/v1/files/"))).toBe(false);
    cleanup();

    show(order({ status: "disputed", disputed_at: isoAgo(1), deliveries: [delivery()] }), support);
    expect((await screen.findByRole("link", { name: "Download logo.svg" })).getAttribute("href")).toBe("/v1/files/f1");
    expect(screen.queryByRole("button")).toBeNull();
    expect(screen.queryByText(/heepr support is looking at it/)).toBeNull();
  });

  it("sends support back to the console when an order does not exist", async () => {
    const support: Schemas["User"] = { ...customer, id: "u-staff", display_name: "Staff", roles: ["support"] };
    show(order(), support, { "GET /v1/orders/o1": () => problem(404, "not-found", "no such order") });
    expect(await screen.findByRole("heading", { level: 1, name: "Order not available" })).toBeTruthy();
    expect(screen.getByRole("link", { name: "Back to the support console" }).getAttribute("href")).toBe("/support");
    expect(screen.queryByText(/through their cases/)).toBeNull();
  });

  it("asks a visitor to sign in", async () => {
    const calls = show(order(), null);
    expect(await screen.findByRole("heading", { level: 1, name: "Sign in to see this order" })).toBeTruthy();
    expect(calls.some((c) => c.path === "/v1/orders/o1")).toBe(false);
  });

  it("says when the order cannot be read", async () => {
    show(order(), customer, { "GET /v1/orders/o1": () => problem(404, "not-found", "no such order") });
    expect(await screen.findByRole("heading", { level: 1, name: "Order not available" })).toBeTruthy();
    expect(screen.getByRole("alert").textContent).toBe("no such order");
  });
});
