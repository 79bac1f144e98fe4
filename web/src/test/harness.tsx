// Test harness for pages: a fresh query client, a router at a given URL, and
// a fake API answering by method and path. Every request is recorded.
import type { ReactNode } from "react";
import { vi } from "vitest";
import { render } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { MemoryRouter, Route, Routes } from "react-router";

export function json(status: number, body: unknown, headers: Record<string, string> = {}) {
  const type = status >= 400 ? "application/problem+json" : "application/json";
  return new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { "Content-Type": type, ...headers } });
}

export function problem(status: number, code: string, detail: string, errors?: { field: string; detail: string }[]) {
  return json(status, { type: `https://heepr.example/problems/${code}`, title: code, status, detail, errors });
}

type Handler = (req: Request, url: URL) => Response | Promise<Response>;

// fakeApi stubs fetch: routes are "METHOD /path" (exact) and answer in order
// given; anything else is a 404 problem. Returns the recorded requests.
export function fakeApi(routes: Record<string, Handler>) {
  const calls: { method: string; path: string; url: URL; req: Request; body: string }[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (req: Request) => {
      const url = new URL(req.url);
      const body = req.method === "GET" ? "" : await req.clone().text();
      calls.push({ method: req.method, path: url.pathname, url, req, body });
      const h = routes[`${req.method} ${url.pathname}`];
      return h ? h(req, url) : problem(404, "not-found", `no fake for ${req.method} ${url.pathname}`);
    }),
  );
  return calls;
}

// renderAt renders ui inside the providers, at url, under route pattern path.
export function renderAt(ui: ReactNode, { url = "/", path = "/" }: { url?: string; path?: string } = {}) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[url]}>
        <Routes>
          <Route path={path} element={ui} />
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}
