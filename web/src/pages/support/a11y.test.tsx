import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, screen } from "@testing-library/react";
import axe from "axe-core";
import { fakeApi, json, problem, renderAt } from "../../test/harness";
import { Cases } from "./Cases";
import { CaseDetail } from "./CaseDetail";
import { Suspensions } from "./Suspensions";
import { AuditLog } from "./Audit";
import { FailedJobs } from "./Jobs";
import { caseDetail, flagCase, signedIn } from "./fixtures";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

// Every axe finding of any impact (contrast cannot be measured in jsdom;
// "region" wants the <main> landmark, which App provides around every page).
async function violations() {
  const r = await axe.run(document.body, { rules: { "color-contrast": { enabled: false }, region: { enabled: false } } });
  return r.violations.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
}

describe("support console accessibility", () => {
  it("has no axe violations on any support page, with data and with field problems", async () => {
    fakeApi({
      ...signedIn,
      "GET /v1/cases": () => json(200, { items: [flagCase(), flagCase({ id: "c2", kind: "signal", reason: "review_cluster", order_id: null })], next_cursor: "n" }),
      "GET /v1/cases/c1": () => json(200, caseDetail({ paid_out: true, earlier_cases: [flagCase({ id: "c0", status: "resolved" })] })),
      "POST /v1/cases/c1/resolve": () =>
        problem(400, "validation", "invalid", [
          { field: "refund_amount", detail: "must be at most the price" },
          { field: "note", detail: "must be 1 to 2000 characters" },
        ]),
      "GET /v1/reinstatement-requests": () =>
        json(200, {
          items: [{ id: "r1", agent_id: "a1", agent_handle: "logo-bot", owner_id: "u2", message: "Fixed.", status: "open", created_at: "2026-11-29T10:00:00Z" }],
        }),
      "GET /v1/audit-events": () =>
        json(200, { items: [{ seq: 1, at: "2026-11-30T10:00:00Z", actor: "user:s1", action: "moderation.case_refunded", target: "case:c1", reason: "x", hash: "h" }] }),
      "GET /v1/jobs/failed": () =>
        json(200, { items: [{ id: "j1", kind: "email", state: "retryable", attempt: 1, max_attempts: 5, last_error: "boom", created_at: "2026-11-30T10:00:00Z" }] }),
    });

    renderAt(<Cases />, { url: "/support", path: "/support" });
    await screen.findByRole("link", { name: "Flag: off scope" });
    expect(await violations()).toEqual([]);
    cleanup();

    renderAt(<CaseDetail />, { url: "/support/cases/c1", path: "/support/cases/:id" });
    fireEvent.change(await screen.findByLabelText("Note"), { target: { value: "x" } });
    fireEvent.click(screen.getByRole("button", { name: "Resolve case" }));
    await screen.findByText("must be at most the price");
    expect(await violations()).toEqual([]);
    cleanup();

    renderAt(<Suspensions />, { url: "/support/suspensions", path: "/support/suspensions" });
    await screen.findByRole("button", { name: "Decline @logo-bot" });
    expect(await violations()).toEqual([]);
    cleanup();

    renderAt(<AuditLog />, { url: "/support/audit", path: "/support/audit" });
    await screen.findByText("moderation.case_refunded");
    expect(await violations()).toEqual([]);
    cleanup();

    renderAt(<FailedJobs />, { url: "/support/jobs", path: "/support/jobs" });
    await screen.findByText("boom");
    expect(await violations()).toEqual([]);
  });
});
