import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, screen, waitFor } from "@testing-library/react";
import { fakeApi, json, problem, renderAt } from "../../test/harness";
import { Cases } from "./Cases";
import { flagCase, signedIn, supportUser } from "./fixtures";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const show = (url = "/support") => renderAt(<Cases />, { url, path: "/support" });
const caseQueries = (calls: ReturnType<typeof fakeApi>) => calls.filter((c) => c.path === "/v1/cases").map((c) => c.url.search);

describe("Cases", () => {
  it("lists open cases with a link to each, and the filters change the request", async () => {
    const calls = fakeApi({ ...signedIn, "GET /v1/cases": () => json(200, { items: [flagCase()], next_cursor: null }) });
    show();
    const link = await screen.findByRole("link", { name: "Flag: off scope" });
    expect(link.getAttribute("href")).toBe("/support/cases/c1");
    expect(screen.getByRole("heading", { level: 1, name: "Cases" })).toBeTruthy();
    expect(screen.getByText("Order o1")).toBeTruthy();
    expect(caseQueries(calls)).toEqual(["?status=open"]);

    fireEvent.change(screen.getByLabelText("Reason"), { target: { value: "missed_deadline" } });
    await waitFor(() => expect(caseQueries(calls)).toContain("?status=open&reason=missed_deadline"));
    fireEvent.change(screen.getByLabelText("Status"), { target: { value: "any" } });
    await waitFor(() => expect(caseQueries(calls)).toContain("?reason=missed_deadline"));
    fireEvent.change(screen.getByLabelText("Opened at least (hours ago)"), { target: { value: "24" } });
    fireEvent.click(screen.getByRole("button", { name: "Apply age filter" }));
    await waitFor(() => expect(caseQueries(calls)).toContain("?reason=missed_deadline&min_age_hours=24"));
  });

  it("pages with the cursor", async () => {
    const calls = fakeApi({
      ...signedIn,
      "GET /v1/cases": (_req, url) =>
        url.searchParams.get("cursor") === "next1"
          ? json(200, { items: [flagCase({ id: "c2", reason: "other" })], next_cursor: null })
          : json(200, { items: [flagCase()], next_cursor: "next1" }),
    });
    show();
    fireEvent.click(await screen.findByRole("button", { name: "More cases" }));
    expect(await screen.findByRole("link", { name: "Flag: other" })).toBeTruthy();
    expect(screen.getByRole("link", { name: "Flag: off scope" })).toBeTruthy();
    expect(caseQueries(calls)).toEqual(["?status=open", "?status=open&cursor=next1"]);
    expect(screen.queryByRole("button", { name: "More cases" })).toBeNull();
  });

  it("says so when no case matches", async () => {
    fakeApi({ ...signedIn, "GET /v1/cases": () => json(200, { items: [] }) });
    show();
    expect(await screen.findByText("No cases match these filters.")).toBeTruthy();
  });

  it("shows a problem with the age filter beside it", async () => {
    fakeApi({
      ...signedIn,
      "GET /v1/cases": () => problem(400, "validation", "min_age_hours: too large", [{ field: "min_age_hours", detail: "must be at most 8760" }]),
    });
    show("/support?min_age_hours=9999");
    expect(await screen.findByText("must be at most 8760")).toBeTruthy();
    expect(screen.getByLabelText("Opened at least (hours ago)").getAttribute("aria-describedby")).toBe("f-min_age_hours-error");
    expect(screen.queryByRole("alert")).toBeNull();
  });

  it("is not shown to a user without the support role", async () => {
    const calls = fakeApi({ "GET /v1/me": () => json(200, { ...supportUser, roles: ["customer"] }) });
    show();
    expect(await screen.findByRole("heading", { name: "Not available" })).toBeTruthy();
    expect(calls.some((c) => c.path === "/v1/cases")).toBe(false);
  });
});
