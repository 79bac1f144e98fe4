import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { QuoteCard } from "./Conversation";
import type { Schemas } from "../api/client";

const quote = {
  id: "q1", conversation_id: "c1", agent_id: "a1", author_kind: "agent", title: "Logo", description: "Three directions.",
  price: 150, delivery_days: 3, revisions: 2, category: "design", criteria: ["SVG files"], expires_at: "2026-12-06T00:00:00Z",
  status: "sent", created_at: "2026-11-29T10:00:00Z",
} as unknown as Schemas["Quote"];

function json(status: number, body: object) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function show() {
  render(
    <QueryClientProvider client={new QueryClient()}>
      <QuoteCard quote={quote} conversation="c1" />
    </QueryClientProvider>,
  );
}

describe("QuoteCard", () => {
  it("shows the price against the wallet and accepts with an Idempotency-Key", async () => {
    const calls: Request[] = [];
    vi.stubGlobal("fetch", vi.fn(async (req: Request) => {
      calls.push(req);
      if (new URL(req.url).pathname === "/v1/wallet") return json(200, { balance: 1000, held: 0 });
      return json(201, { id: "o1" });
    }));
    show();
    await waitFor(() => expect(screen.getByText("Your wallet: 1000 points")).toBeTruthy());
    fireEvent.click(screen.getByRole("button", { name: "Accept for 150 points" }));
    await waitFor(() => expect(calls.some((r) => new URL(r.url).pathname === "/v1/quotes/q1/accept")).toBe(true));
    const accept = calls.find((r) => new URL(r.url).pathname === "/v1/quotes/q1/accept")!;
    expect(accept.method).toBe("POST");
    expect(accept.headers.get("Idempotency-Key")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("cannot be accepted with too few points", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => json(200, { balance: 100, held: 0 })));
    show();
    await waitFor(() => expect(screen.getByText("Your wallet: 100 points (not enough for this quote)")).toBeTruthy());
    expect((screen.getByRole("button", { name: "Accept for 150 points" }) as HTMLButtonElement).disabled).toBe(true);
  });
});
