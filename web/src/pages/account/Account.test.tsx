import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { fakeApi, json, problem, renderAt } from "../../test/harness";
import { AccountPage } from "./Account";
import { customer, expectAccessible, meAs, owner } from "./testing";

const wallet = () => json(200, { balance: 960, held: 40 });
const noPostings = () => json(200, { items: [], next_cursor: null });
const token = { id: "t1", name: "ci script", prefix: "hpr_pat_ab12", created_at: "2026-11-20T10:00:00Z", last_used_at: null };

let writeText: ReturnType<typeof vi.fn>;
beforeEach(() => {
  writeText = vi.fn(async () => {});
  Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  Reflect.deleteProperty(navigator, "clipboard");
});

function page() {
  return renderAt(<AccountPage />, { url: "/account", path: "/account" });
}

describe("Account page", () => {
  it("shows the wallet's balance and held points, and passes an axe scan", async () => {
    fakeApi({
      "GET /v1/me": meAs(customer),
      "GET /v1/wallet": wallet,
      "GET /v1/wallet/postings": noPostings,
      "GET /v1/me/tokens": () => json(200, { items: [token], next_cursor: null }),
    });
    page();
    expect(await screen.findByText("960 points")).toBeTruthy();
    expect(screen.getByText("40 points")).toBeTruthy();
    expect(screen.getByRole("heading", { level: 1 }).textContent).toBe("Account");
    await screen.findByText("ci script");
    await screen.findByText("No postings yet.");
    await expectAccessible();
  });

  it("asks a visitor to sign in", async () => {
    fakeApi({ "GET /v1/me": () => problem(401, "unauthenticated", "sign in") });
    page();
    expect((await screen.findByRole("heading", { level: 1 })).textContent).toBe("Sign in to continue");
  });

  it("turns on the owner role and refreshes the signed-in user", async () => {
    let me: object = customer;
    const calls = fakeApi({
      "GET /v1/me": () => json(200, me),
      "POST /v1/me/owner-role": () => {
        me = owner;
        return json(200, owner);
      },
      "GET /v1/wallet": wallet,
      "GET /v1/wallet/postings": noPostings,
      "GET /v1/me/tokens": () => json(200, { items: [] }),
    });
    page();
    fireEvent.click(await screen.findByRole("button", { name: "Start running agents" }));
    expect(await screen.findByRole("link", { name: "Go to My agents" })).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Start running agents" })).toBeNull();
    const post = calls.filter((c) => c.method === "POST");
    expect(post.map((c) => c.path)).toEqual(["/v1/me/owner-role"]);
    const post_at = calls.findIndex((c) => c.method === "POST");
    expect(calls.slice(post_at + 1).some((c) => c.method === "GET" && c.path === "/v1/me")).toBe(true);
  });

  it("shows the owner-role problem beside the button", async () => {
    fakeApi({
      "GET /v1/me": meAs(customer),
      "POST /v1/me/owner-role": () => problem(403, "account-suspended", "your account is suspended"),
      "GET /v1/wallet": wallet,
      "GET /v1/wallet/postings": noPostings,
      "GET /v1/me/tokens": () => json(200, { items: [] }),
    });
    page();
    fireEvent.click(await screen.findByRole("button", { name: "Start running agents" }));
    expect((await screen.findByRole("alert")).textContent).toBe("your account is suspended");
  });

  it("offers no owner button to an owner", async () => {
    fakeApi({ "GET /v1/me": meAs(owner), "GET /v1/wallet": wallet, "GET /v1/wallet/postings": noPostings, "GET /v1/me/tokens": () => json(200, { items: [] }) });
    page();
    await screen.findByRole("link", { name: "Go to My agents" });
    expect(screen.queryByRole("button", { name: "Start running agents" })).toBeNull();
  });
});

describe("Personal API tokens", () => {
  it("creates a token, shows its secret once with a Copy button, and lists it without the secret", async () => {
    let tokens: object[] = [];
    const calls = fakeApi({
      "GET /v1/me": meAs(customer),
      "GET /v1/wallet": wallet,
      "GET /v1/wallet/postings": noPostings,
      "GET /v1/me/tokens": () => json(200, { items: tokens, next_cursor: null }),
      "POST /v1/me/tokens": () => {
        tokens = [token];
        return json(201, { ...token, token: "hpr_pat_ab12SECRETSECRET" });
      },
    });
    page();
    await screen.findByText("You have no tokens.");
    fireEvent.change(screen.getByLabelText("Token name"), { target: { value: "ci script" } });
    fireEvent.click(screen.getByRole("button", { name: "Create token" }));

    const secret = (await screen.findByLabelText("Your new token")) as HTMLInputElement;
    expect(secret.value).toBe("hpr_pat_ab12SECRETSECRET");
    expect(screen.getByText(/will not show this token again/)).toBeTruthy();
    const post = calls.find((c) => c.method === "POST")!;
    expect(post.path).toBe("/v1/me/tokens");
    expect(JSON.parse(post.body)).toEqual({ name: "ci script" });
    expect((screen.getByLabelText("Token name") as HTMLInputElement).value).toBe("");

    fireEvent.click(screen.getByRole("button", { name: "Copy token" }));
    await waitFor(() => expect(writeText).toHaveBeenCalledWith("hpr_pat_ab12SECRETSECRET"));
    expect(await screen.findByText("Copied to the clipboard.")).toBeTruthy();

    // The list shows the prefix only; once hidden, the secret is gone for good.
    const table = await screen.findByRole("table");
    await within(table).findByText("ci script");
    expect(table.textContent).not.toContain("SECRET");
    await expectAccessible();
    fireEvent.click(screen.getByRole("button", { name: "Done, hide it" }));
    expect(screen.queryByLabelText("Your new token")).toBeNull();
    expect(document.body.textContent).not.toContain("SECRET");
  });

  it("says so when the clipboard refuses", async () => {
    writeText.mockRejectedValueOnce(new Error("denied"));
    fakeApi({
      "GET /v1/me": meAs(customer),
      "GET /v1/wallet": wallet,
      "GET /v1/wallet/postings": noPostings,
      "GET /v1/me/tokens": () => json(200, { items: [] }),
      "POST /v1/me/tokens": () => json(201, { ...token, token: "hpr_pat_x" }),
    });
    page();
    fireEvent.change(await screen.findByLabelText("Token name"), { target: { value: "x" } });
    fireEvent.click(screen.getByRole("button", { name: "Create token" }));
    fireEvent.click(await screen.findByRole("button", { name: "Copy token" }));
    expect(await screen.findByText(/Could not copy/)).toBeTruthy();
  });

  it("shows the API's problem beside the token name field", async () => {
    fakeApi({
      "GET /v1/me": meAs(customer),
      "GET /v1/wallet": wallet,
      "GET /v1/wallet/postings": noPostings,
      "GET /v1/me/tokens": () => json(200, { items: [] }),
      "POST /v1/me/tokens": () => problem(400, "invalid", "name: must be 1 to 80 characters", [{ field: "name", detail: "must be 1 to 80 characters" }]),
    });
    page();
    fireEvent.click(await screen.findByRole("button", { name: "Create token" }));
    const message = await screen.findByText("must be 1 to 80 characters");
    const input = screen.getByLabelText("Token name");
    expect(input.getAttribute("aria-invalid")).toBe("true");
    expect(input.getAttribute("aria-describedby")).toContain(message.id);
    expect(screen.queryByRole("alert")).toBeNull();
    expect(screen.queryByLabelText("Your new token")).toBeNull();
  });

  it("shows a problem about no field above the Create button", async () => {
    fakeApi({
      "GET /v1/me": meAs(customer),
      "GET /v1/wallet": wallet,
      "GET /v1/wallet/postings": noPostings,
      "GET /v1/me/tokens": () => json(200, { items: [] }),
      "POST /v1/me/tokens": () => problem(403, "account-suspended", "your account is suspended"),
    });
    page();
    fireEvent.change(await screen.findByLabelText("Token name"), { target: { value: "x" } });
    fireEvent.click(screen.getByRole("button", { name: "Create token" }));
    expect((await screen.findByRole("alert")).textContent).toBe("your account is suspended");
  });

  it("revokes a token only after confirmation", async () => {
    let tokens: object[] = [token];
    const calls = fakeApi({
      "GET /v1/me": meAs(customer),
      "GET /v1/wallet": wallet,
      "GET /v1/wallet/postings": noPostings,
      "GET /v1/me/tokens": () => json(200, { items: tokens }),
      "DELETE /v1/me/tokens/t1": () => {
        tokens = [];
        return json(204, null);
      },
    });
    page();
    fireEvent.click(await screen.findByRole("button", { name: "Revoke token ci script" }));
    expect(calls.some((c) => c.method === "DELETE")).toBe(false);
    fireEvent.click(screen.getByRole("button", { name: "Cancel" }));
    expect(calls.some((c) => c.method === "DELETE")).toBe(false);
    fireEvent.click(screen.getByRole("button", { name: "Revoke token ci script" }));
    fireEvent.click(screen.getByRole("button", { name: "Yes, revoke token ci script" }));
    expect(await screen.findByText(/Token “ci script” revoked/)).toBeTruthy();
    expect(calls.filter((c) => c.method === "DELETE").map((c) => c.path)).toEqual(["/v1/me/tokens/t1"]);
    expect(await screen.findByText("You have no tokens.")).toBeTruthy();
  });
});
