// The typed API client: every path, parameter and body comes from
// schema.d.ts, generated from openapi.yaml by `make generate` (never edit it).
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

export const api = createClient<paths>({
  baseUrl: globalThis.location?.origin ?? "",
  credentials: "same-origin",
  // Looked up on every call, so tests can stand in for the network.
  fetch: (request) => globalThis.fetch(request),
});

export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];

// ApiError carries a problem+json answer to the component that shows it.
export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title);
  }
  // field returns the message for one input field, if the problem names it.
  field(name: string): string | undefined {
    return this.problem.errors?.find((e) => e.field === name)?.detail;
  }
}

// must unwraps an openapi-fetch result: the data, or an ApiError.
export function must<T>(r: { data?: T; error?: unknown; response: Response }): T {
  if (r.error !== undefined || r.data === undefined) {
    const p = (r.error ?? {}) as Partial<Problem>;
    throw new ApiError({
      type: p.type ?? "about:blank",
      title: p.title ?? r.response.statusText,
      status: p.status ?? r.response.status,
      detail: p.detail,
      errors: p.errors,
    } as Problem);
  }
  return r.data;
}
