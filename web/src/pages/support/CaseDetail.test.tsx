import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { fakeApi, json, problem, renderAt } from "../../test/harness";
import type { Schemas } from "../../api/client";
import { CaseDetail } from "./CaseDetail";
import { caseDetail, flagCase, signedIn } from "./fixtures";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const show = () => renderAt(<CaseDetail />, { url: "/support/cases/c1", path: "/support/cases/:id" });

const refunded: Schemas["CaseResolution"] = {
  action: "refund",
  note: "Not what was agreed.",
  resolved_by: "user:s1",
  refunded: 200,
  from_escrow: 200,
  clawed_back: 0,
  goodwill: 0,
  to_owner: 100,
};

function resolveCalls(calls: ReturnType<typeof fakeApi>) {
  return calls.filter((c) => c.method === "POST" && c.path === "/v1/cases/c1/resolve");
}

describe("CaseDetail", () => {
  it("shows the case file: order, agent, downloadable files, conversation and postings", async () => {
    fakeApi({ ...signedIn, "GET /v1/cases/c1": () => json(200, caseDetail()) });
    show();
    expect(await screen.findByRole("heading", { level: 1, name: "Case: Flag: off scope" })).toBeTruthy();
    expect(screen.getByText("The logo is a PNG, not the SVG we agreed.")).toBeTruthy();
    expect(screen.getByRole("link", { name: "Logo in SVG" }).getAttribute("href")).toBe("/orders/o1");
    expect(screen.getByText("Price").nextElementSibling?.textContent).toBe("300 points");
    expect(screen.getByRole("link", { name: "Download logo.png" }).getAttribute("href")).toBe("/v1/files/f1");
    expect(screen.getByText("I need SVG.")).toBeTruthy();
    expect(screen.getByRole("region", { name: "Postings table" }).textContent).toContain("escrow:o1");
    expect(screen.getByRole("link", { name: "Suspend @logo-bot" }).getAttribute("href")).toContain("agent=");
  });

  it("refunds the full price by default with an Idempotency-Key and shows the recorded split", async () => {
    let resolved = false;
    const calls = fakeApi({
      ...signedIn,
      "GET /v1/cases/c1": () =>
        json(200, caseDetail(resolved ? { case: flagCase({ status: "resolved", resolved_at: "2026-11-30T10:00:00Z", resolution: refunded }) } : {})),
      "POST /v1/cases/c1/resolve": () => {
        resolved = true;
        return json(200, flagCase({ status: "resolved", resolved_at: "2026-11-30T10:00:00Z", resolution: refunded }));
      },
    });
    show();
    const amount = (await screen.findByLabelText("Points back to the customer")) as HTMLInputElement;
    expect(amount.value).toBe("300");
    expect((screen.getByLabelText("Refund") as HTMLInputElement).checked).toBe(true);
    expect(screen.queryByRole("group", { name: "Refund source" })).toBeNull(); // not paid out yet
    fireEvent.change(amount, { target: { value: "200" } });
    fireEvent.change(screen.getByLabelText("Note"), { target: { value: "Not what was agreed." } });
    fireEvent.click(screen.getByRole("button", { name: "Resolve case" }));

    expect((await screen.findByRole("status")).textContent).toBe("The case is resolved.");
    const [post] = resolveCalls(calls);
    expect(JSON.parse(post.body)).toEqual({ action: "refund", refund_amount: 200, note: "Not what was agreed." });
    expect(post.req.headers.get("Idempotency-Key")).toMatch(/^[0-9a-f-]{36}$/);
    const split = screen.getByRole("region", { name: "Resolution" });
    expect(within(split).getByText("Refunded to the customer").nextElementSibling?.textContent).toBe("200 points");
    expect(within(split).getByText("From the escrow").nextElementSibling?.textContent).toBe("200 points");
    expect(within(split).getByText("Released to the owner").nextElementSibling?.textContent).toBe("100 points");
    expect(within(split).getByText("Clawed back from the owner").nextElementSibling?.textContent).toBe("0 points");
    expect(screen.queryByRole("button", { name: "Resolve case" })).toBeNull();
  });

  it("shows a problem with the amount beside the amount field, and uses a new key for a changed request", async () => {
    const calls = fakeApi({
      ...signedIn,
      "GET /v1/cases/c1": () => json(200, caseDetail()),
      "POST /v1/cases/c1/resolve": () =>
        problem(400, "validation", "refund_amount: must be at most the price", [{ field: "refund_amount", detail: "must be at most the price" }]),
    });
    show();
    fireEvent.change(await screen.findByLabelText("Note"), { target: { value: "Partial." } });
    fireEvent.click(screen.getByRole("button", { name: "Resolve case" }));
    await screen.findByText("must be at most the price");
    const amount = screen.getByLabelText("Points back to the customer");
    expect(amount.getAttribute("aria-invalid")).toBe("true");
    expect(amount.getAttribute("aria-describedby")).toContain("f-refund_amount-error");
    expect(document.getElementById("f-refund_amount-error")?.textContent).toBe("must be at most the price");
    expect(screen.queryByRole("alert")).toBeNull(); // not repeated above the button

    // The same request again is a retry (same key); a changed one is a new intent.
    fireEvent.click(screen.getByRole("button", { name: "Resolve case" }));
    await waitFor(() => expect(resolveCalls(calls)).toHaveLength(2));
    fireEvent.change(amount, { target: { value: "150" } });
    fireEvent.click(screen.getByRole("button", { name: "Resolve case" }));
    await waitFor(() => expect(resolveCalls(calls)).toHaveLength(3));
    const keys = resolveCalls(calls).map((c) => c.req.headers.get("Idempotency-Key"));
    expect(keys[1]).toBe(keys[0]);
    expect(keys[2]).not.toBe(keys[0]);
    expect(JSON.parse(resolveCalls(calls)[2].body).refund_amount).toBe(150);
  });

  it("dismisses with only the action and the note", async () => {
    const dismissed = flagCase({ status: "resolved", resolution: { ...refunded, action: "dismiss", refunded: 0, from_escrow: 0, to_owner: 0 } });
    let done = false;
    const calls = fakeApi({
      ...signedIn,
      "GET /v1/cases/c1": () => json(200, caseDetail(done ? { case: dismissed } : {})),
      "POST /v1/cases/c1/resolve": () => {
        done = true;
        return json(200, dismissed);
      },
    });
    show();
    fireEvent.click(await screen.findByLabelText("Dismiss"));
    expect(screen.queryByLabelText("Points back to the customer")).toBeNull();
    fireEvent.change(screen.getByLabelText("Note"), { target: { value: "Delivered as agreed." } });
    fireEvent.click(screen.getByRole("button", { name: "Resolve case" }));
    await screen.findByRole("status");
    expect(JSON.parse(resolveCalls(calls)[0].body)).toEqual({ action: "dismiss", note: "Delivered as agreed." });
    expect(screen.getByText("Dismissed")).toBeTruthy();
  });

  it("after payout, asks where the refund comes from", async () => {
    const calls = fakeApi({
      ...signedIn,
      "GET /v1/cases/c1": () => json(200, caseDetail({ paid_out: true })),
      "POST /v1/cases/c1/resolve": () => problem(409, "case-resolved", "the case is already resolved"),
    });
    show();
    fireEvent.click(await screen.findByLabelText(/Platform goodwill/));
    fireEvent.change(screen.getByLabelText("Note"), { target: { value: "Our fault." } });
    fireEvent.click(screen.getByRole("button", { name: "Resolve case" }));
    await waitFor(() => expect(resolveCalls(calls)).toHaveLength(1));
    expect(JSON.parse(resolveCalls(calls)[0].body)).toEqual({
      action: "refund",
      refund_amount: 300,
      refund_source: "platform_goodwill",
      note: "Our fault.",
    });
  });

  it("shows a resolved case's resolution read-only", async () => {
    fakeApi({
      ...signedIn,
      "GET /v1/cases/c1": () => json(200, caseDetail({ case: flagCase({ status: "resolved", resolved_at: "2026-11-30T10:00:00Z", resolution: refunded }) })),
    });
    show();
    const section = await screen.findByRole("region", { name: "Resolution" });
    expect(within(section).getByText("Refunded")).toBeTruthy();
    expect(within(section).getByText("Not what was agreed.")).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Resolve case" })).toBeNull();
    expect(screen.queryByRole("status")).toBeNull();
  });

  it("offers only a dismissal for an automatic signal", async () => {
    fakeApi({
      ...signedIn,
      "GET /v1/cases/c1": () =>
        json(200, caseDetail({ case: flagCase({ kind: "signal", reason: "missed_deadlines", order_id: null }), order: undefined, messages: [], postings: [] })),
    });
    show();
    expect(await screen.findByRole("heading", { level: 1, name: "Case: Signal: missed deadlines" })).toBeTruthy();
    expect((screen.getByLabelText("Refund") as HTMLInputElement).disabled).toBe(true);
    expect((screen.getByLabelText("Dismiss") as HTMLInputElement).checked).toBe(true);
  });

  it("shows the problem when the case cannot be loaded", async () => {
    fakeApi({ ...signedIn, "GET /v1/cases/c1": () => problem(404, "not-found", "no such case") });
    show();
    expect((await screen.findByRole("alert")).textContent).toBe("no such case");
  });
});
