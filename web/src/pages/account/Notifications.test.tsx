import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { fakeApi, json, renderAt } from "../../test/harness";
import { NotificationsPage, useUnreadCount } from "./Notifications";
import { customer, expectAccessible, meAs } from "./testing";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const n3 = { id: "n3", kind: "ordering.delivery_released", subject: "Delivery ready", body: "Your order has a delivery.", link: "/orders/o1", read: false, created_at: "2026-11-22T10:00:00Z" };
const n2 = { id: "n2", kind: "ordering.human_requested", subject: "A customer asks for you", body: "Reply soon.", link: "/conversations/c1", read: false, created_at: "2026-11-21T10:00:00Z" };
const n1 = { id: "n1", kind: "moderation.flag_resolved", subject: "Flag resolved", body: "Closed.", link: null, read: true, created_at: "2026-11-20T10:00:00Z" };

function page() {
  return renderAt(<NotificationsPage />, { url: "/notifications", path: "/notifications" });
}

describe("Notifications page", () => {
  it("marks unread ones in text and links each to where it is about", async () => {
    fakeApi({ "GET /v1/me": meAs(customer), "GET /v1/notifications": () => json(200, { items: [n3, n2, n1], next_cursor: null }) });
    page();
    const items = within(await screen.findByRole("list")).getAllByRole("listitem");
    expect(items).toHaveLength(3);
    expect(within(items[0]).getByText("Unread")).toBeTruthy();
    expect(within(items[0]).getByRole("link", { name: "Delivery ready" }).getAttribute("href")).toBe("/orders/o1");
    expect(within(items[0]).getByText("Your order has a delivery.")).toBeTruthy();
    expect(within(items[2]).queryByText("Unread")).toBeNull();
    expect(within(items[2]).queryByRole("link")).toBeNull();
    expect(screen.getByRole("status").textContent).toBe("2 unread.");
    await expectAccessible();
  });

  it("marks all read up to the newest notification", async () => {
    let read = false;
    const calls = fakeApi({
      "GET /v1/me": meAs(customer),
      "GET /v1/notifications": () => json(200, { items: [n3, n2, n1].map((n) => (read ? { ...n, read: true } : n)) }),
      "POST /v1/notifications/read": () => {
        read = true;
        return json(204, null);
      },
    });
    page();
    fireEvent.click(await screen.findByRole("button", { name: "Mark all as read" }));
    await waitFor(() => expect(screen.queryByText("Unread")).toBeNull());
    const post = calls.filter((c) => c.method === "POST");
    expect(post).toHaveLength(1);
    expect(post[0].path).toBe("/v1/notifications/read");
    expect(JSON.parse(post[0].body)).toEqual({ up_to: "n3" });
    expect(screen.getByRole("status").textContent).toBe("Everything is read.");
    expect(screen.queryByRole("button", { name: "Mark all as read" })).toBeNull();
  });

  it("marks one notification (and older ones) read", async () => {
    const calls = fakeApi({
      "GET /v1/me": meAs(customer),
      "GET /v1/notifications": () => json(200, { items: [n3, n2, n1] }),
      "POST /v1/notifications/read": () => json(204, null),
    });
    page();
    fireEvent.click(await screen.findByRole("button", { name: "Mark read up to here: A customer asks for you" }));
    await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
    expect(JSON.parse(calls.find((c) => c.method === "POST")!.body)).toEqual({ up_to: "n2" });
  });

  it("says when there is nothing, and pages with the cursor", async () => {
    fakeApi({ "GET /v1/me": meAs(customer), "GET /v1/notifications": () => json(200, { items: [] }) });
    page();
    expect(await screen.findByText(/No notifications yet/)).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Mark all as read" })).toBeNull();
    cleanup();
    const calls = fakeApi({
      "GET /v1/me": meAs(customer),
      "GET /v1/notifications": (_r, url) => json(200, url.searchParams.get("cursor") === "k" ? { items: [n1] } : { items: [n3], next_cursor: "k" }),
    });
    page();
    fireEvent.click(await screen.findByRole("button", { name: "Load more notifications" }));
    expect(await screen.findByText("Flag resolved")).toBeTruthy();
    expect(calls.filter((c) => c.path === "/v1/notifications").map((c) => c.url.searchParams.get("cursor"))).toEqual([null, "k"]);
  });
});

function Count() {
  const n = useUnreadCount();
  return <p>count: {n === undefined ? "none" : n}</p>;
}

describe("useUnreadCount", () => {
  it("counts the unread notifications in the newest page", async () => {
    const calls = fakeApi({ "GET /v1/me": meAs(customer), "GET /v1/notifications": () => json(200, { items: [n3, n2, n1] }) });
    renderAt(<Count />);
    expect(await screen.findByText("count: 2")).toBeTruthy();
    expect(calls.find((c) => c.path === "/v1/notifications")!.url.searchParams.get("limit")).toBe("100");
  });

  it("asks nothing for a visitor", async () => {
    const calls = fakeApi({ "GET /v1/me": () => json(401, { type: "x", title: "unauthenticated", status: 401 }) });
    renderAt(<Count />);
    await waitFor(() => expect(calls.some((c) => c.path === "/v1/me")).toBe(true));
    expect(screen.getByText("count: none")).toBeTruthy();
    expect(calls.some((c) => c.path === "/v1/notifications")).toBe(false);
  });
});
