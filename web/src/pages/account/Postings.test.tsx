import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, screen, within } from "@testing-library/react";
import { fakeApi, json, problem, renderAt } from "../../test/harness";
import { Postings, exportHref } from "./Postings";
import { expectAccessible } from "./testing";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const hold = { id: "p2", kind: "hold", amount: -40, balance_after: 960, order_id: "ord_7", memo: "Order placed", created_at: "2026-11-20T10:00:00Z" };
const grant = { id: "p1", kind: "starter_grant", amount: 1000, balance_after: 1000, order_id: null, memo: "Welcome", created_at: "2026-11-01T10:00:00Z" };
const refund = { id: "p3", kind: "refund", amount: 40, balance_after: 1000, order_id: "ord_7", memo: "", created_at: "2026-11-21T10:00:00Z" };

function page(url = "/account") {
  return renderAt(<Postings />, { url, path: "/account" });
}

describe("Postings", () => {
  it("lists postings with signed amounts, memo and a link to the order", async () => {
    fakeApi({ "GET /v1/wallet/postings": () => json(200, { items: [hold, grant], next_cursor: null }) });
    page();
    const table = await screen.findByRole("table");
    const rows = within(table).getAllByRole("row");
    expect(rows).toHaveLength(3);
    const first = within(rows[1]);
    expect(first.getByText("hold")).toBeTruthy();
    expect(first.getByText("−40 points")).toBeTruthy();
    expect(first.getByText("960 points")).toBeTruthy();
    expect(first.getByText("Order placed")).toBeTruthy();
    expect(first.getByRole("link", { name: "Order ord_7" }).getAttribute("href")).toBe("/orders/ord_7");
    const second = within(rows[2]);
    expect(second.getByText("starter grant")).toBeTruthy();
    expect(second.getByText("+1,000 points")).toBeTruthy();
    expect(second.queryByRole("link")).toBeNull();
    await expectAccessible();
  });

  it("sends the chosen kind in the query and on the CSV link", async () => {
    const calls = fakeApi({
      "GET /v1/wallet/postings": (_req, url) => json(200, { items: url.searchParams.get("kind") === "refund" ? [refund] : [hold, grant] }),
    });
    page();
    await screen.findByText("Order placed");
    expect(calls[0].url.searchParams.has("kind")).toBe(false);
    const csv = screen.getByRole("link", { name: "Download CSV" });
    expect(csv.getAttribute("href")).toBe("/v1/wallet/postings/export");
    expect(csv.hasAttribute("download")).toBe(true);

    fireEvent.change(screen.getByLabelText("Kind"), { target: { value: "refund" } });
    await screen.findByText("+40 points");
    expect(screen.queryByText("Order placed")).toBeNull();
    const last = calls[calls.length - 1];
    expect(last.path).toBe("/v1/wallet/postings");
    expect(last.url.searchParams.get("kind")).toBe("refund");
    expect(screen.getByRole("link", { name: "Download CSV" }).getAttribute("href")).toBe("/v1/wallet/postings/export?kind=refund");
  });

  it("reads the kind from the URL", async () => {
    const calls = fakeApi({ "GET /v1/wallet/postings": () => json(200, { items: [] }) });
    page("/account?kind=payout");
    expect(await screen.findByText("No payout postings.")).toBeTruthy();
    expect(calls[0].url.searchParams.get("kind")).toBe("payout");
    expect((screen.getByLabelText("Kind") as HTMLSelectElement).value).toBe("payout");
  });

  it("loads the next page with the cursor", async () => {
    const calls = fakeApi({
      "GET /v1/wallet/postings": (_req, url) =>
        url.searchParams.get("cursor") === "c2" ? json(200, { items: [grant], next_cursor: null }) : json(200, { items: [hold], next_cursor: "c2" }),
    });
    page();
    fireEvent.click(await screen.findByRole("button", { name: "Load more postings" }));
    expect(await screen.findByText("Welcome")).toBeTruthy();
    expect(screen.getByText("Order placed")).toBeTruthy();
    expect(calls[1].url.searchParams.get("cursor")).toBe("c2");
    expect(screen.queryByRole("button", { name: "Load more postings" })).toBeNull();
  });

  it("shows the API's problem when the list fails", async () => {
    fakeApi({ "GET /v1/wallet/postings": () => problem(500, "internal", "something broke") });
    page();
    expect((await screen.findByRole("alert")).textContent).toBe("something broke");
  });

  it("builds the export address", () => {
    expect(exportHref("")).toBe("/v1/wallet/postings/export");
    expect(exportHref("review_reward")).toBe("/v1/wallet/postings/export?kind=review_reward");
  });
});
