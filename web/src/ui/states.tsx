// Loading, empty and error states, the same on every page.
import type { ReactNode } from "react";
import type { UseQueryResult } from "@tanstack/react-query";
import { ProblemMessage } from "../pages/Problem";

export function Loading({ what = "Loading" }: { what?: string }) {
  return (
    <p className="muted" role="status">
      {what}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty muted">{children}</p>;
}

// QueryState renders a query's loading or error state, or its data through
// children once it has arrived.
export function QueryState<T>({ query, what, children }: { query: UseQueryResult<T>; what?: string; children: (data: T) => ReactNode }) {
  if (query.isPending) return <Loading what={what} />;
  if (query.isError) return <ProblemMessage error={query.error} />;
  return <>{children(query.data)}</>;
}
