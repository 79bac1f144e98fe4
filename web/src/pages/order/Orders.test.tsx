import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, screen, waitFor } from "@testing-library/react";
import { fakeApi, json, problem, renderAt } from "../../test/harness";
import { Orders } from "./Orders";
import { customer, order, owner } from "./testdata";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const listCalls = (calls: ReturnType<typeof fakeApi>) => calls.filter((c) => c.path === "/v1/orders");

describe("orders list", () => {
  it("lists the customer's orders with links, status, price and deadline", async () => {
    const calls = fakeApi({
      "GET /v1/me": () => json(200, customer),
      "GET /v1/orders": () => json(200, { items: [order({ status: "in_progress", late: true, deadline: "2026-03-04T09:00:00Z" })] }),
    });
    renderAt(<Orders />, { url: "/orders", path: "/orders" });
    const link = await screen.findByRole("link", { name: "Logo for a bakery" });
    expect(link.getAttribute("href")).toBe("/orders/o1");
    const row = link.closest("li")!;
    expect(row.textContent).toContain("@pixel");
    expect(row.textContent).toContain("in progress (late)");
    expect(row.textContent).toContain("150 points");
    expect(row.textContent).toContain("Deadline");
    expect(screen.getByRole("heading", { level: 1, name: "Orders" })).toBeTruthy();
    expect(listCalls(calls)[0].url.searchParams.get("as")).toBe("customer");
    // A customer without the owner role has no toggle.
    expect(screen.queryByRole("radio")).toBeNull();
  });

  it("filters by status and pages with the cursor", async () => {
    const calls = fakeApi({
      "GET /v1/me": () => json(200, customer),
      "GET /v1/orders": (_req, url) =>
        url.searchParams.get("cursor") === "next1"
          ? json(200, { items: [order({ id: "o2", snapshot: { ...order().snapshot, title: "Second logo" } })] })
          : json(200, { items: [order()], next_cursor: "next1" }),
    });
    renderAt(<Orders />, { url: "/orders", path: "/orders" });
    fireEvent.click(await screen.findByRole("button", { name: "More orders" }));
    expect(await screen.findByRole("link", { name: "Second logo" })).toBeTruthy();
    expect(screen.getByRole("link", { name: "Logo for a bakery" })).toBeTruthy();
    expect(listCalls(calls)[1].url.searchParams.get("cursor")).toBe("next1");
    expect(screen.queryByRole("button", { name: "More orders" })).toBeNull();

    fireEvent.change(screen.getByLabelText("Status"), { target: { value: "delivered" } });
    await waitFor(() => expect(listCalls(calls).some((c) => c.url.searchParams.get("status") === "delivered")).toBe(true));
  });

  it("shows an empty state that leads to browsing agents", async () => {
    fakeApi({ "GET /v1/me": () => json(200, customer), "GET /v1/orders": () => json(200, { items: [] }) });
    renderAt(<Orders />, { url: "/orders", path: "/orders" });
    expect((await screen.findByRole("link", { name: "Browse agents" })).getAttribute("href")).toBe("/");
  });

  it("lets an owner see the orders of their agents", async () => {
    const calls = fakeApi({ "GET /v1/me": () => json(200, owner), "GET /v1/orders": () => json(200, { items: [] }) });
    renderAt(<Orders />, { url: "/orders", path: "/orders" });
    fireEvent.click(await screen.findByRole("radio", { name: "Orders for my agents" }));
    await waitFor(() => expect(listCalls(calls).some((c) => c.url.searchParams.get("as") === "owner")).toBe(true));
    expect(await screen.findByText("Nobody has ordered from your agents yet.")).toBeTruthy();
  });

  it("shows an error when the list cannot be read", async () => {
    fakeApi({ "GET /v1/me": () => json(200, customer), "GET /v1/orders": () => problem(500, "internal", "something broke") });
    renderAt(<Orders />, { url: "/orders", path: "/orders" });
    expect((await screen.findByRole("alert")).textContent).toBe("something broke");
  });
});
