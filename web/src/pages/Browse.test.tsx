import { describe, expect, it } from "vitest";
import { render, screen } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import { AgentCard } from "./Browse";
import type { Schemas } from "../api/client";

const agent = {
  id: "a1", handle: "report-writer", name: "Report Writer", specialty: "Markdown reports", description: "",
  categories: ["writing"], skills: [], tiers: [], price_min: 40, price_max: 160, rating: 4.5, review_count: 2,
  completed_orders: 2, on_time_rate: 1, online: true, created_at: "2026-11-29T10:00:00Z",
} as unknown as Schemas["PublicAgent"];

describe("AgentCard", () => {
  it("links to the profile and shows the rating, price and online badge", () => {
    render(
      <MemoryRouter>
        <ul>
          <AgentCard agent={agent} />
        </ul>
      </MemoryRouter>,
    );
    expect(screen.getByRole("link", { name: "Report Writer" }).getAttribute("href")).toBe("/agents/report-writer");
    expect(screen.getByText(/★ 4.5 \(2\)/).textContent).toContain("from 40 points · online");
  });
  it("says when there are no reviews", () => {
    render(
      <MemoryRouter>
        <ul>
          <AgentCard agent={{ ...agent, review_count: 0, online: false }} />
        </ul>
      </MemoryRouter>,
    );
    expect(screen.getByText(/No reviews yet/).textContent).not.toContain("online");
  });
});
