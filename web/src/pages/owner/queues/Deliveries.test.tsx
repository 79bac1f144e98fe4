import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { fakeApi, json, problem, renderAt } from "../../../test/harness";
import { Deliveries } from "./Deliveries";
import { PREVIEW_BYTES } from "./FilePreview";
import { conversation, delivery, inReview, owner } from "./fixtures.test-data";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const listed = { ...inReview, deliveries: [] }; // listOrders leaves deliveries out

function show(routes: Parameters<typeof fakeApi>[0] = {}) {
  const calls = fakeApi({
    "GET /v1/me": () => json(200, owner),
    "GET /v1/orders": () => json(200, { items: [listed], next_cursor: null }),
    "GET /v1/orders/o2": () => json(200, inReview),
    "GET /v1/conversations/c1": () => json(200, conversation),
    "GET /v1/files/f1": () => new Response("# Report\n\nAll good.\n", { status: 200, headers: { "Content-Type": "text/markdown; charset=utf-8" } }),
    ...routes,
  });
  renderAt(<Deliveries />, { url: "/owner/deliveries", path: "/owner/deliveries" });
  return calls;
}

async function card() {
  const c = within(await screen.findByRole("article", { name: "Annual report" }));
  await c.findByText("Here is the report.");
  return c;
}

function describedError(field: HTMLElement) {
  const ids = field.getAttribute("aria-describedby")?.split(" ") ?? [];
  return ids.map((id) => document.getElementById(id)?.textContent).find((t) => t && !t.startsWith("Required"));
}

describe("Deliveries to review", () => {
  it("lists the owner's orders in review and loads each one's delivery", async () => {
    const calls = show();
    expect(await screen.findByRole("heading", { level: 1, name: "Deliveries to review" })).toBeTruthy();
    const c = await card();
    const list = calls.find((r) => r.path === "/v1/orders")!;
    expect(list.url.searchParams.get("as")).toBe("owner");
    expect(list.url.searchParams.get("status")).toBe("in_review");
    expect(calls.some((r) => r.path === "/v1/orders/o2")).toBe(true);
    expect(c.getByRole("link", { name: "Annual report" }).getAttribute("href")).toBe("/orders/o2");
    expect(c.getByRole("link", { name: "Download report.md" }).getAttribute("href")).toBe("/v1/files/f1");
    expect(c.getByRole("link", { name: "Download data.zip" }).hasAttribute("download")).toBe(true);
    expect(c.getByText(/No preview for this type of file/)).toBeTruthy();
  });

  it("previews a text file inline and an image as an image", async () => {
    const calls = show();
    const c = await card();
    await waitFor(() => expect(c.getByText(/All good\./).tagName).toBe("PRE"));
    expect(c.getByText(/All good\./).textContent).toBe("# Report\n\nAll good.\n");
    const get = calls.find((r) => r.path === "/v1/files/f1")!;
    expect(get.method).toBe("GET");
    expect(get.req.headers.get("Range")).toBeNull(); // small file: all of it
    const img = c.getByRole("img", { name: "Preview of chart.png" });
    expect(img.getAttribute("src")).toBe("/v1/files/f2");
  });

  it("asks only for the start of a large text file", async () => {
    const big = { ...delivery, files: [{ ...delivery.files[0], size: 5 * PREVIEW_BYTES }] };
    const calls = show({
      "GET /v1/orders/o2": () => json(200, { ...inReview, deliveries: [big] }),
      "GET /v1/files/f1": () => new Response("x".repeat(PREVIEW_BYTES), { status: 206, headers: { "Content-Type": "text/markdown" } }),
    });
    const c = await card();
    expect(await c.findByText(/The first 20.0 KB of report.md/)).toBeTruthy();
    expect(calls.find((r) => r.path === "/v1/files/f1")!.req.headers.get("Range")).toBe(`bytes=0-${PREVIEW_BYTES - 1}`);
  });

  it("releases the delivery to the customer", async () => {
    const calls = show({
      "POST /v1/deliveries/d1/release": () => json(200, { ...inReview, status: "delivered", review_window_ends_at: "2026-12-04T09:00:00Z" }),
    });
    const c = await card();
    fireEvent.click(c.getByRole("button", { name: "Release to customer" }));
    await waitFor(() => expect(screen.getByRole("status").textContent).toMatch(/Released delivery 1 of “Annual report” to the customer/));
    const release = calls.find((r) => r.path === "/v1/deliveries/d1/release")!;
    expect(release.method).toBe("POST");
    expect(calls.some((r) => r.path === "/v1/deliveries/d1/reject")).toBe(false);
  });

  it("will not reject without a note", async () => {
    const calls = show();
    const c = await card();
    fireEvent.click(c.getByRole("button", { name: "Reject" }));
    const note = c.getByLabelText(/Note for the agent/);
    await waitFor(() => expect(note.getAttribute("aria-invalid")).toBe("true"));
    expect(describedError(note)).toBe("Write what the agent must fix.");
    expect(document.activeElement).toBe(note);
    expect(calls.some((r) => r.path === "/v1/deliveries/d1/reject")).toBe(false);
  });

  it("rejects with the note and shows the API's problem beside it", async () => {
    let attempts = 0;
    const calls = show({
      "POST /v1/deliveries/d1/reject": () =>
        ++attempts === 1
          ? problem(422, "validation", "The request is invalid.", [{ field: "note", detail: "say what to fix, in 1 to 5000 characters" }])
          : json(200, { ...inReview, status: "in_progress", deadline: "2026-12-04T10:00:00Z" }),
    });
    const c = await card();
    const note = c.getByLabelText(/Note for the agent/);
    fireEvent.change(note, { target: { value: "The totals are wrong" } });
    fireEvent.click(c.getByRole("button", { name: "Reject" }));
    await waitFor(() => expect(describedError(note)).toBe("say what to fix, in 1 to 5000 characters"));
    expect(c.queryByRole("alert")).toBeNull();
    const reject = calls.find((r) => r.path === "/v1/deliveries/d1/reject")!;
    expect(reject.method).toBe("POST");
    expect(JSON.parse(reject.body)).toEqual({ note: "The totals are wrong" });

    fireEvent.click(c.getByRole("button", { name: "Reject" }));
    await waitFor(() => expect(screen.getByRole("status").textContent).toMatch(/back to the agent with your note/));
  });

  it("shows a problem that is not about the note above the button", async () => {
    show({ "POST /v1/deliveries/d1/reject": () => problem(409, "delivery-not-in-review", "This delivery was already reviewed.") });
    const c = await card();
    fireEvent.change(c.getByLabelText(/Note for the agent/), { target: { value: "Fix it" } });
    fireEvent.click(c.getByRole("button", { name: "Reject" }));
    expect((await c.findByRole("alert")).textContent).toBe("This delivery was already reviewed.");
  });

  it("says when nothing waits for review", async () => {
    show({ "GET /v1/orders": () => json(200, { items: [], next_cursor: null }) });
    expect(await screen.findByText("No delivery is waiting for your review.")).toBeTruthy();
  });
});
