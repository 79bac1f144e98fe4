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
  it("lists only the threads where a human was asked for, from every page, longest waiting first", async () => {
    const calls = fakeApi({
      "GET /v1/me": () => json(200, owner),
      "GET /v1/conversations": (_, url) =>
        url.searchParams.get("cursor") === "p2"
          ? json(200, { items: [asked("c3", "Bea", "2026-11-27T08:00:00Z"), { ...conversation, id: "c4", customer_name: "Dan" }], next_cursor: null })
          : json(200, { items: [asked("c2", "Ann", "2026-11-29T08:00:00Z"), { ...conversation, customer_name: "Cara" }], next_cursor: "p2" }),
    });
    renderAt(<HumanRequests />, { url: "/owner/human-requests", path: "/owner/human-requests" });
    expect(await screen.findByRole("heading", { level: 1, name: "Human requests" })).toBeTruthy();
    const links = await screen.findAllByRole("link", { name: /^Conversation with/ });
    expect(links.map((l) => [l.textContent, l.getAttribute("href")])).toEqual([
      ["Conversation with Bea", "/conversations/c3"],
      ["Conversation with Ann", "/conversations/c2"],
    ]);
    expect(screen.queryByText(/Cara|Dan/)).toBeNull();
    const lists = calls.filter((r) => r.path === "/v1/conversations");
    expect(lists.map((r) => r.url.searchParams.get("as"))).toEqual(["owner", "owner"]);
    expect(lists.map((r) => r.url.searchParams.get("cursor"))).toEqual([null, "p2"]);
    expect(screen.getAllByText(/asked for a human Nov/)).toHaveLength(2);
  });

  it("says when nobody is waiting, and can look further back", async () => {
    let pages = 0;
    const calls = fakeApi({
      "GET /v1/me": () => json(200, owner),
      "GET /v1/conversations": () => json(200, { items: [conversation], next_cursor: `p${++pages}` }),
    });
    renderAt(<HumanRequests />, { url: "/owner/human-requests", path: "/owner/human-requests" });
    expect(await screen.findByText("No customer is waiting for you.")).toBeTruthy();
    expect(calls.filter((r) => r.path === "/v1/conversations")).toHaveLength(5); // one step of the scan
    fireEvent.click(screen.getByRole("button", { name: "Check older conversations" }));
    await waitFor(() => expect(calls.filter((r) => r.path === "/v1/conversations")).toHaveLength(10));
    expect(calls[calls.length - 1].url.searchParams.get("cursor")).toBe("p9");
  });
});
