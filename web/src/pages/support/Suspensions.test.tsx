import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { fakeApi, json, problem, renderAt } from "../../test/harness";
import type { Schemas } from "../../api/client";
import { Suspensions } from "./Suspensions";
import { agentId, signedIn } from "./fixtures";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const show = (url = "/support/suspensions") => renderAt(<Suspensions />, { url, path: "/support/suspensions" });
const ownerAgent = (status: string) => ({ id: agentId, handle: "logo-bot", name: "Logo Bot", status });

const request: Schemas["ReinstatementRequest"] = {
  id: "r1",
  agent_id: agentId,
  agent_handle: "logo-bot",
  owner_id: "u2",
  message: "We fixed the file exports.",
  status: "open",
  created_at: "2026-11-29T10:00:00Z",
};
const noRequests = { "GET /v1/reinstatement-requests": () => json(200, { items: [] }) };

describe("Suspensions", () => {
  it("suspends an agent found by its handle, with the reason and the refund choice", async () => {
    const calls = fakeApi({
      ...signedIn,
      ...noRequests,
      "GET /v1/agents/logo-bot": () => json(200, ownerAgent("active")),
      [`POST /v1/agents/${agentId}/suspend`]: () => json(200, ownerAgent("suspended")),
    });
    show();
    fireEvent.change(await screen.findByLabelText("Agent id or handle"), { target: { value: "@logo-bot" } });
    fireEvent.change(screen.getByLabelText("Reason for the suspension"), { target: { value: "Fake deliverables." } });
    fireEvent.click(screen.getByLabelText("Also refund orders in progress"));
    fireEvent.click(screen.getByRole("button", { name: "Suspend agent" }));
    expect((await screen.findByText("@logo-bot is suspended.")).getAttribute("role")).toBe("status");
    const post = calls.find((c) => c.method === "POST")!;
    expect(post.path).toBe(`/v1/agents/${agentId}/suspend`);
    expect(JSON.parse(post.body)).toEqual({ reason: "Fake deliverables.", refund_open_orders: true });
  });

  it("takes the agent and case from the link on a case, and shows an unknown agent beside its field", async () => {
    const calls = fakeApi({
      ...signedIn,
      ...noRequests,
      [`POST /v1/agents/${agentId}/suspend`]: () => problem(404, "not-found", "agent not found"),
    });
    show(`/support/suspensions?agent=${agentId}&case=c1`);
    expect(((await screen.findByLabelText("Case id (optional)")) as HTMLInputElement).value).toBe("c1");
    fireEvent.change(screen.getByLabelText("Reason for the suspension"), { target: { value: "Missed deadlines." } });
    fireEvent.click(screen.getByRole("button", { name: "Suspend agent" }));
    expect(await screen.findByText("agent not found")).toBeTruthy();
    expect(screen.getByLabelText("Agent id or handle").getAttribute("aria-describedby")).toContain("f-suspend-agent-error");
    expect(calls.some((c) => c.path.startsWith("/v1/agents/") && c.method === "GET")).toBe(false); // an id needs no lookup
    expect(JSON.parse(calls.find((c) => c.method === "POST")!.body)).toEqual({ reason: "Missed deadlines.", case_id: "c1", refund_open_orders: false });
  });

  it("reinstates an agent by id", async () => {
    const calls = fakeApi({ ...signedIn, ...noRequests, [`POST /v1/agents/${agentId}/reinstate`]: () => json(200, ownerAgent("active")) });
    show();
    fireEvent.change(await screen.findByLabelText("Id of the suspended agent"), { target: { value: agentId } });
    fireEvent.change(screen.getByLabelText("Reason for reinstating"), { target: { value: "Appeal upheld." } });
    fireEvent.click(screen.getByRole("button", { name: "Reinstate agent" }));
    expect(await screen.findByText("@logo-bot is reinstated (active).")).toBeTruthy();
    expect(JSON.parse(calls.find((c) => c.method === "POST")!.body)).toEqual({ reason: "Appeal upheld." });
  });

  it("suspends and reinstates a user", async () => {
    const calls = fakeApi({
      ...signedIn,
      ...noRequests,
      "POST /v1/users/u9/suspend": () => json(200, { user_id: "u9", suspended: true, suspended_at: "2026-11-30T10:00:00Z" }),
      "POST /v1/users/u9/reinstate": () => json(200, { user_id: "u9", suspended: false }),
    });
    show();
    fireEvent.change(await screen.findByLabelText("User id"), { target: { value: "u9" } });
    fireEvent.change(screen.getByLabelText("Reason for the change"), { target: { value: "Review ring." } });
    fireEvent.click(screen.getByRole("button", { name: "Suspend user" }));
    expect(await screen.findByText(/^User u9 is suspended since/)).toBeTruthy();
    fireEvent.change(screen.getByLabelText("Reason for the change"), { target: { value: "Cleared." } });
    fireEvent.click(screen.getByRole("button", { name: "Reinstate user" }));
    expect(await screen.findByText("User u9 is in good standing.")).toBeTruthy();
    const posts = calls.filter((c) => c.method === "POST");
    expect(posts.map((c) => [c.path, JSON.parse(c.body)])).toEqual([
      ["/v1/users/u9/suspend", { reason: "Review ring." }],
      ["/v1/users/u9/reinstate", { reason: "Cleared." }],
    ]);
  });

  it("lists open reinstatement requests and shows a problem with the decline note beside it", async () => {
    const calls = fakeApi({
      ...signedIn,
      "GET /v1/reinstatement-requests": () => json(200, { items: [request] }),
      "POST /v1/reinstatement-requests/r1/decline": () =>
        problem(400, "validation", "reason: must be 1 to 2000 characters", [{ field: "reason", detail: "must be 1 to 2000 characters" }]),
    });
    show();
    const item = (await screen.findByRole("heading", { name: "@logo-bot" })).closest("li")!;
    expect(within(item).getByText("We fixed the file exports.")).toBeTruthy();
    expect(calls.find((c) => c.path === "/v1/reinstatement-requests")!.url.search).toBe("?status=open");
    fireEvent.change(within(item).getByLabelText("Note to the owner of @logo-bot"), { target: { value: "   " } });
    fireEvent.click(within(item).getByRole("button", { name: "Decline @logo-bot" }));
    expect(await within(item).findByText("must be 1 to 2000 characters")).toBeTruthy();
    const note = within(item).getByLabelText("Note to the owner of @logo-bot");
    expect(note.getAttribute("aria-invalid")).toBe("true");
    expect(note.getAttribute("aria-describedby")).toContain("f-decision-r1-error");
    expect(screen.queryByRole("alert")).toBeNull();
    const post = calls.find((c) => c.method === "POST")!;
    expect(post.path).toBe("/v1/reinstatement-requests/r1/decline");
    expect(JSON.parse(post.body)).toEqual({ reason: "   " });
  });

  it("grants a request by reinstating its agent, and filters requests by status", async () => {
    let open = true;
    const calls = fakeApi({
      ...signedIn,
      "GET /v1/reinstatement-requests": () => json(200, { items: open ? [request] : [] }),
      [`POST /v1/agents/${agentId}/reinstate`]: () => {
        open = false;
        return json(200, ownerAgent("active"));
      },
    });
    show();
    fireEvent.change(await screen.findByLabelText("Note to the owner of @logo-bot"), { target: { value: "Thanks, reinstated." } });
    fireEvent.click(screen.getByRole("button", { name: "Reinstate @logo-bot" }));
    expect(await screen.findByText("@logo-bot is reinstated.")).toBeTruthy();
    expect(await screen.findByText("No owner is waiting for a decision.")).toBeTruthy();
    expect(JSON.parse(calls.find((c) => c.method === "POST")!.body)).toEqual({ reason: "Thanks, reinstated." });

    fireEvent.change(screen.getByLabelText("Show requests"), { target: { value: "declined" } });
    await waitFor(() => expect(calls.some((c) => c.path === "/v1/reinstatement-requests" && c.url.search === "?status=declined")).toBe(true));
  });
});
