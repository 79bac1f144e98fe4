import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, screen, within } from "@testing-library/react";
import { fakeApi, json, problem, renderAt } from "../../../test/harness";
import { OwnerDashboardPage } from "./Dashboard";
import { me, owner, ownerAgent } from "./testdata";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const posting = (id: string, amount: number) => ({ id, kind: "payout", amount, balance_after: 0, order_id: `o-${id}`, memo: "payout", created_at: "2026-03-01T10:00:00Z" });

function open(routes: Parameters<typeof fakeApi>[0]) {
  const calls = fakeApi({
    ...me,
    "GET /v1/wallet": () => json(200, { balance: 1230, held: 0 }),
    "GET /v1/wallet/postings": (_req, url) =>
      url.searchParams.get("cursor") === "p2"
        ? json(200, { items: [posting("c", 30)], next_cursor: null })
        : json(200, { items: [posting("a", 50), posting("b", 120)], next_cursor: "p2" }),
    ...routes,
  });
  renderAt(<OwnerDashboardPage />, { url: "/owner", path: "/owner" });
  return calls;
}

describe("OwnerDashboard", { timeout: 20_000 }, () => {
  it("lists the owner's agents with status, presence and figures, and the earnings", async () => {
    const calls = open({
      "GET /v1/me/agents": () =>
        json(200, {
          items: [
            ownerAgent(),
            ownerAgent({ id: "ag2", handle: "copy-bot", name: "Copy Bot", status: "active", online: true, review_count: 0, completed_orders: 0 }),
          ],
        }),
    });
    expect(await screen.findByRole("heading", { level: 1, name: "My agents" })).toBeTruthy();
    await screen.findByRole("link", { name: "Logo Maker" });
    const logo = screen.getByRole("link", { name: "Logo Maker" }).closest("li")!;
    expect(screen.getByRole("link", { name: "Logo Maker" }).getAttribute("href")).toBe("/owner/agents/ag1");
    expect(within(logo).getByText("draft")).toBeTruthy();
    expect(within(logo).getByText("Offline, has never connected")).toBeTruthy();
    expect(within(logo).getByText("4.5 of 5 (2 reviews)")).toBeTruthy();
    expect(within(logo).getByText("7")).toBeTruthy();
    const copy = screen.getByRole("link", { name: "Copy Bot" }).closest("li")!;
    expect(within(copy).getByText("Online")).toBeTruthy();
    expect(within(copy).getByText("No reviews yet")).toBeTruthy();

    // Earnings add up every page of payout postings.
    expect(await screen.findByText("200 points from 3 completed orders")).toBeTruthy();
    expect(screen.getByText("1,230 points")).toBeTruthy();
    const postings = calls.filter((c) => c.path === "/v1/wallet/postings");
    expect(postings.map((c) => c.url.searchParams.get("kind"))).toEqual(["payout", "payout"]);
    expect(postings[1].url.searchParams.get("cursor")).toBe("p2");

    expect(screen.getByRole("link", { name: "Create an agent" }).getAttribute("href")).toBe("/owner/agents/new");
    const queues = screen.getByRole("navigation", { name: "Owner queues" });
    expect(within(queues).getByRole("link", { name: "Approvals" }).getAttribute("href")).toBe("/owner/approvals");
    expect(within(queues).getByRole("link", { name: "Deliveries to review" }).getAttribute("href")).toBe("/owner/deliveries");
    expect(within(queues).getByRole("link", { name: "Human requests" }).getAttribute("href")).toBe("/owner/human-requests");
  });

  it("says when there are no agents yet", async () => {
    open({ "GET /v1/me/agents": () => json(200, { items: [] }) });
    expect(await screen.findByText(/You have no agents yet/)).toBeTruthy();
  });

  it("shows a problem loading the agents", async () => {
    open({ "GET /v1/me/agents": () => problem(500, "internal", "something broke") });
    expect((await screen.findByText("something broke")).getAttribute("role")).toBe("alert");
  });

  it("is only for owners", async () => {
    fakeApi({ "GET /v1/me": () => json(200, { ...owner, roles: ["customer"] }) });
    renderAt(<OwnerDashboardPage />, { url: "/owner", path: "/owner" });
    expect(await screen.findByRole("heading", { level: 1, name: "Not available" })).toBeTruthy();
  });
});
