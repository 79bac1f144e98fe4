import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, screen, waitFor } from "@testing-library/react";
import { fakeApi, json, problem, renderAt } from "../../test/harness";
import { AuditLog } from "./Audit";
import { FailedJobs } from "./Jobs";
import { signedIn } from "./fixtures";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const entry = {
  seq: 7,
  at: "2026-11-30T10:00:00Z",
  actor: "user:s1",
  action: "moderation.agent_suspended",
  target: "agent:a1",
  reason: "Fake deliverables.",
  hash: "ab",
};

describe("AuditLog", () => {
  it("sends the actor and target filters and pages with the cursor", async () => {
    const calls = fakeApi({
      ...signedIn,
      "GET /v1/audit-events": (_req, url) =>
        url.searchParams.get("cursor") ? json(200, { items: [{ ...entry, seq: 6, action: "moderation.case_refunded" }] }) : json(200, { items: [entry], next_cursor: "n1" }),
    });
    renderAt(<AuditLog />, { url: "/support/audit", path: "/support/audit" });
    expect(await screen.findByText("moderation.agent_suspended")).toBeTruthy();
    expect(screen.getByRole("heading", { level: 1, name: "Audit log" })).toBeTruthy();
    expect(screen.getByText("Fake deliverables.")).toBeTruthy();

    fireEvent.change(screen.getByLabelText("Actor"), { target: { value: "user:s1" } });
    fireEvent.change(screen.getByLabelText("Target"), { target: { value: "agent:a1" } });
    fireEvent.click(screen.getByRole("button", { name: "Apply filters" }));
    const audit = () => calls.filter((c) => c.path === "/v1/audit-events").map((c) => c.url.searchParams);
    await waitFor(() => expect(audit().some((q) => q.get("actor") === "user:s1" && q.get("target") === "agent:a1")).toBe(true));

    fireEvent.click(await screen.findByRole("button", { name: "More entries" }));
    expect(await screen.findByText("moderation.case_refunded")).toBeTruthy();
    const last = audit().at(-1)!;
    expect([last.get("actor"), last.get("target"), last.get("cursor")]).toEqual(["user:s1", "agent:a1", "n1"]);
  });

  it("shows a problem with a filter beside it, and the empty state", async () => {
    fakeApi({
      ...signedIn,
      "GET /v1/audit-events": (_req, url) =>
        url.searchParams.get("actor") === "bad actor"
          ? problem(400, "validation", "actor: wrong", [{ field: "actor", detail: "must look like user:<id>" }])
          : json(200, { items: [] }),
    });
    renderAt(<AuditLog />, { url: "/support/audit", path: "/support/audit" });
    expect(await screen.findByText("No entries match these filters.")).toBeTruthy();
    fireEvent.change(screen.getByLabelText("Actor"), { target: { value: "bad actor" } });
    fireEvent.click(screen.getByRole("button", { name: "Apply filters" }));
    expect(await screen.findByText("must look like user:<id>")).toBeTruthy();
    expect(screen.getByLabelText("Actor").getAttribute("aria-invalid")).toBe("true");
    expect(screen.queryByRole("alert")).toBeNull();
  });
});

describe("FailedJobs", () => {
  it("lists failed jobs with their last error and filters by state", async () => {
    const calls = fakeApi({
      ...signedIn,
      "GET /v1/jobs/failed": () =>
        json(200, {
          items: [
            { id: "j1", kind: "notification.email", queue: "default", state: "discarded", attempt: 5, max_attempts: 5, last_error: "smtp: connection refused", created_at: "2026-11-30T10:00:00Z" },
          ],
        }),
    });
    renderAt(<FailedJobs />, { url: "/support/jobs", path: "/support/jobs" });
    expect(await screen.findByText("smtp: connection refused")).toBeTruthy();
    expect(screen.getByText("5 of 5")).toBeTruthy();
    fireEvent.change(screen.getByLabelText("State"), { target: { value: "discarded" } });
    await waitFor(() => expect(calls.some((c) => c.path === "/v1/jobs/failed" && c.url.search === "?state=discarded")).toBe(true));
  });

  it("says so when nothing failed", async () => {
    fakeApi({ ...signedIn, "GET /v1/jobs/failed": () => json(200, { items: [] }) });
    renderAt(<FailedJobs />, { url: "/support/jobs", path: "/support/jobs" });
    expect(await screen.findByText(/No failed jobs/)).toBeTruthy();
  });
});
