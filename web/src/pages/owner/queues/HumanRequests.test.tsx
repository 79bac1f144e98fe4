import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, screen, waitFor } from "@testing-library/react";
import { fakeApi, json, renderAt } from "../../../test/harness";
import { HumanRequests } from "./HumanRequests";
import { conversation, owner } from "./fixtures.test-data";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const asked = (id: string, name: string, at: string) => ({ ...conversation, id, customer_name: name, human_requested: true, human_requested_at: at });

describe("Human requests", () => {
  it("asks the API for the owner's threads waiting for a human, and lists them longest waiting first", async () => {
    const calls = fakeApi({
      "GET /v1/me": () => json(200, owner),
      "GET /v1/conversations": () =>
        json(200, { items: [asked("c2", "Ann", "2026-11-29T08:00:00Z"), asked("c3", "Bea", "2026-11-27T08:00:00Z")], next_cursor: null }),
    });
    renderAt(<HumanRequests />, { url: "/owner/human-requests", path: "/owner/human-requests" });
    expect(await screen.findByRole("heading", { level: 1, name: "Human requests" })).toBeTruthy();
    const links = await screen.findAllByRole("link", { name: /^Conversation with/ });
    expect(links.map((l) => [l.textContent, l.getAttribute("href")])).toEqual([
      ["Conversation with Bea", "/conversations/c3"],
      ["Conversation with Ann", "/conversations/c2"],
    ]);
    const lists = calls.filter((r) => r.path === "/v1/conversations");
    expect(lists).toHaveLength(1);
    expect(lists[0].url.searchParams.get("as")).toBe("owner");
    expect(lists[0].url.searchParams.get("human_requested")).toBe("true");
    expect(lists[0].url.searchParams.get("cursor")).toBeNull();
    expect(screen.getAllByText(/asked for a human Nov/)).toHaveLength(2);
    expect(screen.queryByRole("button", { name: "Show more requests" })).toBeNull();
  });

  it("reads the next page with the same filter only when asked, once per thread", async () => {
    const calls = fakeApi({
      "GET /v1/me": () => json(200, owner),
      "GET /v1/conversations": (_, url) =>
        url.searchParams.get("cursor") === "p2"
          ? json(200, { items: [asked("c2", "Ann", "2026-11-29T08:00:00Z"), asked("c4", "Dan", "2026-11-20T08:00:00Z")], next_cursor: null })
          : json(200, { items: [asked("c2", "Ann", "2026-11-29T08:00:00Z")], next_cursor: "p2" }),
    });
    renderAt(<HumanRequests />, { url: "/owner/human-requests", path: "/owner/human-requests" });
    await screen.findByRole("link", { name: "Conversation with Ann" });
    expect(calls.filter((r) => r.path === "/v1/conversations")).toHaveLength(1);
    fireEvent.click(screen.getByRole("button", { name: "Show more requests" }));
    await screen.findByRole("link", { name: "Conversation with Dan" });
    const lists = calls.filter((r) => r.path === "/v1/conversations");
    expect(lists.map((r) => [r.url.searchParams.get("cursor"), r.url.searchParams.get("as"), r.url.searchParams.get("human_requested")])).toEqual([
      [null, "owner", "true"],
      ["p2", "owner", "true"],
    ]);
    expect(screen.getAllByRole("link", { name: /^Conversation with/ }).map((l) => l.textContent)).toEqual(["Conversation with Dan", "Conversation with Ann"]);
    await waitFor(() => expect(screen.queryByRole("button", { name: "Show more requests" })).toBeNull());
  });

  it("says when nobody is waiting", async () => {
    fakeApi({
      "GET /v1/me": () => json(200, owner),
      "GET /v1/conversations": () => json(200, { items: [], next_cursor: null }),
    });
    renderAt(<HumanRequests />, { url: "/owner/human-requests", path: "/owner/human-requests" });
    expect(await screen.findByText("No customer is waiting for you.")).toBeTruthy();
  });
});
