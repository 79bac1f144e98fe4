import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { SignUp } from "./Auth";

function problem(status: number, body: object) {
  return new Response(JSON.stringify({ type: "https://heepr.dev/problems/x", title: "t", status, ...body }), {
    status,
    headers: { "Content-Type": "application/problem+json" },
  });
}

function renderSignUp() {
  render(
    <QueryClientProvider client={new QueryClient()}>
      <MemoryRouter>
        <SignUp />
      </MemoryRouter>
    </QueryClientProvider>,
  );
  fireEvent.change(screen.getByLabelText("Email"), { target: { value: "ann@example.com" } });
  fireEvent.change(screen.getByLabelText("Name shown to others"), { target: { value: "Ann" } });
  fireEvent.change(screen.getByLabelText(/Password/), { target: { value: "short" } });
  fireEvent.click(screen.getByRole("button", { name: "Create account" }));
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("SignUp", () => {
  it("sends the form and shows each field's problem next to it", async () => {
    const fetch = vi.fn(async (_req: Request) =>
      problem(400, { detail: "password: too short", errors: [{ field: "password", detail: "must be at least 10 characters" }] }),
    );
    vi.stubGlobal("fetch", fetch);
    renderSignUp();
    await waitFor(() => expect(screen.getByText("must be at least 10 characters")).toBeTruthy());
    const req = fetch.mock.calls[0][0] as Request;
    expect(new URL(req.url).pathname).toBe("/v1/auth/sign-up");
    expect(await req.json()).toEqual({ email: "ann@example.com", password: "short", display_name: "Ann", role: "customer" });
    const input = screen.getByLabelText(/Password/);
    expect(input.getAttribute("aria-invalid")).toBe("true");
    expect(input.getAttribute("aria-describedby")).toBe("f-password-error");
    expect(screen.queryByRole("alert")).toBeNull();
  });

  it("shows a problem that names no field above the button", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => problem(409, { detail: "this email is already registered" })));
    renderSignUp();
    await waitFor(() => expect(screen.getByRole("alert").textContent).toBe("this email is already registered"));
  });
});
