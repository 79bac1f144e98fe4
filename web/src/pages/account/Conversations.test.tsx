import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, screen, within } from "@testing-library/react";
import { fakeApi, json, renderAt } from "../../test/harness";
import { ConversationsPage } from "./Conversations";
import { customer, expectAccessible, meAs, owner } from "./testing";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const mine = {
  id: "c1", agent_id: "a1", agent_handle: "report-writer", customer_id: "u1", customer_name: "Ann",
  human_requested: true, human_requested_at: "2026-11-22T09:00:00Z", created_at: "2026-11-20T10:00:00Z", last_message_at: "2026-11-22T10:00:00Z",
};
const theirs = { ...mine, id: "c2", agent_handle: "logo-bot", customer_id: "u9", customer_name: "Bob", human_requested: false, human_requested_at: null };

function page(url = "/conversations") {
  return renderAt(<ConversationsPage />, { url, path: "/conversations" });
}

describe("Conversations page", () => {
  it("lists a customer's threads with links and the human-requested badge", async () => {
    const calls = fakeApi({ "GET /v1/me": meAs(customer), "GET /v1/conversations": () => json(200, { items: [mine] }) });
    page();
    const link = await screen.findByRole("link", { name: "With @report-writer" });
    expect(link.getAttribute("href")).toBe("/conversations/c1");
    expect(screen.getByText("Human requested")).toBeTruthy();
    expect(screen.queryByRole("group", { name: "Show conversations" })).toBeNull();
    const list = calls.find((c) => c.path === "/v1/conversations")!;
    expect(list.url.searchParams.get("as")).toBe("customer");
    await expectAccessible();
  });

  it("lets an owner switch between all, their own and their agents' threads", async () => {
    const calls = fakeApi({
      "GET /v1/me": meAs(owner),
      "GET /v1/conversations": (_r, url) => json(200, { items: url.searchParams.get("as") === "owner" ? [theirs] : url.searchParams.get("as") ? [mine] : [mine, theirs] }),
    });
    page();
    await screen.findByRole("link", { name: "Bob with @logo-bot" });
    expect(screen.getByRole("link", { name: "With @report-writer" })).toBeTruthy();
    const group = screen.getByRole("group", { name: "Show conversations" });
    expect((within(group).getByLabelText("All") as HTMLInputElement).checked).toBe(true);
    await expectAccessible();

    fireEvent.click(within(group).getByLabelText("With my agents"));
    const bob = await screen.findByRole("link", { name: "Bob with @logo-bot" });
    expect(bob.getAttribute("href")).toBe("/conversations/c2");
    expect(screen.queryByRole("link", { name: "With @report-writer" })).toBeNull();
    const asked = calls.filter((c) => c.path === "/v1/conversations").map((c) => c.url.searchParams.get("as"));
    expect(asked).toEqual([null, "owner"]);
    expect(screen.queryByText("Human requested")).toBeNull();

    fireEvent.click(within(group).getByLabelText("Ones I started"));
    await screen.findByRole("link", { name: "With @report-writer" });
    expect(calls[calls.length - 1].url.searchParams.get("as")).toBe("customer");
  });

  it("says when there are none", async () => {
    fakeApi({ "GET /v1/me": meAs(customer), "GET /v1/conversations": () => json(200, { items: [] }) });
    page();
    expect(await screen.findByText(/No conversations yet/)).toBeTruthy();
    expect(screen.getByRole("link", { name: "Browse agents" }).getAttribute("href")).toBe("/");
  });
});
